// The simulated clock behind `iaca simulate` (see simulate.ts for the entry point and the result).
// One Simulation holds the state of a run: the schedule of root-room visits, the two rooms, the
// issuer, the live mdocs and the record of what happened; each simulated day is a visit (if
// planned), the compromise drill (once), the rotation job, wallet traffic and the verifiers' checks.
import { randomUUID } from "node:crypto";
import { AuditLog, type Database, type SignerKind } from "@iaca/db";
import { IssuerService, PkiDsSource } from "@iaca/issuance";
import { verifyMdoc } from "@iaca/mdoc";
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
  rootCrls,
  rootInit,
  rootRekey,
  rootRevoke,
  rootSignCsr,
  usagePeriod,
} from "@iaca/pki";
import { addDuration, type Policy, statusListUrl, subtractDuration } from "@iaca/policy";
import {
  DbSource,
  freshness,
  type PublishedSet,
  parsePublishedSet,
  publishStatusLists,
  type SignatureCache,
  signerInstall,
  signerKeygen,
  strictCrlStatus,
  verifyTrustList,
} from "@iaca/trust";
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from "jose";
import { runRotation } from "./rotate.ts";
import type { SimulationEvent, SimulationFailure, SimulationOptions, SimulationResult } from "./simulate.ts";
import { syntheticHolder } from "./synthetic-holder.ts";

const DAY = 86_400_000;
const HOUR = 3_600_000;
export const iso = (d: Date) => d.toISOString().slice(0, 10);
const days = (a: Date, b: Date) => (b.getTime() - a.getTime()) / DAY;

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

/** What the run follows: the policy as given or the planner's nearest consistent one, and the visits. */
export interface SimulationSchedule {
  policy: Policy;
  adjusted: boolean;
  adjustments: PolicyChange[];
  plan: Plan;
  planViolations: string[];
  visits: PlannedCeremony[];
  skippedVisits: number;
}

export function simulationSchedule(o: SimulationOptions, from: Date, months: number): SimulationSchedule {
  const until = addDuration(from, `P${months}M`);
  const years = Math.ceil(months / 12);
  const visitEvery = o.visitEvery ?? "P3M";
  const first = plan(o.policy, from, years, { visitEvery });
  const adjusted = o.adjust !== false && !!first.proposal;
  const policy = adjusted ? first.proposal!.policy : o.policy;
  const p = adjusted ? plan(policy, from, years, { visitEvery, propose: false }) : first;
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
  return {
    policy,
    adjusted,
    adjustments: adjusted ? first.proposal!.changes : [],
    plan: p,
    planViolations: p.findings.filter((f) => f.severity === "violation").map((f) => `${f.rule}: ${f.message}`),
    visits,
    skippedVisits,
  };
}

function emptyCounts(skippedVisits: number): Record<string, number> {
  const names = [
    "days",
    "rootVisits",
    "skippedCrlOnlyVisits",
    "rekeys",
    "linkCertificates",
    "dsKeys",
    "dsCertificates",
    "tslSigners",
    "statusSigners",
    "statusListsSigned",
    "revokedMdocsRejected",
    "crls",
    "arls",
    "mdocsIssued",
    "mdocsRefreshed",
    "mdocsRevoked",
    "verifications",
    "checkDays",
    "revokedDsRejected",
    "strictCrlChecks",
    "trustListIssues",
    "dsActivated",
    "dsRetired",
    "dsKeysDestroyed",
    "rotationRuns",
    "rotationWarnings",
  ];
  return { ...Object.fromEntries(names.map((n) => [n, 0])), skippedCrlOnlyVisits: skippedVisits };
}

type Device = { jwk: { kty: "EC"; crv: string; x: string; y: string }; thumbprint: string };

