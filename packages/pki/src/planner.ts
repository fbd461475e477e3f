// Validity planner: turns policy durations into a dated schedule (root ceremonies, DS activations,
// re-keys with link certificates, CRL/ARL re-issues, expiries), checks the invariants, and when the
// policy breaks one says so in plain words and proposes the nearest consistent policy.
import {
  addDuration,
  type Duration,
  formatDuration,
  type Policy,
  parseDuration,
  subtractDuration,
  validatePolicy,
} from "@iaca/policy";
import { CONTROLS } from "./controls.ts";

const DAY = 86_400_000;
const days = (a: Date, b: Date) => (b.getTime() - a.getTime()) / DAY;
const iso = (d: Date) => d.toISOString().slice(0, 10);
const minDate = (...d: Date[]) => new Date(Math.min(...d.map((x) => x.getTime())));

export interface PlannedRoot {
  gen: number;
  notBefore: Date;
  notAfter: Date;
}

export interface PlannedDs {
  seq: number;
  root: number;
  /** Activation = notBefore (pre-signed certificates carry a future notBefore). */
  notBefore: Date;
  notAfter: Date;
  /** Last moment the key may sign an MSO (notAfter - MSO validity). */
  usageEnd: Date;
  /** When the next DS takes over. */
  retiredAt: Date | undefined;
  /** Root ceremony that signs it. */
  signedAt: Date | undefined;
  /** Latest date the certificate must be signed and installed (renewalLead before it is needed). */
  deadline: Date;
  capped: boolean;
}

export interface PlannedCeremony {
  at: Date;
  kind: "init" | "rekey" | "routine";
  root: number;
  signs: number[];
  /** CRL/ARL issued at this ceremony: nextUpdate. */
  nextUpdate: Date;
  /**
   * Root key generations whose CRL and ARL this ceremony signs (pki.crl.per-key): the current key
   * and every older key whose root certificate (and so what it signed) is still valid.
   */
  lists: number[];
  reason: string;
}

export type Severity = "violation" | "warning" | "info";

export interface Finding {
  severity: Severity;
  rule: string;
  at?: Date;
  message: string;
}

export type EventKind =
  | "root.init"
  | "root.rekey"
  | "link.issue"
  | "root.ceremony"
  | "crl.issue"
  | "ds.keygen"
  | "ds.sign"
  | "ds.activate"
  | "ds.usage-end"
  | "ds.expire"
  | "root.expire";

export interface PlanEvent {
  at: Date;
  kind: EventKind;
  room: "root" | "ops" | "-";
  text: string;
}

export interface PolicyChange {
  path: string;
  from: string | number;
  to: string | number;
  why: string;
}

export interface Plan {
  from: Date;
  until: Date;
  policy: Policy;
  roots: PlannedRoot[];
  ds: PlannedDs[];
  ceremonies: PlannedCeremony[];
  events: PlanEvent[];
  findings: Finding[];
  /** Present when the policy breaks an invariant (or misses the visit target): the nearest consistent policy. */
  proposal?: { changes: PolicyChange[]; policy: Policy; findings: Finding[]; ceremonies: number };
}

export interface PlanOptions {
  /** Target interval between routine root-room visits (default P3M, the seed's DS cadence). */
  visitEvery?: string;
  /** Compute a proposal when the policy is inconsistent (default true). */
  propose?: boolean;
}

function schedule(policy: Policy, from: Date, until: Date): Omit<Plan, "proposal"> {
  void CONTROLS.validityPlan;
  const findings: Finding[] = [];
  const roots = plannedRoots(policy, from, until, findings);
  const ds = plannedDs(policy, from, until);
  const ceremonies = plannedCeremonies(policy, from, until, roots, ds);
  dsFindings(policy, ds, findings);
  return {
    from,
    until,
    policy,
    roots,
    ds: ds.filter((d) => d.notBefore < until),
    ceremonies,
    events: planEvents(roots, ds, ceremonies, until),
    findings,
  };
}

