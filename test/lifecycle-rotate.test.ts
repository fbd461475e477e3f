// The rotation job on real SoftHSM keys and PostgreSQL, on an injected clock: idempotent and
// exclusive across hosts, dry run, DS activation/retirement, destruction with confirmation,
// trust-list re-signing, ceremony warnings with exit codes and metrics, the croner scheduler.
import { AuditLog, type Database, openDatabase } from "@iaca/db";
import { KeyStore } from "@iaca/hsm";
import { runRotation, startRotationScheduler } from "@iaca/lifecycle";
import { dsInstall, dsKeygen, dsStop, type Room, rootCrl, rootInit, rootSignCsr } from "@iaca/pki";
import { addDuration, DEFAULT_POLICY, type Policy } from "@iaca/policy";
import { signerInstall, signerKeygen } from "@iaca/trust";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FreshDatabase, freshDatabase } from "./support/db.ts";
import { createSoftHsm, type SoftHsm } from "./support/softhsm.ts";

const policy: Policy = { ...DEFAULT_POLICY, ds: { ...DEFAULT_POLICY.ds, rotationInterval: "P59D" } };
const T0 = new Date("2026-04-01T00:00:00Z");
const T1 = addDuration(T0, "P59D"); // DS #2 activates
let hsm: SoftHsm;
let fresh: FreshDatabase;
let db: Database;
let audit: AuditLog;
let root: KeyStore;
let ds: KeyStore;
const serials: string[] = [];
const keyUris: string[] = [];

beforeAll(async () => {
  hsm = createSoftHsm();
  fresh = await freshDatabase();
  db = fresh.db;
  audit = new AuditLog(db);
  root = await KeyStore.open({ module: hsm.module, token: "iaca-root", pin: "iaca-root-pin", audit, sessions: 2 });
  ds = await KeyStore.open({ module: hsm.module, token: "iaca-ds", pin: "iaca-ds-pin", audit, sessions: 2 });
  const room = (k: KeyStore): Room => ({ policy, db, hsm: k, audit, actors: ["op:a", "op:b"], now: () => T0 });
  const r = await rootInit(room(root), { at: T0 });
  for (const nb of [T0, T1]) {
    const k = await dsKeygen(room(ds));
    const s = await rootSignCsr(room(root), k.csr, { notBefore: nb });
    await dsInstall(room(ds), s.cert.der, [r.cert.der]);
    serials.push(s.serial);
    keyUris.push(k.keyUri);
  }
  const t = await signerKeygen({ db, hsm: ds, policy, audit, actor: "op:a" });
  const ts = await rootSignCsr(room(root), t.csr, { profile: "tsl-signer", notBefore: T0 });
  await signerInstall({ db, hsm: ds, policy, audit, actor: "op:a", data: ts.cert.der });
  await rootCrl(room(root), "crl");
  await rootCrl(room(root), "arl");
});

afterAll(async () => {
  root?.close();
  ds?.close();
  await fresh?.drop();
  hsm?.cleanup();
});

const at = (d: Date) => () => d;
const done = (r: Awaited<ReturnType<typeof runRotation>>, kind: string) =>
  r.actions.filter((a) => a.kind === kind && a.status === "done");