export class Simulation {
  readonly o: SimulationOptions;
  readonly s: SimulationSchedule;
  readonly policy: Policy;
  readonly from: Date;
  readonly until: Date;
  readonly visitEvery: string;
  readonly log: (line: string) => void;
  readonly started = performance.now();
  clock: Date;
  readonly now = () => this.clock;
  readonly db: Database;
  readonly audit: AuditLog;
  readonly actors = ["op:sim-alice", "op:sim-bob"];
  readonly rootRoom: Room;
  readonly opsRoom: Room;
  readonly source: PkiDsSource;
  readonly issuer: IssuerService;
  devices: Device[] = [];
  readonly failures: SimulationFailure[] = [];
  readonly events: SimulationEvent[] = [];
  readonly counts: Record<string, number>;
  private readonly seen = new Set<string>();
  private readonly signedDs = new Set<number>();
  readonly actual = {
    roots: [] as { gen: number; notBefore: Date; notAfter: Date }[],
    ds: [] as PlannedDs[],
    ceremonies: [] as PlannedCeremony[],
  };
  readonly live: Live[] = [];
  private readonly mustFail: Live[] = [];
  /** mdocs revoked through the issuer: their status list entry must make verifiers refuse them. */
  private readonly revokedMdocs: Live[] = [];
  private holderSeq = 0;
  private issuedSeq = 0;
  private prevTrustList = 0;
  private published: PublishedSet | undefined;
  /** CRL signature results of the strict daily check, by list and key. */
  private readonly crlSignatures: SignatureCache = new Map();
  private readonly rotationCache = {};
  private nextDue: Date | undefined;
  private lastRotation = -7;
  readonly phaseMs: Record<string, number> = { ceremonies: 0, rotation: 0, traffic: 0, status: 0, checks: 0 };

  constructor(o: SimulationOptions, from: Date, months: number) {
    this.o = o;
    this.from = from;
    this.until = addDuration(from, `P${months}M`);
    this.visitEvery = o.visitEvery ?? "P3M";
    this.log = o.log ?? (() => undefined);
    this.s = simulationSchedule(o, from, months);
    this.policy = this.s.policy;
    for (const c of this.s.adjustments) this.log(`policy adjusted: ${c.path} ${c.from} -> ${c.to} (${c.why})`);
    this.clock = from;
    this.db = o.db;
    this.audit = new AuditLog(o.db);
    const room = { policy: this.policy, db: o.db, audit: this.audit, actors: this.actors, now: this.now };
    this.rootRoom = { ...room, hsm: o.rootHsm };
    this.opsRoom = { ...room, hsm: o.dsHsm };
    this.source = new PkiDsSource(o.db.stores.certificates, 0);
    this.issuer = new IssuerService({
      db: o.db,
      keyStore: o.dsHsm,
      policy: this.policy,
      ds: this.source,
      audit: this.audit,
      now: this.now,
      actor: "svc:issuer",
    });
    this.counts = emptyCounts(this.s.skippedVisits);
  }

  get certificates() {
    return this.db.stores.certificates;
  }

  /** The issuer's secret keys and four wallet device keys (holders share them round-robin). */
  async prepare(): Promise<void> {
    await IssuerService.ensureSecretKeys(this.o.dsHsm, this.audit);
    this.devices = await Promise.all(
      Array.from({ length: 4 }, async () => {
        const { publicKey } = await generateKeyPair("ES256", { extractable: true });
        const jwk = (await exportJWK(publicKey)) as Device["jwk"];
        return { jwk, thumbprint: await calculateJwkThumbprint(jwk) };
      }),
    );
  }

  fail(kind: SimulationFailure["kind"], message: string, key = `${kind}:${message}`): void {
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.failures.push({ at: this.clock, kind, message });
    this.log(`FAIL ${iso(this.clock)} ${kind}: ${message}`);
  }

  event(kind: string, text: string): void {
    this.events.push({ at: this.clock, kind, text });
    this.log(`${iso(this.clock)} ${kind.padEnd(16)} ${text}`);
  }

  stopped(): boolean {
    return this.o.maxFailures !== undefined && this.failures.length >= this.o.maxFailures;
  }

  /** A certificate this run just stored. */
  private async stored(serial: string) {
    const row = await this.certificates.get(serial);
    if (!row) throw new Error(`certificate ${serial} was not stored`);
    return row;
  }