/** Roots: initial ceremony, first re-key, then every rekeyInterval; each re-key checked against rekeyLead. */
function plannedRoots(policy: Policy, from: Date, until: Date, findings: Finding[]): PlannedRoot[] {
  const roots: PlannedRoot[] = [{ gen: 1, notBefore: from, notAfter: addDuration(from, policy.iaca.validity) }];
  for (
    let r = addDuration(from, policy.iaca.firstRekeyAfter);
    r < until;
    r = addDuration(r, policy.iaca.rekeyInterval)
  ) {
    roots.push({ gen: roots.length + 1, notBefore: r, notAfter: addDuration(r, policy.iaca.validity) });
    if (roots.length > 50) break;
  }
  for (let k = 1; k < roots.length; k++) {
    const prev = roots[k - 1]!;
    const cur = roots[k]!;
    const lead = days(cur.notBefore, prev.notAfter);
    const wanted = days(subtractDuration(prev.notAfter, policy.iaca.rekeyLead), prev.notAfter);
    if (lead < 0)
      findings.push({
        severity: "violation",
        rule: "root.gap",
        at: cur.notBefore,
        message: `Root #${cur.gen} is created ${-lead} days after root #${prev.gen} expired: nothing can sign in between.`,
      });
    else if (lead < wanted)
      findings.push({
        severity: "violation",
        rule: "root.rekey-lead",
        at: cur.notBefore,
        message: `Re-key #${k} on ${iso(cur.notBefore)} is only ${lead} days before root #${prev.gen} expires (${iso(prev.notAfter)}); the policy wants ${policy.iaca.rekeyLead} (iaca.rekeyLead) for the link certificates and the DS hand-over.`,
      });
  }
  return roots;
}

/** DS activations: the first at the start, then firstRotationAfter and every rotationInterval. */
function plannedDs(policy: Policy, from: Date, until: Date): PlannedDs[] {
  const acts: Date[] = [from];
  for (
    let a = addDuration(from, policy.ds.firstRotationAfter);
    a < until;
    a = addDuration(a, policy.ds.rotationInterval)
  ) {
    acts.push(a);
    if (acts.length > 2000) break;
  }
  return acts.map((a, i) => ({
    seq: i + 1,
    root: 0,
    notBefore: a,
    notAfter: addDuration(a, policy.ds.validity),
    usageEnd: a,
    retiredAt: acts[i + 1],
    signedAt: undefined,
    deadline: a,
    capped: false,
  }));
}

/**
 * Root ceremonies: init, then whenever a DS deadline, CRL freshness or a re-key requires one.
 * Signs the DS certificates due at each (and fills in their root, signing date and usage end).
 */