describe("iaca rotate", () => {
  it("lifecycle.rotate.exclusive: two hosts at once: each step happens once (advisory lock + idempotent steps)", async () => {
    const other = await openDatabase({ url: fresh.url });
    try {
      const now = at(new Date(T0.getTime() + 3_600_000));
      const [a, b] = await Promise.all([
        runRotation({ db, policy, audit, hsm: ds, now }),
        runRotation({ db: other, policy, audit: new AuditLog(other), hsm: ds, now }),
      ]);
      expect([...done(a, "ds.activate"), ...done(b, "ds.activate")].map((x) => x.target)).toEqual([serials[0]]);
      expect([...done(a, "trust-list.sign"), ...done(b, "trust-list.sign")]).toHaveLength(1);
      const again = await runRotation({ db, policy, audit, hsm: ds, now });
      expect(again.actions).toEqual([]);
    } finally {
      await other.close();
    }
  });

  it("lifecycle.ds.activate: --dry-run reports the hand-over without doing it; the real run activates and retires", async () => {
    const now = at(new Date(T1.getTime() + 300_000));
    const before = await db.prisma.auditEvent.count();
    const dry = await runRotation({ db, policy, audit, hsm: ds, now }, { dryRun: true });
    expect(dry.actions.map((a) => `${a.kind}:${a.status}`)).toEqual(
      expect.arrayContaining(["ds.activate:planned", "ds.retire:planned"]),
    );
    expect(await db.prisma.auditEvent.count()).toBe(before);
    const real = await runRotation({ db, policy, audit, hsm: ds, now });
    expect(done(real, "ds.activate").map((a) => a.target)).toEqual([serials[1]]);
    expect(done(real, "ds.retire").map((a) => a.target)).toEqual([serials[0]]);
    const retired = await db.prisma.pkiCertificate.findUniqueOrThrow({ where: { serial: serials[0]! } });
    expect(retired.retiredAt?.toISOString()).toBe(T1.toISOString());
    expect((await runRotation({ db, policy, audit, hsm: ds, now })).actions).toEqual([]);
  });

  it("lifecycle.ds.destroy: a retired key is destroyed after notAfter + destroyGrace, waiting for an operator when policy says so", async () => {
    const ds1 = await db.prisma.pkiCertificate.findUniqueOrThrow({ where: { serial: serials[0]! } });
    const early = at(addDuration(ds1.notAfter, "P29D"));
    expect(done(await runRotation({ db, policy, audit, hsm: ds, now: early }), "ds.destroy")).toEqual([]);
    const now = at(addDuration(ds1.notAfter, "P31D"));
    const strict: Policy = { ...policy, ds: { ...policy.ds, destroyConfirm: true } };
    const waiting = await runRotation({ db, policy: strict, audit, hsm: ds, now });
    expect(waiting.actions.find((a) => a.kind === "ds.destroy")?.status).toBe("awaiting-confirmation");
    expect(waiting.warnings.map((w) => w.kind)).toContain("ds.destroy-confirmation");
    expect((await ds.listKeys()).map((k) => k.label)).toContain(keyUris[0]!.match(/object=([^;]+)/)![1]);
    const confirmed = await runRotation(
      { db, policy: strict, audit, hsm: ds, now, actor: "op:alice" },
      { confirmDestroy: true },
    );
    expect(done(confirmed, "ds.destroy").map((a) => a.target)).toEqual([keyUris[0]]);
    expect((await ds.listKeys()).map((k) => k.label)).not.toContain(keyUris[0]!.match(/object=([^;]+)/)![1]);
    const key = await db.prisma.pkiKey.findUniqueOrThrow({ where: { uri: keyUris[0]! } });
    expect(key.destroyedAt).not.toBeNull();
    const ev = await db.prisma.auditEvent.findFirstOrThrow({ where: { action: "ds.key.destroy" } });
    expect(ev.clause).toBe("6.2.10");
    expect(ev.actor).toBe("op:alice");
  });

  it("lifecycle.ceremony.reminder: warns (exit code, metric) when the next DS is not installed renewalLead ahead and before the root re-key", async () => {
    const ds2 = await db.prisma.pkiCertificate.findUniqueOrThrow({ where: { serial: serials[1]! } });
    const now = at(new Date(ds2.notAfter.getTime() - 40 * 86_400_000)); // 10 days before the usage period ends
    const r = await runRotation({ db, policy, audit, hsm: ds, now }, { dryRun: true });
    const kinds = r.warnings.map((w) => w.kind);
    expect(kinds).toContain("ds.renewal");
    expect(r.warnings.find((w) => w.kind === "ds.renewal")?.severity).toBe("warning");
    expect(r.exitCode).toBeGreaterThanOrEqual(2); // 3 here: the CRL of day 0 (nextUpdate P100D) is stale too
    const rekey = await runRotation(
      { db, policy, audit, hsm: ds, now: at(addDuration(T0, "P4Y10M15D")), trustListSigner: false },
      { dryRun: true },
    );
    expect(rekey.warnings.map((w) => w.kind)).toContain("root.rekey");
    const { rotationMetrics } = await import("@iaca/lifecycle");
    expect(rotationMetrics(r)).toMatch(/^iaca_rotation_warning\{kind="ds.renewal"\} 1$/m);
    expect(rotationMetrics(r)).toMatch(/^iaca_rotation_status 3$/m);
  });

  it("lifecycle.crl.fresh: warns warnBefore ahead of the CRL nextUpdate and is critical (exit 3) once it passed", async () => {
    const crl = await db.prisma.pkiCrl.findFirstOrThrow({ where: { kind: "crl" }, orderBy: { number: "desc" } });
    const soon = await runRotation(
      { db, policy, audit, now: at(new Date(crl.nextUpdate.getTime() - 86_400_000)), trustListSigner: false },
      { dryRun: true },
    );
    expect(soon.warnings.find((w) => w.kind === "crl.next-update")?.severity).toBe("warning");
    const late = await runRotation(
      { db, policy, audit, now: at(new Date(crl.nextUpdate.getTime() + 1000)), trustListSigner: false },
      { dryRun: true },
    );
    expect(late.warnings.find((w) => w.kind === "crl.next-update")?.severity).toBe("critical");
    expect(late.exitCode).toBe(3);
  });

  it("lifecycle.rotate.exclusive: the croner scheduler runs the job in-process and keeps the last result's metrics", async () => {
    const s = startRotationScheduler({
      db,
      policy,
      audit,
      hsm: ds,
      now: at(new Date(T1.getTime() + 600_000)),
      pattern: "0 0 0 1 1 *",
      runNow: false,
    });
    try {
      expect(s.nextRun()).toBeInstanceOf(Date);
      const r = await s.runOnce();
      expect(r?.actions).toEqual([]);
      expect(s.metrics()).toContain("iaca_rotation_last_run_timestamp_seconds");
    } finally {
      s.stop();
    }
  });

  it("lifecycle.trust-list.resign: a new CRL changes the published set: the next run signs one new trust-list issue", async () => {
    const t = new Date(T1.getTime() + 86_400_000);
    const room = { policy, db, hsm: root, audit, actors: ["op:a", "op:b"], now: at(t) };
    await rootCrl(room, "crl");
    await rootCrl(room, "arl");
    const issues = await db.prisma.dtsTrustList.count();
    const r = await runRotation({ db, policy, audit, hsm: ds, now: at(new Date(t.getTime() + 60_000)) });
    expect(done(r, "trust-list.sign")).toHaveLength(1);
    expect(await db.prisma.dtsTrustList.count()).toBe(issues + 1);
    const again = await runRotation({ db, policy, audit, hsm: ds, now: at(new Date(t.getTime() + 120_000)) });
    expect(done(again, "trust-list.sign")).toEqual([]);
  });

  it("lifecycle.ds.usage-end: with no successor, the key was retired exactly at the end of its usage period", async () => {
    // DS #2 never got a successor: a run after its usage period (the destruction test's) retired it
    const ds2 = await db.prisma.pkiCertificate.findUniqueOrThrow({ where: { serial: serials[1]! } });
    const end = addDuration(ds2.notAfter, { years: 0, months: 0, days: -30, seconds: 0 });
    expect(ds2.retiredAt?.toISOString()).toBe(end.toISOString());
    const ev = await db.prisma.auditEvent.findFirstOrThrow({
      where: { action: "ds.retire", targets: { has: serials[1]! } },
    });
    expect(ev.details).toMatchObject({ why: "usage-end", retiredAt: end.toISOString() });
    const r = await runRotation(
      { db, policy, audit, hsm: ds, now: at(new Date(end.getTime() + 86_400_000)) },
      { dryRun: true },
    );
    expect(r.warnings.map((w) => w.kind)).toContain("ds.none-usable");
    expect(r.exitCode).toBe(3);
  });

  it("pki.compromise.no-further-use: a DS stopped before its activation never takes over; its retirement says why", async () => {
    const ds2 = await db.prisma.pkiCertificate.findUniqueOrThrow({ where: { serial: serials[1]! } });
    const late = addDuration(ds2.notAfter, "P2D");
    const activates = addDuration(late, "P1D");
    const room = (k: KeyStore): Room => ({ policy, db, hsm: k, audit, actors: ["op:a", "op:b"], now: () => late });
    const k = await dsKeygen(room(ds));
    const s = await rootSignCsr(room(root), k.csr, { notBefore: activates });
    await dsInstall(room(ds), s.cert.der, [
      new Uint8Array((await db.prisma.pkiCertificate.findFirstOrThrow({ where: { kind: "iaca" } })).der),
    ]);
    await dsStop(room(ds), s.serial, "CSR handling irregularity");
    const r = await runRotation({ db, policy, audit, hsm: ds, now: at(new Date(activates.getTime() + 300_000)) });
    expect(done(r, "ds.activate")).toEqual([]);
    expect(done(r, "ds.retire").map((a) => [a.target, a.detail])).toEqual([
      [s.serial, expect.stringContaining("(stopped ")],
    ]);
    expect(r.warnings.map((w) => w.kind)).toContain("ds.none-usable");
  });
});
