// `iaca simulate`: the whole key lifecycle on a simulated clock with real HSM keys and a real
// database. A virtual operator holds the root ceremonies of the plan (re-keys with link
// certificates, pre-signed DS certificates, CRL/ARL), the rotation job runs every simulated day,
// wallets issue, refresh and revoke mdocs, and every check day each live mdoc is verified by
// verifiers who trust only what the DTS published (one per root they pinned: old-root holders
// reach new DS certificates through link certificates).
import { randomUUID } from "node:crypto";
import { AuditLog, type Database } from "@iaca/db";
import type { KeyStore } from "@iaca/hsm";
import { IssuerService, PkiDsSource } from "@iaca/issuance";
import { myNumberCheckDigit, verifyMdoc } from "@iaca/mdoc";
import {
  dsInstall,
  dsKeygen,
  type Plan,
  type PlannedCeremony,
  type PlannedDs,
  type PolicyChange,
  plan,
  planSvg,
  type Room,
  rootCrl,
  rootInit,
  rootRekey,
  rootRevoke,
  rootSignCsr,
  usagePeriod,
} from "@iaca/pki";
import { addDuration, type Policy, subtractDuration } from "@iaca/policy";
import {
  DbSource,
  freshness,
  type PublishedSet,
  parsePublishedSet,
  signerInstall,
  signerKeygen,
  verifyTrustList,
} from "@iaca/trust";
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from "jose";
import { CONTROLS } from "./controls.ts";
import { runRotation } from "./rotate.ts";

const DAY = 86_400_000;
const HOUR = 3_600_000;
const iso = (d: Date) => d.toISOString().slice(0, 10);
const days = (a: Date, b: Date) => (b.getTime() - a.getTime()) / DAY;

export interface SimulationOptions {
  db: Database;
  /** Root-room token (IACA keys) and operations token (DS keys, issuer secrets, trust-list signer). */
  rootHsm: KeyStore;
  dsHsm: KeyStore;
  policy: Policy;
  /** Horizon in months (default 120 = 10 years). */
  months?: number;
  /** Start (default 2026-04-01T00:00:00Z). */
  from?: Date;
  /** When the policy breaks an invariant, run the planner's nearest consistent policy and report the changes (default true). */
  adjust?: boolean;
  /** The root-room cadence: routine visits only for CRL/ARL re-issue are held at most this often (default P3M). */
  visitEvery?: string;
  /** New mdocs per simulated week (default 3). */
  issuesPerWeek?: number;
  /** How many times a holder refreshes before letting the mdoc lapse (default 2). */
  refreshes?: number;
  /** Every n-th issued mdoc is revoked the next day (default 7; 0 = none). */
  revokeEvery?: number;
  /** Publish link certificates at re-keys (default true; false is a deliberately broken set-up). */
  linkCertificates?: boolean;
  /** Key-compromise drill half-way: revoke the active DS, emergency DS ceremony and CRL (default true). */
  compromiseDrill?: boolean;
  /** Verify every live mdoc on every day something changed and at least every n days (default 7). */
  checkEvery?: number;
  /** Stop after this many failures (default: run to the end). */
  maxFailures?: number;
  log?: (line: string) => void;
}

export interface SimulationFailure {
  at: Date;
  kind: "issuance" | "usage-period" | "verify" | "crl-stale" | "trust-list" | "revocation" | "rotation";
  message: string;
}

export interface SimulationEvent {
  at: Date;
  kind: string;
  text: string;
}

export interface SimulationResult {
  from: Date;
  until: Date;
  /** The policy that ran (the planner's proposal when adjusted). */
  policy: Policy;
  adjustments: PolicyChange[];
  /** Invariant violations the planner reports for the policy that ran (a simulation of them fails). */
  planViolations: string[];
  counts: Record<string, number>;
  failures: SimulationFailure[];
  events: SimulationEvent[];
  /** The timeline as it happened (planner's SVG renderer over the simulated records). */
  svg: string;
  elapsedMs: number;
  /** Wall-clock milliseconds by phase (ceremonies, rotation, traffic, checks). */
  phaseMs: Record<string, number>;
}

/** A minimal JPEG (SOI + APP0 + EOI): the profile checks the signature, not the picture. */
const PORTRAIT = Buffer.from(
  "ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c0b0b0c1912130f141d1a1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e333432ffd9",
  "hex",
).toString("base64");