function plannedCeremonies(
  policy: Policy,
  from: Date,
  until: Date,
  roots: PlannedRoot[],
  ds: PlannedDs[],
): PlannedCeremony[] {
  const rootAt = (t: Date) => [...roots].reverse().find((r) => r.notBefore <= t) ?? roots[0]!;
  const ceremonies: PlannedCeremony[] = [];
  const rekeys = roots.slice(1).map((r) => r.notBefore);
  let next = 0;
  let t = from;
  let kind: PlannedCeremony["kind"] = "init";
  let reason = "initial key ceremony";
  for (let guard = 0; guard < 5000 && t < until; guard++) {
    const root = rootAt(t);
    const signs: number[] = [];
    const rekeyAfter = rekeys.find((r) => r > t);
    // A DS whose deadline comes before the next re-key is signed by the root in use when its
    // certificate ends inside that root (iaca.rekeyLead is sized for it); otherwise it waits for
    // the new root, which signs it at the re-key (before its deadline when the lead is long enough).
    const fits = (d: PlannedDs) => addDuration(d.notBefore, policy.ds.validity) <= root.notAfter;
    const eligible = (d: PlannedDs) => !rekeyAfter || (d.deadline < rekeyAfter && fits(d));
    // Sign what is due before the next visit (CRL/ARL freshness or the re-key, whichever is first):
    // what is due now, and at most ds.presign ahead; nothing further ahead, so the lead does not drift.
    const crlDue = subtractDuration(addDuration(t, policy.revocation.nextUpdate), policy.revocation.warnBefore);
    const horizon = rekeyAfter ? minDate(crlDue, rekeyAfter) : crlDue;
    let ahead = 0; // pre-signed here: not yet due (ds.presign counts these)
    while (next < ds.length && eligible(ds[next]!)) {
      const d = ds[next]!;
      const due = d.deadline.getTime() <= t.getTime() + DAY;
      if (!due && (ahead >= policy.ds.presign || d.deadline.getTime() > horizon.getTime() + DAY)) break;
      if (!due) ahead++;
      d.root = root.gen;
      d.signedAt = t;
      if (d.notAfter > root.notAfter) {
        d.notAfter = root.notAfter;
        d.capped = true;
      }
      d.usageEnd = subtractDuration(d.notAfter, policy.mso.validity);
      const after = ds[next + 1];
      if (after) after.deadline = subtractDuration(minDate(after.notBefore, d.usageEnd), policy.ds.renewalLead);
      signs.push(d.seq);
      next++;
    }
    const nextUpdate = addDuration(t, policy.revocation.nextUpdate);
    const lists = roots.filter((r) => r.gen === root.gen || (r.gen < root.gen && r.notAfter > t)).map((r) => r.gen);
    ceremonies.push({ at: t, kind, root: root.gen, signs, nextUpdate, lists, reason });
    // Next visit: the earliest of CRL/ARL freshness, the next DS deadline, the next re-key.
    const candidates: [Date, PlannedCeremony["kind"], string][] = [
      [subtractDuration(nextUpdate, policy.revocation.warnBefore), "routine", "CRL/ARL re-issue before nextUpdate"],
    ];
    const dn = ds[next];
    if (dn && eligible(dn))
      candidates.push([dn.deadline, "routine", `sign DS #${dn.seq} (${policy.ds.renewalLead} before it is needed)`]);
    if (rekeyAfter) candidates.push([rekeyAfter, "rekey", "root re-key"]);
    candidates.sort((a, b) => a[0].getTime() - b[0].getTime());
    const [at, k, why] = candidates[0]!;
    t = at > t ? at : addDuration(t, "P1D");
    kind = k;
    reason = why;
  }
  return ceremonies;
}

/** DS signed late (renewal lead), cut by the root, with no usable period, or leaving a gap. */
function dsFindings(policy: Policy, ds: PlannedDs[], findings: Finding[]): void {
  for (const d of ds)
    if (d.signedAt && d.signedAt.getTime() > d.deadline.getTime() + DAY)
      findings.push({
        severity: "warning",
        rule: "ds.renewal-lead",
        at: d.deadline,
        message: `DS #${d.seq} should be signed by ${iso(d.deadline)} (${policy.ds.renewalLead} ahead) but the root room signs it on ${iso(d.signedAt)}.`,
      });

  for (const [i, d] of ds.entries()) {
    if (d.capped)
      findings.push({
        severity: "warning",
        rule: "ds.within-root",
        at: d.notBefore,
        message: `DS #${d.seq} (${iso(d.notBefore)}) would outlive root #${d.root}; its notAfter is cut to ${iso(d.notAfter)} (DS.notAfter <= IACA.notAfter), shortening its usage period.`,
      });
    if (d.usageEnd <= d.notBefore)
      findings.push({
        severity: "violation",
        rule: "ds.usage-empty",
        at: d.notBefore,
        message: `DS #${d.seq} can never sign a full ${policy.mso.validity} MSO: its certificate is shorter than the MSO validity.`,
      });
    const n = ds[i + 1];
    if (n && n.notBefore > d.usageEnd)
      findings.push({
        severity: "violation",
        rule: "ds.usage-gap",
        at: d.usageEnd,
        message: `DS #${d.seq} may sign MSOs only until ${iso(d.usageEnd)} (notAfter ${iso(d.notAfter)} minus ${policy.mso.validity} MSO validity), but DS #${n.seq} activates on ${iso(n.notBefore)}: for ${days(d.usageEnd, n.notBefore).toFixed(0)} days no key can sign an MSO with its full validity.`,
      });
  }
}