  private async rootsDer() {
    return (await this.certificates.ofKinds(["iaca"])).map((r) => new Uint8Array(r.der));
  }

  // ------------------------------------------------------------------ the root room

  /**
   * Trust-list and status-list signer certificates (issued with the DS validity) must cover the
   * time to the next root visit plus renewalLead; when one certificate cannot, the next is
   * pre-signed with a later notBefore, as DS certificates are.
   */
  private async issueSigners(nextVisit: Date | undefined) {
    await this.issueSigner(nextVisit, "tsl-signer");
    await this.issueSigner(nextVisit, "status-signer");
  }

  private async issueSigner(nextVisit: Date | undefined, role: SignerKind) {
    const { policy, db, audit } = this;
    const horizon = addDuration(nextVisit ?? this.until, policy.ds.renewalLead);
    const ops = { db, hsm: this.o.dsHsm, policy, audit, actor: this.actors[0]!, role };
    for (let guard = 0; guard < 6; guard++) {
      const cur = await this.certificates.lastExpiringDtsSigner(role);
      if (cur && cur.notAfter > horizon) return;
      const nb = cur && cur.notAfter > this.clock ? subtractDuration(cur.notAfter, policy.ds.renewalLead) : this.clock;
      const k = await signerKeygen(ops);
      const s = await rootSignCsr(this.rootRoom, k.csr, {
        profile: role,
        notBefore: new Date(Math.max(nb.getTime(), this.clock.getTime())),
      });
      await signerInstall({ ...ops, data: s.cert.der });
      this.counts[role === "tsl-signer" ? "tslSigners" : "statusSigners"]!++;
      const row = await this.stored(s.serial);
      if (row.notAfter <= (cur?.notAfter ?? this.clock)) return; // capped by the root: nothing more to gain
    }
  }

  async signDs(d: PlannedDs, notBefore: Date, why: string) {
    const k = await dsKeygen(this.opsRoom, { seq: d.seq });
    const s = await rootSignCsr(this.rootRoom, k.csr, { notBefore, seq: d.seq });
    const inst = await dsInstall(this.opsRoom, s.cert.der, await this.rootsDer());
    const row = await this.stored(s.serial);
    const u = usagePeriod(row, this.policy);
    this.counts.dsKeys!++;
    this.counts.dsCertificates!++;
    this.actual.ds.push({
      ...d,
      root: row.rootGen || this.actual.roots.length,
      notBefore: row.notBefore,
      notAfter: row.notAfter,
      usageEnd: u.end,
      signedAt: this.clock,
      deadline: d.deadline,
      capped: false,
    });
    this.event(
      "ds.sign",
      `DS #${d.seq} ${s.serial.slice(0, 12)} active ${iso(inst.activatesAt)}..${iso(u.end)} (${why})`,
    );
    return s.serial;
  }

  /** Root init or re-key, as the visit says (routine visits only sign and re-issue lists). */
  private async rootStep(c: PlannedCeremony) {
    if (c.kind === "init") {
      const r = await rootInit(this.rootRoom, { at: this.clock });
      const cert = await this.stored(r.serial);
      this.actual.roots.push({ gen: 1, notBefore: cert.notBefore, notAfter: cert.notAfter });
      this.event("root.init", `root #1 valid to ${iso(cert.notAfter)}`);
    } else if (c.kind === "rekey") {
      const r = await rootRekey(this.rootRoom, { at: this.clock });
      const row = await this.certificates.rootOfGeneration(r.gen);
      if (!row) throw new Error(`root generation ${r.gen} was not stored`);
      this.actual.roots.push({ gen: r.gen, notBefore: row.notBefore, notAfter: row.notAfter });
      this.counts.rekeys!++;
      if (this.o.linkCertificates === false) {
        await this.certificates.forgetLinkCertificates();
        this.event("root.rekey", `root #${r.gen} valid to ${iso(row.notAfter)}; link certificates NOT published`);
      } else {
        this.counts.linkCertificates! += 2;
        this.event("root.rekey", `root #${r.gen} valid to ${iso(row.notAfter)}; link certificates old<->new published`);
      }
    }
  }