/** Synthetic holder n (no real person). */
export function syntheticHolder(n: number): Record<string, string> {
  const first11 = String(10_000_000_000 + n * 7919).slice(0, 11);
  return {
    familyName: `試験${"一二三四五六七八九"[n % 9]}`,
    givenName: `花子${n}`,
    birthDate: `19${60 + (n % 30)}-0${1 + (n % 9)}-1${n % 10}`,
    address: `東京都千代田区霞が関${1 + (n % 3)}丁目${n % 9}番${n % 7}号`,
    sex: n % 2 ? "female" : "male",
    localGovCode: "131016",
    individualNumber: first11 + String(myNumberCheckDigit(first11)),
    portrait: PORTRAIT,
  };
}

interface Live {
  id: string;
  holder: number;
  issuerSigned: string;
  validUntil: Date;
  dsSerial: string;
  refreshes: number;
  refreshed: boolean;
  revokeOn?: number;
}

/** Shortest span of a calendar duration over the horizon (P3M: 89 days), as the planner measures visits. */
function shortestDays(dur: string, from: Date, months: number): number {
  let min = Number.POSITIVE_INFINITY;
  for (let i = 0; i <= months; i++) {
    const a = addDuration(from, `P${i}M`);
    min = Math.min(min, Math.floor(days(a, addDuration(a, dur))));
  }
  return min;
}