/** The timeline the plan implies, in time order, up to `until`. */
function planEvents(roots: PlannedRoot[], ds: PlannedDs[], ceremonies: PlannedCeremony[], until: Date): PlanEvent[] {
  const events: PlanEvent[] = [];
  const ev = (at: Date, kind: EventKind, room: PlanEvent["room"], text: string) =>
    events.push({ at, kind, room, text });
  for (const c of ceremonies) {
    const root = roots[c.root - 1]!;
    if (c.kind === "init")
      ev(c.at, "root.init", "root", `root #1 created (self-signed, valid to ${iso(root.notAfter)})`);
    if (c.kind === "rekey") {
      const old = roots[c.root - 2]!;
      ev(c.at, "root.rekey", "root", `root #${c.root} created (valid to ${iso(root.notAfter)}), same subject name`);
      ev(c.at, "link.issue", "root", `link certificates old->new and new->old (valid to ${iso(old.notAfter)})`);
    }
    ev(
      c.at,
      "root.ceremony",
      "root",
      `${c.kind} ceremony: ${c.reason}; signs ${c.signs.length ? c.signs.map((s) => `DS #${s}`).join(", ") : "no DS"}`,
    );
    const keys = c.lists.length > 1 ? ` of root keys ${c.lists.map((g) => `#${g}`).join(", ")}` : "";
    ev(c.at, "crl.issue", "root", `CRL + ARL${keys}, nextUpdate ${iso(c.nextUpdate)}`);
  }
  for (const d of ds) {
    if (d.signedAt) {
      ev(d.signedAt, "ds.keygen", "ops", `DS #${d.seq}: key + CSR in the DS HSM, carried to the root room`);
      ev(d.signedAt, "ds.sign", "root", `DS #${d.seq} signed by root #${d.root} (notBefore ${iso(d.notBefore)})`);
    }
    ev(d.notBefore, "ds.activate", "ops", `DS #${d.seq} active (usage period to ${iso(d.usageEnd)})`);
    ev(d.usageEnd, "ds.usage-end", "ops", `DS #${d.seq} stops signing MSOs`);
    ev(d.notAfter, "ds.expire", "-", `DS #${d.seq} certificate expires`);
  }
  for (const r of roots) ev(r.notAfter, "root.expire", "-", `root #${r.gen} expires`);

  return events.filter((e) => e.at <= until).sort((a, b) => a.at.getTime() - b.at.getTime());
}

/** Whole days a calendar duration spans at its shortest over the horizon, from each date in `at`. */
function shortestDays(dur: string, at: Date[]): number {
  return Math.min(...at.map((a) => Math.floor(days(a, addDuration(a, dur)))));
}
function longestDays(dur: string, at: Date[]): number {
  return Math.max(...at.map((a) => Math.ceil(days(a, addDuration(a, dur)))));
}
function monthsOf(d: Duration): number | undefined {
  return d.days === 0 && d.seconds === 0 ? d.years * 12 + d.months : undefined;
}
function fmtMonths(m: number): string {
  return formatDuration({ years: Math.floor(m / 12), months: m % 12, days: 0, seconds: 0 });
}

function seedNotes(policy: Policy): Finding[] {
  const out: Finding[] = [];
  if (policy.iaca.validity !== "P10Y")
    out.push({
      severity: "info",
      rule: "seed.root-validity",
      message: `The seed's clause 4(1)ウ says the self-signed certificate ends 10 years after issuance, its figure 2 says at most 5 years; this plan follows iaca.validity = ${policy.iaca.validity}.`,
    });
  return out;
}

/** Builds the schedule for `years` from `from`, checks it, and proposes fixes. */
export function plan(policy: Policy, from: Date, years: number, opts: PlanOptions = {}): Plan {
  const until = addDuration(from, { years, months: 0, days: 0, seconds: 0 });
  const base = schedule(policy, from, until);
  base.findings.unshift(...seedNotes(policy));
  const visitEvery = opts.visitEvery ?? "P3M";
  const visitsTooOften = visitGaps(base).some((g) => g < shortestDays(visitEvery, [from]) - 1);
  const broken = base.findings.some((f) => f.severity === "violation");
  if (opts.propose === false || (!broken && !visitsTooOften)) return base;

  const changes: PolicyChange[] = [];
  const p = structuredClone(policy) as Policy;
  const set: SetPolicy = (path, to, why) => {
    const [sec, key] = path.split(".") as [keyof Policy, string];
    const obj = p[sec] as unknown as Record<string, string | number>;
    if (obj[key] === to) return;
    changes.push({ path, from: obj[key]!, to, why });
    obj[key] = to;
  };
  const acts = Array.from({ length: years * 12 + 1 }, (_, i) => addDuration(from, `P${i}M`));
  proposeDsCadence(p, set, acts);
  proposeRekeyLead(p, set, base);
  proposeCrlLifetime(p, set, acts, from, visitEvery);
  const chosen = choosePresign(p, from, until, acts, visitEvery);
  if (p.ds.presign !== policy.ds.presign)
    changes.push({
      path: "ds.presign",
      from: policy.ds.presign,
      to: p.ds.presign,
      why: `each root ceremony pre-signs ${p.ds.presign} DS certificates with future notBefore dates, so the offline root is opened about every ${visitEvery} instead of at every DS rotation`,
    });
  return {
    ...base,
    proposal: {
      changes,
      policy: p,
      findings: chosen.findings.filter((f) => f.severity !== "info"),
      ceremonies: chosen.ceremonies.length,
    },
  };
}