  async ceremony(i: number) {
    const c = this.s.visits[i]!;
    const next = this.s.visits[i + 1]?.at;
    this.counts.rootVisits!++;
    await this.rootStep(c);
    // Sign what the plan needs before the next visit (pre-signed certificates carry future notBefore).
    const signs: number[] = [];
    for (const d of this.s.plan.ds) {
      if (this.signedDs.has(d.seq) || !d.signedAt || d.notBefore >= this.until) continue;
      if (next && d.signedAt >= next) continue;
      if (d.root > this.actual.roots.length) continue;
      this.signedDs.add(d.seq);
      signs.push(d.seq);
      await this.signDs(d, new Date(Math.max(d.notBefore.getTime(), this.clock.getTime())), `root visit ${c.kind}`);
    }
    await this.issueSigners(next);
    const crls = await rootCrls(this.rootRoom, "crl");
    this.counts.arls! += (await rootCrls(this.rootRoom, "arl")).length;
    this.counts.crls! += crls.length;
    const crl = crls.at(-1)!;
    this.actual.ceremonies.push({
      ...c,
      at: this.clock,
      signs,
      nextUpdate: crl.nextUpdate,
      lists: crls.map((x) => x.gen),
    });
    this.event("root.visit", `${c.kind}: ${c.reason}; CRL/ARL nextUpdate ${iso(crl.nextUpdate)}`);
  }

  /** Half-way: the active DS is revoked for key compromise, an emergency DS signed, CRL/ARL re-issued. */
  async drill(dayStart: Date): Promise<boolean> {
    const cur = await this.source.signingKeys();
    const clock = this.clock;
    const active = cur.find((k) => {
      const u = usagePeriod(k.record, this.policy);
      return u.start <= clock && clock <= u.end && !(k.record.retiredAt && k.record.retiredAt <= clock);
    });
    if (!active) return false;
    this.clock = new Date(dayStart.getTime() + 6 * HOUR);
    const serial = active.record.serial;
    await rootRevoke(this.rootRoom, serial, "keyCompromise");
    this.event("ds.revoke", `compromise drill: DS ${serial.slice(0, 12)} revoked`);
    for (const l of this.live.filter((x) => x.dsSerial === serial)) this.mustFail.push(l);
    for (let i = this.live.length - 1; i >= 0; i--) if (this.live[i]!.dsSerial === serial) this.live.splice(i, 1);
    const p = this.s.plan;
    const planned =
      p.ds.find((x) => x.notBefore <= this.clock && (!x.retiredAt || x.retiredAt > this.clock)) ?? p.ds[0]!;
    await this.signDs({ ...planned, seq: 900 + planned.seq }, this.clock, "emergency DS ceremony after compromise");
    this.counts.crls! += (await rootCrls(this.rootRoom, "crl")).length;
    this.counts.arls! += (await rootCrls(this.rootRoom, "arl")).length;
    this.counts.rootVisits!++;
    return true;
  }

  // ------------------------------------------------------------------ the rotation job