export async function simulate(o: SimulationOptions): Promise<SimulationResult> {
  void CONTROLS.simulation;
  const started = performance.now();
  const log = o.log ?? (() => undefined);
  const from = o.from ?? new Date("2026-04-01T00:00:00Z");
  const months = o.months ?? 120;
  const until = addDuration(from, `P${months}M`);
  const years = Math.ceil(months / 12);
  const visitEvery = o.visitEvery ?? "P3M";

  // 1. The schedule: the policy as given, or the planner's nearest consistent one.
  const first = plan(o.policy, from, years, { visitEvery });
  const adjust = o.adjust !== false && !!first.proposal;
  const policy = adjust ? first.proposal!.policy : o.policy;
  const adjustments = adjust ? first.proposal!.changes : [];
  const p = adjust ? plan(policy, from, years, { visitEvery, propose: false }) : first;
  const planViolations = p.findings.filter((f) => f.severity === "violation").map((f) => `${f.rule}: ${f.message}`);
  for (const c of adjustments) log(`policy adjusted: ${c.path} ${c.from} -> ${c.to} (${c.why})`);

  // Root-room visits: the plan's, except routine CRL-only visits closer than the cadence allows.
  const minGap = shortestDays(visitEvery, from, months) - 1;
  const visits: PlannedCeremony[] = [];
  let skippedVisits = 0;
  for (const c of p.ceremonies) {
    if (c.at >= until) break;
    const last = visits[visits.length - 1];
    const crlOnly = c.kind === "routine" && c.reason.startsWith("CRL");
    if (crlOnly && last && days(last.at, c.at) < minGap) {
      skippedVisits++;
      continue;
    }
    visits.push(c);
  }
  const visitOn = new Map(visits.map((v, i) => [iso(v.at), i] as const));

  // 2. The rooms, the issuer, the DTS view.
  let clock = from;
  const now = () => clock;
  const { db } = o;
  const audit = new AuditLog(db);
  const actors = ["op:sim-alice", "op:sim-bob"];
  const rootRoom: Room = { policy, db, hsm: o.rootHsm, audit, actors, now };
  const opsRoom: Room = { policy, db, hsm: o.dsHsm, audit, actors, now };
  await IssuerService.ensureSecretKeys(o.dsHsm, audit);
  const source = new PkiDsSource(db.stores.certificates, 0);
  const issuer = new IssuerService({ db, keyStore: o.dsHsm, policy, ds: source, audit, now, actor: "svc:issuer" });
  const devices = await Promise.all(
    Array.from({ length: 4 }, async () => {
      const { publicKey } = await generateKeyPair("ES256", { extractable: true });
      const jwk = (await exportJWK(publicKey)) as { kty: "EC"; crv: string; x: string; y: string };
      return { jwk, thumbprint: await calculateJwkThumbprint(jwk) };
    }),
  );

  const failures: SimulationFailure[] = [];
  const events: SimulationEvent[] = [];
  const counts: Record<string, number> = {
    days: 0,
    rootVisits: 0,
    skippedCrlOnlyVisits: skippedVisits,
    rekeys: 0,
    linkCertificates: 0,
    dsKeys: 0,
    dsCertificates: 0,
    tslSigners: 0,
    crls: 0,
    arls: 0,
    mdocsIssued: 0,
    mdocsRefreshed: 0,
    mdocsRevoked: 0,
    verifications: 0,
    checkDays: 0,
    revokedDsRejected: 0,
    trustListIssues: 0,
    dsActivated: 0,
    dsRetired: 0,
    dsKeysDestroyed: 0,
    rotationRuns: 0,
    rotationWarnings: 0,
  };
  const seen = new Set<string>();
  const fail = (kind: SimulationFailure["kind"], message: string, key = `${kind}:${message}`) => {
    if (seen.has(key)) return;
    seen.add(key);
    failures.push({ at: clock, kind, message });
    log(`FAIL ${iso(clock)} ${kind}: ${message}`);
  };
  const event = (kind: string, text: string) => {
    events.push({ at: clock, kind, text });
    log(`${iso(clock)} ${kind.padEnd(16)} ${text}`);
  };
  const stop = () => o.maxFailures !== undefined && failures.length >= o.maxFailures;

  const signedDs = new Set<number>();
  const actual = {
    roots: [] as { gen: number; notBefore: Date; notAfter: Date }[],
    ds: [] as PlannedDs[],
    ceremonies: [] as PlannedCeremony[],
  };
  const certificates = db.stores.certificates;
  /** A certificate this run just stored. */
  const stored = async (serial: string) => {
    const row = await certificates.get(serial);
    if (!row) throw new Error(`certificate ${serial} was not stored`);
    return row;
  };
  const rootsDer = async () => (await certificates.ofKinds(["iaca"])).map((r) => new Uint8Array(r.der));

  /**
   * Trust-list signer certificates (issued with the DS validity) must cover the time to the next
   * root visit plus renewalLead; when one certificate cannot, the next is pre-signed with a later
   * notBefore, as DS certificates are.
   */
  async function issueTsl(nextVisit: Date | undefined) {
    const horizon = addDuration(nextVisit ?? until, policy.ds.renewalLead);
    for (let guard = 0; guard < 6; guard++) {
      const cur = await certificates.lastExpiringTrustListSigner();
      if (cur && cur.notAfter > horizon) return;
      const nb = cur && cur.notAfter > clock ? subtractDuration(cur.notAfter, policy.ds.renewalLead) : clock;
      const k = await signerKeygen({ db, hsm: o.dsHsm, policy, audit, actor: actors[0]! });
      const s = await rootSignCsr(rootRoom, k.csr, {
        profile: "tsl-signer",
        notBefore: new Date(Math.max(nb.getTime(), clock.getTime())),
      });
      await signerInstall({ db, hsm: o.dsHsm, policy, audit, actor: actors[0]!, data: s.cert.der });
      counts.tslSigners!++;
      const row = await stored(s.serial);
      if (row.notAfter <= (cur?.notAfter ?? clock)) return; // capped by the root: nothing more to gain
    }
  }

  async function signDs(d: PlannedDs, notBefore: Date, why: string) {
    const k = await dsKeygen(opsRoom, { seq: d.seq });
    const s = await rootSignCsr(rootRoom, k.csr, { notBefore, seq: d.seq });
    const inst = await dsInstall(opsRoom, s.cert.der, await rootsDer());
    const row = await stored(s.serial);
    const u = usagePeriod(row, policy);
    counts.dsKeys!++;
    counts.dsCertificates!++;
    actual.ds.push({
      ...d,
      root: row.rootGen || actual.roots.length,
      notBefore: row.notBefore,
      notAfter: row.notAfter,
      usageEnd: u.end,
      signedAt: clock,
      deadline: d.deadline,
      capped: false,
    });
    event("ds.sign", `DS #${d.seq} ${s.serial.slice(0, 12)} active ${iso(inst.activatesAt)}..${iso(u.end)} (${why})`);
    return s.serial;
  }

  async function ceremony(i: number) {
    const c = visits[i]!;
    const next = visits[i + 1]?.at;
    counts.rootVisits!++;
    if (c.kind === "init") {
      const r = await rootInit(rootRoom, { at: clock });
      const cert = await stored(r.serial);
      actual.roots.push({ gen: 1, notBefore: cert.notBefore, notAfter: cert.notAfter });
      event("root.init", `root #1 valid to ${iso(cert.notAfter)}`);
    } else if (c.kind === "rekey") {
      const r = await rootRekey(rootRoom, { at: clock });
      const row = await certificates.rootOfGeneration(r.gen);
      if (!row) throw new Error(`root generation ${r.gen} was not stored`);
      actual.roots.push({ gen: r.gen, notBefore: row.notBefore, notAfter: row.notAfter });
      counts.rekeys!++;
      if (o.linkCertificates === false) {
        await certificates.forgetLinkCertificates();
        event("root.rekey", `root #${r.gen} valid to ${iso(row.notAfter)}; link certificates NOT published`);
      } else {
        counts.linkCertificates! += 2;
        event("root.rekey", `root #${r.gen} valid to ${iso(row.notAfter)}; link certificates old<->new published`);
      }
    }
    // Sign what the plan needs before the next visit (pre-signed certificates carry future notBefore).
    const signs: number[] = [];
    for (const d of p.ds) {
      if (signedDs.has(d.seq) || !d.signedAt || d.notBefore >= until) continue;
      if (next && d.signedAt >= next) continue;
      if (d.root > actual.roots.length) continue;
      signedDs.add(d.seq);
      signs.push(d.seq);
      await signDs(d, new Date(Math.max(d.notBefore.getTime(), clock.getTime())), `root visit ${c.kind}`);
    }
    await issueTsl(next);
    const crl = await rootCrl(rootRoom, "crl");
    await rootCrl(rootRoom, "arl");
    counts.crls!++;
    counts.arls!++;
    actual.ceremonies.push({ ...c, at: clock, signs, nextUpdate: crl.nextUpdate });
    event("root.visit", `${c.kind}: ${c.reason}; CRL/ARL nextUpdate ${iso(crl.nextUpdate)}`);
  }

  const live: Live[] = [];
  const mustFail: Live[] = [];
  let holderSeq = 0;
  let issuedSeq = 0;
  const totalDays = Math.round(days(from, until));
  const drillDay = o.compromiseDrill === false ? -1 : Math.floor(totalDays / 2);
  const issuesPerWeek = o.issuesPerWeek ?? 3;
  const revokeEvery = o.revokeEvery ?? 7;
  const checkEvery = o.checkEvery ?? 7;
  const maxRefreshes = o.refreshes ?? 2;

  async function issue(holder: number, refreshOf?: Live) {
    const dk = devices[holder % devices.length]!;
    try {
      const r = await issuer.issue({
        requestId: randomUUID(),
        clientId: "sim-wallet",
        profile: policy.profile,
        holder: refreshOf ? {} : syntheticHolder(holder),
        devices: [dk],
        // the holder's device key signed the mdoc being refreshed (the RA checks the holder proof)
        ...(refreshOf ? { refresh: { issuerSigned: refreshOf.issuerSigned, holderKeyThumbprint: dk.thumbprint } } : {}),
      });
      const c = r.credentials[0]!;
      const signed = new Date(c.validFrom);
      await checkUsage(r.dsCertificateSerial, signed);
      const l: Live = {
        id: c.id,
        holder,
        issuerSigned: c.issuerSigned,
        validUntil: new Date(c.validUntil),
        dsSerial: r.dsCertificateSerial,
        refreshes: refreshOf ? refreshOf.refreshes + 1 : 0,
        refreshed: false,
      };
      issuedSeq++;
      if (revokeEvery > 0 && issuedSeq % revokeEvery === 0) l.revokeOn = counts.days! + 1;
      live.push(l);
      return l;
    } catch (e) {
      fail(
        "issuance",
        `${refreshOf ? "refresh" : "issue"} refused: ${(e as { code?: string }).code ?? "error"}: ${(e as Error).message}`,
        `issuance:${iso(clock)}`,
      );
      return undefined;
    }
  }

  /** The MSO was signed inside its DS key's usage period, by the key active at that instant. */
  async function checkUsage(serial: string, signed: Date) {
    const rows = await certificates.installedDocumentSigners();
    const row = rows.find((r) => r.serial === serial);
    if (!row) return fail("usage-period", `MSO signed by unknown DS ${serial}`);
    const u = usagePeriod(row, policy);
    if (signed < u.start || signed > u.end || (row.retiredAt && row.retiredAt <= signed))
      fail(
        "usage-period",
        `MSO signed ${signed.toISOString()} by DS ${serial} outside its usage period ${u.start.toISOString()}..${u.end.toISOString()}${row.retiredAt ? ` (retired ${row.retiredAt.toISOString()})` : ""}`,
      );
    const active = rows
      .filter((r) => !r.revokedAt && usagePeriod(r, policy).start <= signed && !(r.retiredAt && r.retiredAt <= signed))
      .sort((a, b) => usagePeriod(b, policy).start.getTime() - usagePeriod(a, policy).start.getTime())[0];
    if (active && active.serial !== serial)
      fail(
        "usage-period",
        `MSO signed ${signed.toISOString()} by DS ${serial}, but DS ${active.serial} was the active key`,
      );
  }

  async function check(set: PublishedSet, anyChange: boolean, dayIndex: number) {
    for (const [name, f] of [
      ["CRL", freshness(set.crl, policy, clock)],
      ["ARL", freshness(set.arl, policy, clock)],
    ] as const)
      if (f.state === "expired" || f.state === "missing")
        fail(
          "crl-stale",
          `published ${name} ${f.state}${f.nextUpdate ? ` (nextUpdate ${iso(f.nextUpdate)})` : ""}: no root ceremony re-issued it in time (revocation.nextUpdate ${policy.revocation.nextUpdate}, root room every ${visitEvery})`,
          `crl-stale:${name}:${f.nextUpdate?.toISOString()}`,
        );
    if (!anyChange && dayIndex % checkEvery !== 0) return;
    counts.checkDays!++;
    const roots = set.certificates.filter((c) => c.kind === "iaca" && clock <= c.info.notAfter);
    const pool = set.certificates.filter((c) => c.kind === "iaca" || c.kind === "link").map((c) => c.info.der);
    const crls = set.crl ? [set.crl.der] : [];
    if (set.trustList) {
      try {
        const tl = await verifyTrustList(
          set.trustList.cose,
          roots.map((r) => r.info.der),
          clock,
        );
        const listed = new Set(tl.certificates.map((d) => Buffer.from(d).toString("base64")));
        for (const r of roots)
          if (!listed.has(Buffer.from(r.info.der).toString("base64")) && r.info.notBefore <= clock)
            fail("trust-list", `trust list issue ${tl.issueId} does not list root ${r.info.serial}`);
      } catch (e) {
        fail(
          "trust-list",
          `published trust list does not verify: ${(e as Error).message}`,
          `tl:${set.trustList.issueId}`,
        );
      }
    } else fail("trust-list", "no trust list published", "tl:none");
    for (const root of roots) {
      for (const l of live) {
        if (l.validUntil <= clock) continue;
        counts.verifications!++;
        const v = await verifyMdoc(l.issuerSigned, {
          trustAnchors: [root.info.der],
          untrusted: pool,
          crls,
          at: clock,
        });
        if (!v.ok) {
          const bad = v.checks.filter((x) => x.status === "FAIL").map((x) => `${x.name}: ${x.reason}`);
          fail(
            "verify",
            `mdoc ${l.id.slice(0, 8)} (DS ${l.dsSerial.slice(0, 12)}) fails for a verifier pinned to root ${root.info.serial.slice(0, 12)} (${iso(root.info.notBefore)}): ${bad.join("; ")}`,
            `verify:${l.id}:${root.info.serial}`,
          );
        }
      }
    }
    // mdocs of a revoked DS must be rejected once a CRL lists it.
    for (const l of mustFail) {
      if (l.validUntil <= clock || !set.crl?.revokedSerials.includes(l.dsSerial)) continue;
      const v = await verifyMdoc(l.issuerSigned, {
        trustAnchors: roots.map((r) => r.info.der),
        untrusted: pool,
        crls,
        at: clock,
      });
      counts.verifications!++;
      if (v.ok) fail("revocation", `mdoc ${l.id.slice(0, 8)} of revoked DS ${l.dsSerial} still verifies`);
      else counts.revokedDsRejected!++;
    }
  }

  // 3. The days.
  let prevTrustList = 0;
  const phaseMs: Record<string, number> = { ceremonies: 0, rotation: 0, traffic: 0, checks: 0 };
  let published: PublishedSet | undefined;
  const rotationCache = {};
  let nextDue: Date | undefined;
  let lastRotation = -7;
  for (let d = 0; addDuration(from, `P${d}D`) < until && !stop(); d++) {
    const dayStart = addDuration(from, `P${d}D`);
    clock = dayStart;
    counts.days!++;
    let changed = false;
    const vi = visitOn.get(iso(dayStart));
    if (vi !== undefined) {
      clock = new Date(Math.max(visits[vi]!.at.getTime(), dayStart.getTime()));
      const t = performance.now();
      await ceremony(vi);
      phaseMs.ceremonies! += performance.now() - t;
      changed = true;
    }
    if (d === drillDay) {
      const cur = await source.signingKeys();
      const active = cur.find((k) => {
        const u = usagePeriod(k.record, policy);
        return u.start <= clock && clock <= u.end && !(k.record.retiredAt && k.record.retiredAt <= clock);
      });
      if (active) {
        clock = new Date(dayStart.getTime() + 6 * HOUR);
        await rootRevoke(rootRoom, active.record.serial, "keyCompromise");
        event("ds.revoke", `compromise drill: DS ${active.record.serial.slice(0, 12)} revoked`);
        for (const l of live.filter((x) => x.dsSerial === active.record.serial)) mustFail.push(l);
        for (let i = live.length - 1; i >= 0; i--) if (live[i]!.dsSerial === active.record.serial) live.splice(i, 1);
        const planned = p.ds.find((x) => x.notBefore <= clock && (!x.retiredAt || x.retiredAt > clock)) ?? p.ds[0]!;
        await signDs({ ...planned, seq: 900 + planned.seq }, clock, "emergency DS ceremony after compromise");
        await rootCrl(rootRoom, "crl");
        await rootCrl(rootRoom, "arl");
        counts.rootVisits!++;
        counts.crls!++;
        counts.arls!++;
        changed = true;
      }
    }
    // The rotation job (cron) at 00:05. Runs where nothing can be due (no ceremony since the last
    // run, before its nextDue, within a week) are skipped: they would find nothing to do.
    const tRotation = performance.now();
    if (changed || !nextDue || addDuration(dayStart, "P1D") > nextDue || d - lastRotation >= 7) {
      lastRotation = d;
      clock = new Date(Math.max(clock.getTime(), dayStart.getTime() + 5 * 60_000));
      try {
        const r = await runRotation({
          db,
          policy,
          audit,
          hsm: o.dsHsm,
          now,
          actor: "svc:rotate",
          cache: rotationCache,
        });
        nextDue = r.nextDue;
        counts.rotationRuns!++;
        for (const a of r.actions.filter((x) => x.status === "done")) {
          changed = true;
          if (a.kind === "ds.activate") counts.dsActivated!++;
          if (a.kind === "ds.retire") counts.dsRetired!++;
          if (a.kind === "ds.destroy") counts.dsKeysDestroyed!++;
          if (a.kind === "trust-list.sign") counts.trustListIssues!++;
          if (a.kind !== "trust-list.sign") event(a.kind, a.detail);
        }
        if (r.warnings.length) counts.rotationWarnings!++;
        for (const w of r.warnings.filter((x) => x.severity === "critical"))
          fail("rotation", `rotate: ${w.kind}: ${w.message}`, `rotation:${w.kind}:${w.due?.toISOString()}`);
      } catch (e) {
        fail("rotation", `rotate failed: ${(e as Error).message}`, `rotation:${iso(clock)}`);
      }
    }
    phaseMs.rotation! += performance.now() - tRotation;
    const tTraffic = performance.now();
    // Wallet traffic at noon: new holders, refreshes in the window, revocations.
    const n = Math.floor(((d + 1) * issuesPerWeek) / 7) - Math.floor((d * issuesPerWeek) / 7);
    for (let i = 0; i < n; i++) if (await issue(++holderSeq)) counts.mdocsIssued!++;
    for (const l of [...live]) {
      if (l.refreshed || l.refreshes >= maxRefreshes || l.validUntil <= clock) continue;
      if (clock < subtractDuration(l.validUntil, policy.mso.refreshWindow)) continue;
      l.refreshed = true;
      if (await issue(l.holder, l)) counts.mdocsRefreshed!++;
    }
    for (const l of live.filter((x) => x.revokeOn === d)) {
      await issuer.revokeCredential({ id: l.id, reason: "holder request", actor: "client:sim-wallet" });
      live.splice(live.indexOf(l), 1);
      counts.mdocsRevoked!++;
    }
    for (let i = live.length - 1; i >= 0; i--) if (live[i]!.validUntil <= clock) live.splice(i, 1);
    phaseMs.traffic! += performance.now() - tTraffic;
    const tChecks = performance.now();
    // Checks at noon, against what the DTS publishes.
    clock = new Date(dayStart.getTime() + 12 * HOUR + 60_000);
    if (changed || d % checkEvery === 0 || !published)
      published = parsePublishedSet(await new DbSource(db.stores).load());
    const set = published;
    if ((set.trustList?.issueId ?? 0) !== prevTrustList) {
      prevTrustList = set.trustList?.issueId ?? 0;
      changed = true;
    }
    await check(set, changed, d);
    phaseMs.checks! += performance.now() - tChecks;
  }

  // 4. The record.
  counts.certificates = await certificates.count();
  counts.liveMdocsAtEnd = live.length;
  counts.failures = failures.length;
  const simulated: Plan = {
    from,
    until,
    policy,
    roots: actual.roots,
    ds: actual.ds,
    ceremonies: actual.ceremonies,
    events: [],
    findings: failures.slice(0, 50).map((f) => ({ severity: "violation", rule: f.kind, at: f.at, message: f.message })),
  };
  const svg = planSvg(simulated, {
    title: `Simulated lifecycle ${iso(from)} .. ${iso(until)} (policy ${policy.version}${adjust ? ", adjusted by the planner" : ""}): ${failures.length} failures`,
  });
  return {
    from,
    until,
    policy,
    adjustments,
    planViolations,
    counts,
    failures,
    events,
    svg,
    elapsedMs: performance.now() - started,
    phaseMs: Object.fromEntries(Object.entries(phaseMs).map(([k, v]) => [k, Math.round(v)])),
  };
}

