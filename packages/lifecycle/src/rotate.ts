// `iaca rotate`: the unattended key-rotation job. One idempotent pass, under a PostgreSQL advisory
// lock, that does whatever is due at `now` and says what it did: DS activation and retirement,
// destruction of retired DS keys, trust-list re-signing; and warns when a ceremony is needed soon.
import { AuditLog, type CertificateRecord, type Database, type KeyRecord } from "@iaca/db";
import type { KeyStore } from "@iaca/hsm";
import { parseCertificate, usagePeriod } from "@iaca/pki";
import { type AuditSink, addDuration, clause, type Policy, subtractDuration } from "@iaca/policy";
import {
  buildTree,
  currentDtsSigner,
  DbSource,
  listNeeded,
  Publisher,
  parsePublishedSet,
  type TrustListSigner,
  vicalCertificates,
  vicalContentDigest,
  vicalNextUpdate,
} from "@iaca/trust";
import { CONTROLS } from "./controls.ts";

/** Advisory-lock name of the rotation job (db.withAdvisoryLock hashes it to a bigint). */
export const ROTATE_LOCK = "iaca.lifecycle.rotate";

export type RotationActionKind = "ds.activate" | "ds.retire" | "ds.destroy" | "trust-list.sign";

export interface RotationAction {
  kind: RotationActionKind;
  /** DS serial, key URI or trust-list issue. */
  target: string;
  /** When it became due. */
  due: Date;
  /** "done", "planned" (dry run), or why it waits ("awaiting-confirmation", "no-hsm"). */
  status: "done" | "planned" | "awaiting-confirmation" | "no-hsm";
  detail: string;
}

export type WarningKind =
  | "ds.none-usable"
  | "ds.renewal"
  | "crl.next-update"
  | "arl.next-update"
  | "root.rekey"
  | "tsl-signer.expiry"
  | "status-signer.expiry"
  | "ds.destroy-confirmation";

export interface RotationWarning {
  kind: WarningKind;
  /** warning: a ceremony is due soon; critical: something is already late. */
  severity: "warning" | "critical";
  /** The deadline the warning is about. */
  due: Date | undefined;
  message: string;
}

export interface RotationResult {
  at: Date;
  dryRun: boolean;
  actions: RotationAction[];
  warnings: RotationWarning[];
  /** 0 nothing to warn about, 2 a ceremony is due soon, 3 something is late (see docs/operations-rotation.md). */
  exitCode: 0 | 2 | 3;
  /** The next instant at which a run could do or warn something new (without a ceremony in between). */
  nextDue: Date | undefined;
}

export interface RotationDeps {
  db: Database;
  policy: Policy;
  audit: AuditSink;
  /** The operations (DS) HSM: destroys retired DS keys and holds the trust-list signer key. */
  hsm?: KeyStore | undefined;
  /** Trust-list signer; default: the current one on `signing` (or `hsm`); `false`: never re-sign. */
  trustListSigner?: TrustListSigner | false | undefined;
  /** Where the trust-list signer key is used when it is not on `hsm` alone: the DS cluster. */
  signing?: Pick<KeyStore, "signer"> | undefined;
  now?: () => Date;
  actor?: string;
  /** Long-running callers (scheduler, simulation) pass one object to skip unchanged trust-list work. */
  cache?: RotationCache | undefined;
}

/** What the last pass saw of the published set; the trust-list step is skipped while it holds. */
export interface RotationCache {
  publishedKey?: string;
  validUntil?: Date;
}

export interface RotationOptions {
  dryRun?: boolean;
  /** An operator confirms the destruction of due DS keys (policy ds.destroyConfirm). */
  confirmDestroy?: boolean;
}

const DAY = 86_400_000;
const iso = (d: Date) => d.toISOString();
const daysTo = (from: Date, to: Date) => Math.round(((to.getTime() - from.getTime()) / DAY) * 10) / 10;

/** Runs one rotation pass; safe to run concurrently from several hosts (one waits, then finds nothing to do). */
export async function runRotation(deps: RotationDeps, opts: RotationOptions = {}): Promise<RotationResult> {
  void CONTROLS.rotateExclusive;
  return deps.db.withAdvisoryLock(ROTATE_LOCK, () => rotateLocked(deps, opts));
}