  /**
   * The rotation job (cron) at 00:05. Runs where nothing can be due (no ceremony since the last
   * run, before its nextDue, within a week) are skipped: they would find nothing to do.
   */
  async rotation(d: number, dayStart: Date, changed: boolean): Promise<boolean> {
    if (!changed && this.nextDue && addDuration(dayStart, "P1D") <= this.nextDue && d - this.lastRotation < 7)
      return false;
    this.lastRotation = d;
    this.clock = new Date(Math.max(this.clock.getTime(), dayStart.getTime() + 5 * 60_000));
    let acted = false;
    try {
      const r = await runRotation({
        db: this.db,
        policy: this.policy,
        audit: this.audit,
        hsm: this.o.dsHsm,
        now: this.now,
        actor: "svc:rotate",
        cache: this.rotationCache,
      });
      this.nextDue = r.nextDue;
      this.counts.rotationRuns!++;
      for (const a of r.actions.filter((x) => x.status === "done")) {
        acted = true;
        const counter = { "ds.activate": "dsActivated", "ds.retire": "dsRetired", "ds.destroy": "dsKeysDestroyed" }[
          a.kind as string
        ];
        if (counter) this.counts[counter]!++;
        if (a.kind === "trust-list.sign") this.counts.trustListIssues!++;
        else this.event(a.kind, a.detail);
      }
      if (r.warnings.length) this.counts.rotationWarnings!++;
      for (const w of r.warnings.filter((x) => x.severity === "critical"))
        this.fail("rotation", `rotate: ${w.kind}: ${w.message}`, `rotation:${w.kind}:${w.due?.toISOString()}`);
    } catch (e) {
      this.fail("rotation", `rotate failed: ${(e as Error).message}`, `rotation:${iso(this.clock)}`);
    }
    return acted;
  }

  // ------------------------------------------------------------------ wallets

  async issue(holder: number, refreshOf?: Live) {
    const dk = this.devices[holder % this.devices.length]!;
    try {
      const r = await this.issuer.issue({
        requestId: randomUUID(),
        clientId: "sim-wallet",
        profile: this.policy.profile,
        holder: refreshOf ? {} : syntheticHolder(holder),
        devices: [dk],
        // the holder's device key signed the mdoc being refreshed (the RA checks the holder proof)
        ...(refreshOf ? { refresh: { issuerSigned: refreshOf.issuerSigned, holderKeyThumbprint: dk.thumbprint } } : {}),
      });
      const c = r.credentials[0]!;
      await this.checkUsage(r.dsCertificateSerial, new Date(c.validFrom));
      const l: Live = {
        id: c.id,
        holder,
        issuerSigned: c.issuerSigned,
        validUntil: new Date(c.validUntil),
        dsSerial: r.dsCertificateSerial,
        refreshes: refreshOf ? refreshOf.refreshes + 1 : 0,
        refreshed: false,
      };
      this.issuedSeq++;
      const revokeEvery = this.o.revokeEvery ?? 7;
      if (revokeEvery > 0 && this.issuedSeq % revokeEvery === 0) l.revokeOn = this.counts.days! + 1;
      this.live.push(l);
      return l;
    } catch (e) {
      const what = `${(e as { code?: string }).code ?? "error"}: ${(e as Error).message}`;
      this.fail("issuance", `${refreshOf ? "refresh" : "issue"} refused: ${what}`, `issuance:${iso(this.clock)}`);
      return undefined;
    }
  }

  /** The MSO was signed inside its DS key's usage period, by the key active at that instant. */
  private async checkUsage(serial: string, signed: Date) {
    const policy = this.policy;
    const rows = await this.certificates.installedDocumentSigners();
    const row = rows.find((r) => r.serial === serial);
    if (!row) return this.fail("usage-period", `MSO signed by unknown DS ${serial}`);
    const u = usagePeriod(row, policy);
    if (signed < u.start || signed > u.end || (row.retiredAt && row.retiredAt <= signed))
      this.fail(
        "usage-period",
        `MSO signed ${signed.toISOString()} by DS ${serial} outside its usage period ${u.start.toISOString()}..${u.end.toISOString()}${row.retiredAt ? ` (retired ${row.retiredAt.toISOString()})` : ""}`,
      );
    const active = rows
      .filter((r) => !r.revokedAt && usagePeriod(r, policy).start <= signed && !(r.retiredAt && r.retiredAt <= signed))
      .sort((a, b) => usagePeriod(b, policy).start.getTime() - usagePeriod(a, policy).start.getTime())[0];
    if (active && active.serial !== serial)
      this.fail(
        "usage-period",
        `MSO signed ${signed.toISOString()} by DS ${serial}, but DS ${active.serial} was the active key`,
      );
  }