/** The summary for people. */
export function formatSimulation(r: SimulationResult): string {
  const out: string[] = [];
  out.push(
    `Simulated ${iso(r.from)} .. ${iso(r.until)} (policy ${r.policy.version}) in ${(r.elapsedMs / 1000).toFixed(1)} s`,
  );
  if (r.adjustments.length) {
    out.push("", "The policy breaks an invariant; the planner's nearest consistent policy ran instead:");
    for (const c of r.adjustments) out.push(`  ${c.path}: ${c.from} -> ${c.to}  (${c.why})`);
  }
  if (r.planViolations.length) {
    out.push("", "Planner violations of the policy that ran:");
    for (const v of r.planViolations.slice(0, 5)) out.push(`  ${v}`);
    if (r.planViolations.length > 5) out.push(`  ... ${r.planViolations.length - 5} more`);
  }
  const c = r.counts;
  out.push(
    "",
    `Ceremonies   ${c.rootVisits} root-room visits (${c.rekeys} re-keys, ${c.linkCertificates} link certificates), ${c.skippedCrlOnlyVisits} CRL-only visits skipped by the cadence`,
    `Keys         ${c.dsKeys} DS keys, ${c.tslSigners} trust-list signers; ${c.dsActivated} activated, ${c.dsRetired} retired, ${c.dsKeysDestroyed} destroyed`,
    `Certificates ${c.certificates} in the database; ${c.crls} CRLs, ${c.arls} ARLs, ${c.trustListIssues} trust-list issues`,
    `mdocs        ${c.mdocsIssued} issued, ${c.mdocsRefreshed} refreshed, ${c.mdocsRevoked} revoked, ${c.liveMdocsAtEnd} live at the end`,
    `Checks       ${c.verifications} verifications on ${c.checkDays} check days; ${c.revokedDsRejected} rejections of a revoked DS's mdocs; ${c.rotationRuns} rotation runs, ${c.rotationWarnings} with warnings`,
    `Time         ${Object.entries(r.phaseMs)
      .map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`)
      .join(", ")}`,
    `Failures     ${r.failures.length}`,
  );
  for (const f of r.failures.slice(0, 20)) out.push(`  ${iso(f.at)} ${f.kind}: ${f.message}`);
  if (r.failures.length > 20) out.push(`  ... ${r.failures.length - 20} more`);
  return `${out.join("\n")}\n`;
}