/** One pass of the job: what it read, what it did, and how it records. */
interface Pass {
  deps: RotationDeps;
  opts: RotationOptions;
  now: Date;
  dry: boolean;
  actor: string;
  actions: RotationAction[];
  warnings: RotationWarning[];
  /** Collects the future instants at which a run could do or warn something new. */
  later: (d: Date | null | undefined) => void;
  /** Whether `action` already succeeded for `target` (audit log). */
  audited: (action: string, target: string) => Promise<boolean>;
  record: (action: string, c: string, targets: string[], details: Record<string, unknown>) => Promise<unknown>;
  /** Installed DS certificates whose key is not destroyed, in activation order. */
  rows: CertificateRecord[];
  /** Their live DS key records by URI. */
  keys: Map<string, KeyRecord>;
}

async function rotateLocked(deps: RotationDeps, opts: RotationOptions): Promise<RotationResult> {
  const { db, policy } = deps;
  const now = deps.now ? deps.now() : new Date();
  const actor = deps.actor ?? "svc:rotate";
  const upcoming: Date[] = [];
  const log = new AuditLog(db);
  // Certificates whose key is destroyed are finished: nothing is ever due for them again.
  const keys = new Map((await db.stores.certificates.liveKeys("ds")).map((k) => [k.uri, k] as const));
  const rows = (await db.stores.certificates.installedDocumentSigners()).filter((r) => keys.has(r.keyRef!));
  const pass: Pass = {
    deps,
    opts,
    now,
    dry: !!opts.dryRun,
    actor,
    actions: [],
    warnings: [],
    later: (d) => {
      if (d && d > now) upcoming.push(d);
    },
    audited: (action, target) => log.succeeded(action, target),
    record: (action, c, targets, details) =>
      deps.audit.append({
        actor,
        action,
        targets,
        outcome: "success",
        clause: clause(c),
        details: { ...details, at: iso(now) },
      }),
    rows,
    keys,
  };
  await activateDue(pass);
  await retireDue(pass);
  await destroyDue(pass);
  await resignTrustList(pass);
  const { actions, warnings } = pass;
  warnings.push(...(await ceremonyWarnings(db, policy, now, pass.later)));
  const exitCode = warnings.some((w) => w.severity === "critical") ? 3 : warnings.length ? 2 : 0;
  const nextDue = upcoming.length ? new Date(Math.min(...upcoming.map((d) => d.getTime()))) : undefined;
  return { at: now, dryRun: pass.dry, actions, warnings, exitCode, nextDue };
}

/**
 * 1. Activation: the planned activation time has come (the issuer's key choice follows the
 *    records; this step makes the hand-over explicit, audited, and retires the predecessors).
 */
async function activateDue(p: Pass): Promise<void> {
  void CONTROLS.switchover; // the next key takes over at its planned instant, without a restart
  void CONTROLS.dsActivate;
  const { now, rows, later } = p;
  const policy = p.deps.policy;
  for (const row of rows) {
    const at = row.activatesAt ?? row.notBefore;
    const u = usagePeriod(row, policy);
    later(at);
    later(u.end);
    later(row.retiredAt);
    later(addDuration(row.notAfter, policy.ds.destroyGrace));
    // revoked, or stopped (`iaca ds stop`) before its activation or before this run saw it: it
    // never takes over
    if (row.revokedAt || (row.retiredAt && row.retiredAt <= at) || at > now || now > u.end) continue;
    if (await p.audited("ds.activate", row.serial)) continue;
    if (await p.audited("ds.stop", row.serial)) continue;
    const older = rows.filter(
      (o) => o.serial !== row.serial && !o.retiredAt && (o.activatesAt ?? o.notBefore) < at && !o.revokedAt,
    );
    p.actions.push({
      kind: "ds.activate",
      target: row.serial,
      due: at,
      status: p.dry ? "planned" : "done",
      detail: `DS ${row.serial} signs from ${iso(at)} to ${iso(u.end)}${older.length ? `; retires ${older.map((o) => o.serial).join(", ")}` : ""}`,
    });
    if (p.dry) continue;
    for (const o of older) {
      await p.deps.db.stores.certificates.markRetired(o.serial, at);
      o.retiredAt = at;
    }
    await p.record("ds.activate", "6.3.2", [row.serial, row.keyRef!], {
      activatesAt: iso(at),
      usageEnd: iso(u.end),
      retires: older.map((o) => o.serial),
    });
  }
}