  /** Wallet traffic at noon: new holders, refreshes in the window, revocations, expiries. */
  async traffic(d: number): Promise<void> {
    const issuesPerWeek = this.o.issuesPerWeek ?? 3;
    const maxRefreshes = this.o.refreshes ?? 2;
    const n = Math.floor(((d + 1) * issuesPerWeek) / 7) - Math.floor((d * issuesPerWeek) / 7);
    for (let i = 0; i < n; i++) if (await this.issue(++this.holderSeq)) this.counts.mdocsIssued!++;
    for (const l of [...this.live]) {
      if (l.refreshed || l.refreshes >= maxRefreshes || l.validUntil <= this.clock) continue;
      if (this.clock < subtractDuration(l.validUntil, this.policy.mso.refreshWindow)) continue;
      l.refreshed = true;
      if (await this.issue(l.holder, l)) this.counts.mdocsRefreshed!++;
    }
    for (const l of this.live.filter((x) => x.revokeOn === d)) {
      await this.issuer.revokeCredential({ id: l.id, reason: "holder request", actor: "client:sim-wallet" });
      this.live.splice(this.live.indexOf(l), 1);
      this.revokedMdocs.push(l);
      this.counts.mdocsRevoked!++;
    }
    for (let i = this.live.length - 1; i >= 0; i--) if (this.live[i]!.validUntil <= this.clock) this.live.splice(i, 1);
  }

  // ------------------------------------------------------------------ verifiers

  /** Checks at noon, against what the DTS publishes (re-read on change and every checkEvery days). */
  async checks(d: number, dayStart: Date, changed: boolean): Promise<void> {
    const checkEvery = this.o.checkEvery ?? 7;
    this.clock = new Date(dayStart.getTime() + 12 * HOUR + 60_000);
    if (changed || d % checkEvery === 0 || !this.published)
      this.published = parsePublishedSet(await new DbSource(this.db.stores).load());
    const set = this.published;
    if ((set.trustList?.issueId ?? 0) !== this.prevTrustList) {
      this.prevTrustList = set.trustList?.issueId ?? 0;
      changed = true;
    }
    this.checkLists(set);
    await this.checkStrictCrl(set);
    if (!changed && d % checkEvery !== 0) return;
    this.counts.checkDays!++;
    const roots = set.certificates.filter((c) => c.kind === "iaca" && this.clock <= c.info.notAfter);
    await this.checkTrustList(set, roots);
    await this.verifyLive(set, roots);
    await this.verifyRevoked(set, roots);
    await this.verifyRevokedMdocs(set, roots);
  }

  private checkLists(set: PublishedSet): void {
    for (const [name, f] of [
      ["CRL", freshness(set.crl, this.policy, this.clock)],
      ["ARL", freshness(set.arl, this.policy, this.clock)],
    ] as const)
      if (f.state === "expired" || f.state === "missing")
        this.fail(
          "crl-stale",
          `published ${name} ${f.state}${f.nextUpdate ? ` (nextUpdate ${iso(f.nextUpdate)})` : ""}: no root ceremony re-issued it in time (revocation.nextUpdate ${this.policy.revocation.nextUpdate}, root room every ${this.visitEvery})`,
          `crl-stale:${name}:${f.nextUpdate?.toISOString()}`,
        );
  }

  /**
   * Every simulated day, every unexpired DS and trust-list signer certificate as a strict verifier
   * sees it with DTS material only (openssl verify -crl_check): the list at its CRL distribution
   * point, signed by its issuer's key and current, says good, or revoked when it was revoked.
   */
  private async checkStrictCrl(set: PublishedSet): Promise<void> {
    for (const c of set.certificates) {
      if ((c.kind !== "ds" && c.kind !== "trust-list-signer") || c.info.notBefore > this.clock) continue;
      if (c.info.notAfter <= this.clock) continue;
      this.counts.strictCrlChecks!++;
      const r = await strictCrlStatus(set, this.policy, c, this.clock, this.crlSignatures);
      const want = c.revokedAt && c.revokedAt <= this.clock ? "revoked" : "good";
      // a revocation reaches the list at the next root ceremony: until then "good" is expected
      if (r.status === want || (want === "revoked" && r.status === "good")) continue;
      this.fail(
        "crl-strict",
        `${c.kind} ${c.info.serial.slice(0, 12)} (root key ${c.info.aki.slice(0, 8)}): ${r.status}, ${r.reason}`,
        `crl-strict:${c.info.serial}:${r.reason}`,
      );
    }
  }