/** Records one change of the proposed policy (path "section.key"), with the reason. */
type SetPolicy = (path: string, to: string | number, why: string) => void;

/** DS cadence: the next DS must activate before the current one's usage period ends. */
function proposeDsCadence(p: Policy, set: SetPolicy, acts: Date[]): void {
  const window = Math.min(
    ...acts.map((a) => Math.floor(days(a, subtractDuration(addDuration(a, p.ds.validity), p.mso.validity)))),
  );
  if (window < 1)
    set(
      "ds.validity",
      formatDuration({ ...parseDuration(p.mso.validity), days: parseDuration(p.mso.validity).days + 30 }),
      "a DS certificate must outlive the MSOs it signs",
    );
  else {
    if (longestDays(p.ds.rotationInterval, acts) > window)
      set(
        "ds.rotationInterval",
        `P${window}D`,
        `a ${p.ds.validity} DS certificate minus a ${p.mso.validity} MSO leaves at least ${window} days of signing; rotating every ${p.ds.rotationInterval} leaves a gap (the alternative, keeping the ${p.ds.rotationInterval} cadence, needs ds.validity >= rotation + MSO validity, beyond the seed's 3-month maximum)`,
      );
    if (longestDays(p.ds.firstRotationAfter, acts) > window)
      set("ds.firstRotationAfter", `P${window}D`, "the first DS must also hand over before its usage period ends");
  }
}

/** Root re-key: lead long enough that the old key's DS certificates end inside the old root. */
function proposeRekeyLead(p: Policy, set: SetPolicy, base: Omit<Plan, "proposal">): void {
  const lead = monthsOf(parseDuration(p.iaca.rekeyLead));
  const dsm = monthsOf(parseDuration(p.ds.validity));
  const rl = monthsOf(parseDuration(p.ds.renewalLead));
  const val = monthsOf(parseDuration(p.iaca.validity));
  const rootTrouble = base.findings.some((f) => f.rule.startsWith("root.") || f.rule === "ds.within-root");
  if (rootTrouble && lead !== undefined && dsm !== undefined && rl !== undefined && val !== undefined) {
    const newLead = Math.max(lead, dsm + rl);
    set(
      "iaca.rekeyLead",
      fmtMonths(newLead),
      `DS certificates signed by the old key (up to ${p.ds.validity}, signed ${p.ds.renewalLead} ahead) must end before the old root does`,
    );
    const interval = fmtMonths(val - newLead);
    const ri = monthsOf(parseDuration(p.iaca.rekeyInterval));
    const fr = monthsOf(parseDuration(p.iaca.firstRekeyAfter));
    if (ri === undefined || ri > val - newLead)
      set(
        "iaca.rekeyInterval",
        interval,
        `each root must be replaced ${fmtMonths(newLead)} before it expires, every cycle (not only the first)`,
      );
    if (fr === undefined || fr > val - newLead)
      set("iaca.firstRekeyAfter", interval, "the first re-key follows the same rule");
  }
}