/** 2. Retirement: superseded, revoked, or at the end of the private-key usage period. */
async function retireDue(p: Pass): Promise<void> {
  void CONTROLS.dsUsageEnd;
  for (const row of p.rows) {
    const u = usagePeriod(row, p.deps.policy);
    const ends = [row.retiredAt, row.revokedAt, u.end].filter((d): d is Date => !!d);
    const retiredAt = new Date(Math.min(...ends.map((d) => d.getTime())));
    if (retiredAt > p.now) continue;
    if (await p.audited("ds.retire", row.serial)) continue;
    const why =
      row.revokedAt && row.revokedAt <= retiredAt
        ? "revoked"
        : row.retiredAt
          ? (await p.audited("ds.stop", row.serial))
            ? "stopped"
            : "superseded"
          : "usage-end";
    p.actions.push({
      kind: "ds.retire",
      target: row.serial,
      due: retiredAt,
      status: p.dry ? "planned" : "done",
      detail: `DS ${row.serial} stops signing (${why} ${iso(retiredAt)})`,
    });
    if (p.dry) continue;
    if (!row.retiredAt) await p.deps.db.stores.certificates.markRetired(row.serial, retiredAt);
    row.retiredAt ??= retiredAt;
    await p.record("ds.retire", "6.3.2", [row.serial, row.keyRef!], { retiredAt: iso(retiredAt), why });
  }
}

/** 3. Destruction: retired keys whose certificate expired at least destroyGrace ago. */
async function destroyDue(p: Pass): Promise<void> {
  void CONTROLS.dsDestroy;
  const { deps, now, rows } = p;
  const policy = deps.policy;
  for (const row of rows) {
    const key = p.keys.get(row.keyRef!);
    if (!key || key.destroyedAt) continue;
    const retired = row.retiredAt || row.revokedAt || usagePeriod(row, policy).end <= now;
    const due = addDuration(row.notAfter, policy.ds.destroyGrace);
    if (!retired || due > now) continue;
    // Never destroy a key another (still live) certificate of this room names.
    if (rows.some((o) => o.keyRef === row.keyRef && o.serial !== row.serial && o.notAfter > now)) continue;
    const base = { kind: "ds.destroy" as const, target: key.uri, due };
    const detail = `DS key of ${row.serial} (certificate expired ${iso(row.notAfter)}, grace ${policy.ds.destroyGrace})`;
    if (policy.ds.destroyConfirm && !p.opts.confirmDestroy) {
      p.actions.push({ ...base, status: "awaiting-confirmation", detail });
      p.warnings.push({
        kind: "ds.destroy-confirmation",
        severity: "warning",
        due,
        message: `${detail}: destruction waits for an operator (policy ds.destroyConfirm): run \`iaca rotate --confirm-destroy\``,
      });
      continue;
    }
    if (p.dry) {
      p.actions.push({ ...base, status: "planned", detail });
      continue;
    }
    if (!deps.hsm) {
      p.actions.push({ ...base, status: "no-hsm", detail: `${detail}: the DS HSM is not open` });
      continue;
    }
    try {
      await deps.hsm.destroy(key.uri, {
        actor: p.actor,
        reason: `retired DS ${row.serial}: certificate expired + grace`,
      });
    } catch (e) {
      if ((e as { code?: string }).code !== "HSM_KEY_NOT_FOUND") throw e;
    }
    await deps.db.stores.certificates.recordKeyDestroyed(key.uri, now);
    key.destroyedAt = now;
    await p.record("ds.key.destroy", "6.2.10", [key.uri, row.serial], {
      certificateNotAfter: iso(row.notAfter),
      grace: policy.ds.destroyGrace,
      confirmedByOperator: !!p.opts.confirmDestroy,
    });
    p.actions.push({ ...base, status: "done", detail });
  }
}

async function signerOn(db: Database, hsm: Pick<KeyStore, "signer"> | undefined, now: Date) {
  return hsm ? (await currentDtsSigner(db, hsm, now))?.signer : undefined;
}