  private async checkTrustList(set: PublishedSet, roots: PublishedSet["certificates"]): Promise<void> {
    if (!set.trustList) return this.fail("trust-list", "no trust list published", "tl:none");
    try {
      const tl = await verifyTrustList(
        set.trustList.cose,
        roots.map((r) => r.info.der),
        this.clock,
      );
      const listed = new Set(tl.certificates.map((d) => Buffer.from(d).toString("base64")));
      for (const r of roots)
        if (!listed.has(Buffer.from(r.info.der).toString("base64")) && r.info.notBefore <= this.clock)
          this.fail("trust-list", `trust list issue ${tl.issueId} does not list root ${r.info.serial}`);
    } catch (e) {
      const why = `published trust list does not verify: ${(e as Error).message}`;
      this.fail("trust-list", why, `tl:${set.trustList.issueId}`);
    }
  }

  private verifierInput(set: PublishedSet) {
    const tokens = new Map(set.statusLists.map((s) => [statusListUrl(this.policy, s.listNo), s.token]));
    return {
      untrusted: set.certificates.filter((c) => c.kind === "iaca" || c.kind === "link").map((c) => c.info.der),
      crls: set.lists.map((l) => l.info.der),
      at: this.clock,
      // what the DTS serves: each MSO's status list (fail-closed when a list is not published)
      status: {
        fetch: async (uri: string) => {
          const t = tokens.get(uri);
          if (!t) throw new Error(`status list ${uri} is not published`);
          return t;
        },
      },
    };
  }

  /** Every live mdoc verifies for a verifier pinned to any one current root (old roots through links). */
  private async verifyLive(set: PublishedSet, roots: PublishedSet["certificates"]): Promise<void> {
    for (const root of roots)
      for (const l of this.live) {
        if (l.validUntil <= this.clock) continue;
        this.counts.verifications!++;
        const v = await verifyMdoc(l.issuerSigned, { trustAnchors: [root.info.der], ...this.verifierInput(set) });
        if (v.ok) continue;
        const bad = v.checks.filter((x) => x.status === "FAIL").map((x) => `${x.name}: ${x.reason}`);
        this.fail(
          "verify",
          `mdoc ${l.id.slice(0, 8)} (DS ${l.dsSerial.slice(0, 12)}) fails for a verifier pinned to root ${root.info.serial.slice(0, 12)} (${iso(root.info.notBefore)}): ${bad.join("; ")}`,
          `verify:${l.id}:${root.info.serial}`,
        );
      }
  }

  /** mdocs revoked through the RA must be refused by their status list entry (INVALID). */
  private async verifyRevokedMdocs(set: PublishedSet, roots: PublishedSet["certificates"]): Promise<void> {
    for (const l of this.revokedMdocs) {
      if (l.validUntil <= this.clock) continue;
      const v = await verifyMdoc(l.issuerSigned, {
        trustAnchors: roots.map((r) => r.info.der),
        ...this.verifierInput(set),
      });
      this.counts.verifications!++;
      const status = v.checks.find((x) => x.name === "mso.status");
      if (status?.status === "FAIL" && /INVALID/.test(status.reason)) this.counts.revokedMdocsRejected!++;
      else this.fail("status", `revoked mdoc ${l.id.slice(0, 8)}: mso.status ${status?.status} (${status?.reason})`);
    }
    for (let i = this.revokedMdocs.length - 1; i >= 0; i--)
      if (this.revokedMdocs[i]!.validUntil <= this.clock) this.revokedMdocs.splice(i, 1);
  }