/** CRL/ARL lifetime: nextUpdate must reach the next root-room visit plus the warning margin. */
function proposeCrlLifetime(p: Policy, set: SetPolicy, acts: Date[], from: Date, visitEvery: string): void {
  const visitDays = longestDays(visitEvery, acts);
  const warn = longestDays(p.revocation.warnBefore, [from]);
  if (shortestDays(p.revocation.nextUpdate, [from]) < visitDays + warn)
    set(
      "revocation.nextUpdate",
      `P${visitDays + warn}D`,
      `CRL/ARL nextUpdate must cover the ${visitEvery} to the next root visit plus the ${p.revocation.warnBefore} margin`,
    );
}

/**
 * Root-room visits: the smallest ds.presign (pre-signed DS certificates per ceremony) that opens
 * the offline root no more often than visitEvery; sets it on `p` and returns that schedule.
 */
function choosePresign(p: Policy, from: Date, until: Date, acts: Date[], visitEvery: string): Omit<Plan, "proposal"> {
  const tooOften = (x: Omit<Plan, "proposal">) => visitGaps(x).some((g) => g < shortestDays(visitEvery, acts) - 1);
  const start = p.ds.presign;
  let chosen = schedule(validatePolicy(p), from, until);
  for (let n = start; n <= 12 && tooOften(chosen); n++) {
    const candidate = schedule(validatePolicy({ ...p, ds: { ...p.ds, presign: n } }), from, until);
    if (!tooOften(candidate) || n === 12) {
      if (!tooOften(candidate)) {
        p.ds.presign = n;
        chosen = candidate;
      }
      break;
    }
  }
  return chosen;
}

/** Days between consecutive routine root-room visits (gaps touching a re-key are left out: re-keys are fixed dates). */
export function visitGaps(p: Pick<Plan, "ceremonies">): number[] {
  const c = p.ceremonies;
  return c
    .slice(1)
    .map((x, i) => [c[i]!, x] as const)
    .filter(([a, b]) => a.kind !== "rekey" && b.kind !== "rekey" && b.at < addDuration(a.at, "P10Y"))
    .map(([a, b]) => days(a.at, b.at));
}

/** The plan as plain text for operators. */
export function formatPlan(p: Plan): string {
  const out: string[] = [];
  out.push(`Plan ${iso(p.from)} .. ${iso(p.until)} (policy ${p.policy.version})`);
  out.push(
    `  root: ${p.policy.iaca.validity} certificates, first re-key after ${p.policy.iaca.firstRekeyAfter}, then every ${p.policy.iaca.rekeyInterval}, lead ${p.policy.iaca.rekeyLead}`,
  );
  out.push(
    `  DS:   ${p.policy.ds.validity} certificates, first rotation after ${p.policy.ds.firstRotationAfter}, then every ${p.policy.ds.rotationInterval}; up to ${p.policy.ds.presign} pre-signed per root visit`,
  );
  out.push(`  MSO:  ${p.policy.mso.validity}; CRL/ARL nextUpdate ${p.policy.revocation.nextUpdate}`);
  const gaps = visitGaps(p);
  out.push(
    `  root-room visits: ${p.ceremonies.length} (${p.ceremonies.filter((c) => c.kind === "rekey").length} re-keys); interval ${gaps.length ? `${Math.min(...gaps).toFixed(0)}..${Math.max(...gaps).toFixed(0)} days` : "-"}`,
  );
  out.push("", "Schedule (room: root = Managed PKI Security Room, ops = operations room)");
  for (const e of p.events) out.push(`  ${iso(e.at)}  ${e.room.padEnd(4)} ${e.kind.padEnd(13)} ${e.text}`);
  out.push("", "Findings");
  if (p.findings.length === 0) out.push("  none: every invariant holds");
  for (const f of p.findings)
    out.push(`  ${f.severity.toUpperCase().padEnd(9)} ${f.rule}${f.at ? ` (${iso(f.at)})` : ""}: ${f.message}`);
  if (p.proposal) {
    out.push("", "Nearest consistent policy");
    for (const c of p.proposal.changes) out.push(`  ${c.path}: ${c.from} -> ${c.to}  (${c.why})`);
    const left = p.proposal.findings.filter((f) => f.severity === "violation");
    out.push(
      left.length === 0
        ? `  With these changes every invariant holds (${p.proposal.ceremonies} root-room visits).`
        : `  Still open: ${left.map((f) => f.message).join(" ")}`,
    );
  }
  return `${out.join("\n")}\n`;
}

export const planDays = days;