/** 4. Trust list: re-sign when the published set (roots, CRL/ARL nextUpdate, signer) changed. */
async function resignTrustList(p: Pass): Promise<void> {
  void CONTROLS.trustListResign;
  const { deps, now, dry } = p;
  const { db } = deps;
  const signer =
    deps.trustListSigner === false
      ? undefined
      : (deps.trustListSigner ?? (await signerOn(db, deps.signing ?? deps.hsm, now)));
  if (!signer) return;
  const signerSha256 = parseCertificate(signer.certificate).sha256;
  const cache = deps.cache;
  // unchanged since the last pass, and no root expires before validUntil: the issue still holds
  const publishedKey = await publishedFingerprint(db, signerSha256);
  if (cache?.publishedKey === publishedKey && cache.validUntil && now < cache.validUntil && !dry) return;
  const source = new DbSource(db.stores);
  const set = parsePublishedSet(await source.load());
  const digest = vicalContentDigest(
    vicalCertificates(set, now),
    ["org.iso.23220.1.jp.mnc"],
    vicalNextUpdate(set, now),
    signerSha256,
  );
  if (!set.trustList || set.trustList.contentDigest !== digest) {
    const before = set.trustList?.issueId ?? 0;
    if (dry)
      p.actions.push({
        kind: "trust-list.sign",
        target: `issue ${before + 1}`,
        due: now,
        status: "planned",
        detail: "the published set changed: a new trust-list issue would be signed",
      });
    else await signTrustList(p, source, signer, before);
  }
  if (cache && !dry) {
    cache.publishedKey = await publishedFingerprint(db, signerSha256);
    const ends = set.certificates.filter((c) => c.kind === "iaca" && c.info.notAfter > now).map((c) => c.info.notAfter);
    cache.validUntil = new Date(Math.min(addDuration(now, "P1D").getTime(), ...ends.map((d) => d.getTime() + 1)));
  }
}

async function signTrustList(p: Pass, source: DbSource, signer: TrustListSigner, before: number): Promise<void> {
  const { now } = p;
  const publisher = new Publisher({ source, policy: p.deps.policy, signer, clock: () => now });
  const tree = await publisher.refresh();
  const issue = tree.set.trustList?.issueId ?? before;
  if (issue <= before) return;
  await p.record("dts.trust-list.sign", "6.3.2", [`trust-list:${issue}`], {
    roots: vicalCertificates(tree.set, now).map((c) => c.info.serial),
  });
  p.actions.push({
    kind: "trust-list.sign",
    target: `issue ${issue}`,
    due: now,
    status: "done",
    detail: `trust list issue ${issue} signed (${vicalCertificates(tree.set, now).length} IACA certificates)`,
  });
}

/** What the operators must prepare soon (control lifecycle.ceremony.reminder, lifecycle.crl.fresh). */
export async function ceremonyWarnings(
  db: Database,
  policy: Policy,
  now: Date,
  /** Receives the future instants at which a warning would change. */
  later: (d: Date) => void = () => undefined,
): Promise<RotationWarning[]> {
  void CONTROLS.ceremonyReminder;
  const certs = await db.stores.certificates.ofKinds(["iaca", "ds", "tsl-signer", "status-signer"]);
  const roots = certs.filter((c) => c.kind === "iaca");
  if (roots.length === 0) return [];
  const c: WarningContext = { policy, now, later, out: [] };
  dsWarnings(c, certs);
  await listWarnings(c, db);
  rekeyWarning(c, roots);
  signerWarnings(c, certs);
  return c.out;
}

interface WarningContext {
  policy: Policy;
  now: Date;
  later: (d: Date) => void;
  out: RotationWarning[];
}

/** DS: the key signing now, and whether its successor is installed renewalLead before the usage period ends. */
function dsWarnings({ policy, now, later, out }: WarningContext, certs: CertificateRecord[]): void {
  const ds = certs
    .filter((c) => c.kind === "ds" && c.keyRef && c.installedAt && !c.revokedAt)
    .map((c) => ({ c, u: usagePeriod(c, policy) }));
  const current = ds.filter(({ c, u }) => u.start <= now && now <= u.end && !(c.retiredAt && c.retiredAt <= now));
  if (current.length === 0)
    out.push({
      kind: "ds.none-usable",
      severity: "critical",
      due: now,
      message: "no installed DS key may sign now: issuance is refused until a DS certificate is installed",
    });
  else {
    const cur = current[current.length - 1]!;
    const next = ds.filter(({ u }) => u.start > now && u.start <= cur.u.end);
    const warnAt = subtractDuration(cur.u.end, policy.ds.renewalLead);
    later(warnAt);
    later(cur.u.end);
    if (next.length === 0 && now >= warnAt)
      out.push({
        kind: "ds.renewal",
        severity: "warning",
        due: cur.u.end,
        message: `DS ${cur.c.serial} may sign until ${iso(cur.u.end)} (${daysTo(now, cur.u.end)} days) and no successor is installed: hold a DS ceremony (policy ds.renewalLead ${policy.ds.renewalLead})`,
      });
  }
}