  /** The status publisher's pass at the simulated instant (what every issuer replica runs). */
  private async publishStatus(): Promise<void> {
    const r = await publishStatusLists({ db: this.db, policy: this.policy, hsm: this.o.dsHsm, now: () => this.clock });
    this.counts.statusListsSigned! += r.signed.length;
    if (r.noSigner)
      this.fail(
        "status",
        "no status-list signer is valid: status lists cannot be re-signed",
        `status:${iso(this.clock)}`,
      );
  }

  /** mdocs of a revoked DS must be rejected once a CRL lists it. */
  private async verifyRevoked(set: PublishedSet, roots: PublishedSet["certificates"]): Promise<void> {
    for (const l of this.mustFail) {
      if (l.validUntil <= this.clock || !set.lists.some((x) => x.info.revokedSerials.includes(l.dsSerial))) continue;
      const v = await verifyMdoc(l.issuerSigned, {
        trustAnchors: roots.map((r) => r.info.der),
        ...this.verifierInput(set),
      });
      this.counts.verifications!++;
      if (v.ok) this.fail("revocation", `mdoc ${l.id.slice(0, 8)} of revoked DS ${l.dsSerial} still verifies`);
      else this.counts.revokedDsRejected!++;
    }
  }

  // ------------------------------------------------------------------ the days

  private async timed<T>(phase: string, fn: () => Promise<T>): Promise<T> {
    const t = performance.now();
    try {
      return await fn();
    } finally {
      this.phaseMs[phase]! += performance.now() - t;
    }
  }

  async day(d: number, drillDay: number): Promise<void> {
    const dayStart = addDuration(this.from, `P${d}D`);
    this.clock = dayStart;
    this.counts.days!++;
    let changed = false;
    const vi = this.visitOn.get(iso(dayStart));
    if (vi !== undefined) {
      this.clock = new Date(Math.max(this.s.visits[vi]!.at.getTime(), dayStart.getTime()));
      await this.timed("ceremonies", () => this.ceremony(vi));
      changed = true;
    }
    if (d === drillDay && (await this.drill(dayStart))) changed = true;
    if (await this.timed("rotation", () => this.rotation(d, dayStart, changed))) changed = true;
    await this.timed("traffic", () => this.traffic(d));
    await this.timed("status", () => this.publishStatus());
    await this.timed("checks", () => this.checks(d, dayStart, changed));
  }

  private readonly visitOn = new Map<string, number>();

  async run(): Promise<void> {
    for (const [i, v] of this.s.visits.entries()) this.visitOn.set(iso(v.at), i);
    const totalDays = Math.round(days(this.from, this.until));
    const drillDay = this.o.compromiseDrill === false ? -1 : Math.floor(totalDays / 2);
    for (let d = 0; addDuration(this.from, `P${d}D`) < this.until && !this.stopped(); d++) await this.day(d, drillDay);
  }

  /** The record: counts, failures, events and the timeline as it happened. */
  async result(): Promise<SimulationResult> {
    const { from, until, policy, failures, counts } = this;
    counts.certificates = await this.certificates.count();
    counts.liveMdocsAtEnd = this.live.length;
    counts.failures = failures.length;
    const simulated: Plan = {
      from,
      until,
      policy,
      roots: this.actual.roots,
      ds: this.actual.ds,
      ceremonies: this.actual.ceremonies,
      events: [],
      findings: failures
        .slice(0, 50)
        .map((f) => ({ severity: "violation", rule: f.kind, at: f.at, message: f.message })),
    };
    const svg = planSvg(simulated, {
      title: `Simulated lifecycle ${iso(from)} .. ${iso(until)} (policy ${policy.version}${this.s.adjusted ? ", adjusted by the planner" : ""}): ${failures.length} failures`,
    });
    return {
      from,
      until,
      policy,
      adjustments: this.s.adjustments,
      planViolations: this.s.planViolations,
      counts,
      failures,
      events: this.events,
      svg,
      elapsedMs: performance.now() - this.started,
      phaseMs: Object.fromEntries(Object.entries(this.phaseMs).map(([k, v]) => [k, Math.round(v)])),
    };
  }
}