/**
 * CRL / ARL freshness of every root key whose lists a valid certificate names (pki.crl.per-key),
 * and of the newest key's lists always: what the DTS publishes, as a verifier would fetch it.
 */
async function listWarnings({ policy, now, later, out }: WarningContext, db: Database): Promise<void> {
  void CONTROLS.crlFresh;
  const tree = buildTree(parsePublishedSet(await new DbSource(db.stores).load()), policy, now);
  const newestGen = (kind: string) => Math.max(0, ...tree.lists.filter((l) => l.kind === kind).map((l) => l.gen));
  for (const kind of ["crl", "arl"] as const)
    if (newestGen(kind) === 0)
      out.push({
        kind: `${kind}.next-update`,
        severity: "critical",
        due: undefined,
        message: `no ${kind.toUpperCase()} installed`,
      });
  for (const l of tree.lists) {
    if (!listNeeded(l, now) && l.gen !== newestGen(l.kind)) continue;
    const label = `${l.kind.toUpperCase()}${l.gen === newestGen(l.kind) ? "" : ` of root key ${l.gen}`}`;
    const next = l.info?.nextUpdate;
    if (!l.info || !next) {
      out.push({
        kind: `${l.kind}.next-update`,
        severity: "critical",
        due: undefined,
        message: `no ${label} installed`,
      });
      continue;
    }
    const warnAt = subtractDuration(next, policy.revocation.warnBefore);
    later(warnAt);
    later(next);
    if (l.neededUntil) later(new Date(l.neededUntil.getTime() + 1));
    if (now >= next)
      out.push({
        kind: `${l.kind}.next-update`,
        severity: "critical",
        due: next,
        message: `${label} #${l.info.number} is stale since ${iso(next)}: verifiers reject DS/IACA certificates; hold a root ceremony now`,
      });
    else if (now >= warnAt)
      out.push({
        kind: `${l.kind}.next-update`,
        severity: "warning",
        due: next,
        message: `${label} #${l.info.number} nextUpdate ${iso(next)} in ${daysTo(now, next)} days: a root ceremony must issue the next one (policy revocation.warnBefore ${policy.revocation.warnBefore})`,
      });
  }
}

/** Root re-key: firstRekeyAfter after the first root, then every rekeyInterval; start rekeyLead ahead. */
function rekeyWarning({ policy, now, later, out }: WarningContext, roots: CertificateRecord[]): void {
  for (const r of roots) later(r.notAfter);
  const first = roots[0]!;
  const latest = roots[roots.length - 1]!;
  const due =
    roots.length === 1
      ? addDuration(first.notBefore, policy.iaca.firstRekeyAfter)
      : addDuration(latest.notBefore, policy.iaca.rekeyInterval);
  const rekeyAt = new Date(Math.min(due.getTime(), subtractDuration(latest.notAfter, policy.iaca.rekeyLead).getTime()));
  later(subtractDuration(rekeyAt, policy.iaca.rekeyLead));
  later(latest.notAfter);
  if (now >= subtractDuration(rekeyAt, policy.iaca.rekeyLead))
    out.push({
      kind: "root.rekey",
      severity: now >= latest.notAfter ? "critical" : "warning",
      due: rekeyAt,
      message: `root re-key due ${iso(rekeyAt)} (${daysTo(now, rekeyAt)} days; root valid to ${iso(latest.notAfter)}): prepare the key ceremony with link certificates (policy iaca.rekeyLead ${policy.iaca.rekeyLead})`,
    });
}

const SIGNERS = {
  "tsl-signer": { name: "trust-list signer", what: "the trust list" },
  "status-signer": { name: "status-list signer", what: "the status lists (revocations stop reaching verifiers)" },
} as const;

/** Trust-list and status-list signers: expiry without a successor. */
function signerWarnings(ctx: WarningContext, certs: CertificateRecord[]): void {
  for (const kind of Object.keys(SIGNERS) as (keyof typeof SIGNERS)[]) oneSignerWarnings(ctx, certs, kind);
}

function oneSignerWarnings(
  { policy, now, later, out }: WarningContext,
  certs: CertificateRecord[],
  kind: keyof typeof SIGNERS,
): void {
  const mine = certs.filter((c) => c.kind === kind && !c.revokedAt && c.notBefore <= now);
  const signer = mine[mine.length - 1];
  if (!signer) return;
  const { name, what } = SIGNERS[kind];
  const newer = certs.some((c) => c.kind === kind && !c.revokedAt && c.notBefore > now);
  later(subtractDuration(signer.notAfter, policy.ds.renewalLead));
  later(signer.notAfter);
  for (const c of mine) later(c.notBefore);
  for (const c of certs) if (c.kind === kind && c.notBefore > now) later(c.notBefore);
  if (now >= signer.notAfter && !newer)
    out.push({
      kind: `${kind}.expiry`,
      severity: "critical",
      due: signer.notAfter,
      message: `the ${name} certificate expired ${iso(signer.notAfter)}: ${what} can no longer be re-signed`,
    });
  else if (now >= subtractDuration(signer.notAfter, policy.ds.renewalLead) && !newer)
    out.push({
      kind: `${kind}.expiry`,
      severity: "warning",
      due: signer.notAfter,
      message: `the ${name} certificate expires ${iso(signer.notAfter)} (${daysTo(now, signer.notAfter)} days): have the next one issued at a root ceremony`,
    });
}

/** The result for people: one line per action and warning. */
export function formatRotation(r: RotationResult): string {
  const out = [`rotate at ${iso(r.at)}${r.dryRun ? " (dry run: nothing changed)" : ""}`];
  if (r.actions.length === 0) out.push("  nothing due");
  for (const a of r.actions) out.push(`  ${a.status.padEnd(21)} ${a.kind.padEnd(15)} ${a.detail}`);
  for (const w of r.warnings) out.push(`  ${w.severity.toUpperCase().padEnd(21)} ${w.kind.padEnd(15)} ${w.message}`);
  return `${out.join("\n")}\n`;
}

/** Prometheus text exposition (node_exporter textfile collector or the server's /metrics). */
export function rotationMetrics(r: RotationResult): string {
  const lines = [
    "# HELP iaca_rotation_last_run_timestamp_seconds When the rotation job last ran.",
    "# TYPE iaca_rotation_last_run_timestamp_seconds gauge",
    `iaca_rotation_last_run_timestamp_seconds ${Math.floor(r.at.getTime() / 1000)}`,
    "# HELP iaca_rotation_status 0 ok, 2 a ceremony is due soon, 3 something is late.",
    "# TYPE iaca_rotation_status gauge",
    `iaca_rotation_status ${r.exitCode}`,
    "# HELP iaca_rotation_actions Actions of the last run by kind and status.",
    "# TYPE iaca_rotation_actions gauge",
  ];
  const counts = new Map<string, number>();
  for (const a of r.actions) {
    const k = `kind="${a.kind}",status="${a.status}"`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  for (const [k, n] of counts) lines.push(`iaca_rotation_actions{${k}} ${n}`);
  lines.push(
    "# HELP iaca_rotation_warning A ceremony or list needs attention (1 warning, 2 critical).",
    "# TYPE iaca_rotation_warning gauge",
  );
  for (const w of r.warnings)
    lines.push(`iaca_rotation_warning{kind="${w.kind}"} ${w.severity === "critical" ? 2 : 1}`);
  lines.push(
    "# HELP iaca_rotation_due_seconds Seconds until the deadline a warning is about (negative when late).",
    "# TYPE iaca_rotation_due_seconds gauge",
  );
  for (const w of r.warnings)
    if (w.due)
      lines.push(
        `iaca_rotation_due_seconds{kind="${w.kind}"} ${Math.round((w.due.getTime() - r.at.getTime()) / 1000)}`,
      );
  return `${lines.join("\n")}\n`;
}

/** Changes whenever anything the trust list is derived from changes (certificates, lists, issues, signer). */
async function publishedFingerprint(db: Database, signerSha256: string): Promise<string> {
  const { certificates, lists } = await db.stores.certificates.publicationState();
  const issue = await db.stores.trustLists.latestIssueId();
  const parts = [certificates, lists, issue?.toString()].filter((p) => p != null);
  return `${parts.join("|")}|${signerSha256}`;
}
