// Ceremonies on real SoftHSM tokens and real PostgreSQL (one database per room), openssl as the judge.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AuditLog } from "@iaca/db";
import { KeyStore } from "@iaca/hsm";
import { DEFAULT_POLICY } from "@iaca/policy";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FreshDatabase, freshDatabase } from "../../../test/support/db.ts";
import { createSoftHsm, type SoftHsm } from "../../../test/support/softhsm.ts";
import {
  authorize,
  currentSigner,
  dsInstall,
  dsKeygen,
  dsList,
  enrollOperators,
  type OperatorCredential,
  type Room,
  rootCrl,
  rootInit,
  rootRekey,
  rootRevoke,
  rootSignCsr,
  Transcript,
  toPem,
} from "../src/index.ts";

const policy = DEFAULT_POLICY;
const ops: OperatorCredential[] = [
  { id: "alice", secret: "alice-secret-123456" },
  { id: "bob", secret: "bob-secret-1234567" },
];
let hsm: SoftHsm;
let rootDb: FreshDatabase;
let opsDb: FreshDatabase;
let rootRoom: Room;
let opsRoom: Room;
let dir: string;
const f = (n: string) => join(dir, n);
const openssl = (...args: string[]) => spawnSync("openssl", args, { encoding: "utf8" });

async function room(db: FreshDatabase, token: string): Promise<Room> {
  const audit = new AuditLog(db.db);
  const store = await KeyStore.open({ module: hsm.module, token, pin: `${token}-pin`, audit, sessions: 2 });
  return { policy, db: db.db, hsm: store, audit, actors: [] };
}
async function as(r: Room, step: string, creds = ops): Promise<Room> {
  r.actors = await authorize(r.db, policy, step, creds);
  return r;
}

const serials: Record<string, string> = {};

beforeAll(async () => {
  hsm = createSoftHsm(["iaca-root", "iaca-ds"]);
  dir = mkdtempSync(join(tmpdir(), "pki-ceremony-"));
  rootDb = await freshDatabase();
  opsDb = await freshDatabase();
  rootRoom = await room(rootDb, "iaca-root");
  opsRoom = await room(opsDb, "iaca-ds");
  await enrollOperators(rootDb.db, ops);
  await enrollOperators(opsDb.db, ops);

  const t0 = new Date(Date.now() - 3_600_000);
  rootRoom.transcript = new Transcript("root.init", policy);
  const init = await rootInit(await as(rootRoom, "root.init"), { at: t0 });
  writeFileSync(f("transcript.txt"), rootRoom.transcript.render(rootRoom.actors));
  rootRoom.transcript = undefined;
  writeFileSync(f("iaca-old.pem"), init.cert.pem);
  const k1 = await dsKeygen(await as(opsRoom, "ds.keygen"));
  const s1 = await rootSignCsr(await as(rootRoom, "root.sign-csr"), k1.csr, { notBefore: t0 });
  await dsInstall(await as(opsRoom, "ds.install"), s1.cert.der, [init.cert.der], { activatesAt: t0 });
  writeFileSync(f("ds-old.pem"), s1.cert.pem);
  serials.dsOld = s1.serial;

  const rk = await rootRekey(await as(rootRoom, "root.rekey"));
  writeFileSync(f("iaca.pem"), rk.root.pem);
  writeFileSync(f("link-old-to-new.pem"), rk.linkOldToNew.pem);
  writeFileSync(f("link-new-to-old.pem"), rk.linkNewToOld.pem);
  const k2 = await dsKeygen(await as(opsRoom, "ds.keygen"));
  const s2 = await rootSignCsr(await as(rootRoom, "root.sign-csr"), k2.csr);
  await dsInstall(await as(opsRoom, "ds.install"), s2.cert.pem ? Buffer.from(s2.cert.pem) : s2.cert.der, [
    Buffer.from(rk.root.pem),
  ]);
  writeFileSync(f("ds.pem"), s2.cert.pem);
  serials.ds = s2.serial;
  const k3 = await dsKeygen(await as(opsRoom, "ds.keygen"));
  const s3 = await rootSignCsr(await as(rootRoom, "root.sign-csr"), k3.csr);
  writeFileSync(f("ds-revoked.pem"), s3.cert.pem);
  serials.revoked = s3.serial;
  await rootRevoke(await as(rootRoom, "root.revoke"), s3.serial, "keyCompromise");
  const crl = await rootCrl(await as(rootRoom, "root.crl"), "crl");
  const arl = await rootCrl(await as(rootRoom, "root.arl"), "arl");
  writeFileSync(f("crl.der"), crl.crl.der);
  writeFileSync(f("crl.pem"), crl.crl.pem);
  writeFileSync(f("arl.der"), arl.crl.der);
});

afterAll(async () => {
  rootRoom?.hsm.close();
  opsRoom?.hsm.close();
  await rootDb?.drop();
  await opsDb?.drop();
  hsm?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("ceremonies on SoftHSM + PostgreSQL, judged by openssl", () => {
  it("openssl verifies each DS against the root that signed it", () => {
    expect(openssl("verify", "-CAfile", f("iaca.pem"), f("ds.pem")).stdout).toContain("OK");
    expect(openssl("verify", "-CAfile", f("iaca-old.pem"), f("ds-old.pem")).stdout).toContain("OK");
  });

  it("pki.link.on-rekey: old root + old->new link validates a DS signed by the new key", () => {
    const r = openssl("verify", "-CAfile", f("iaca-old.pem"), "-untrusted", f("link-old-to-new.pem"), f("ds.pem"));
    expect(r.status, r.stderr).toBe(0);
    expect(openssl("verify", "-CAfile", f("iaca-old.pem"), f("ds.pem")).status).not.toBe(0);
  });

  it("pki.link.on-rekey: new root + new->old link validates a DS signed by the old key", () => {
    const r = openssl("verify", "-CAfile", f("iaca.pem"), "-untrusted", f("link-new-to-old.pem"), f("ds-old.pem"));
    expect(r.status, r.stderr).toBe(0);
    expect(openssl("verify", "-CAfile", f("iaca.pem"), f("ds-old.pem")).status).not.toBe(0);
  });

  it("pki.link.on-rekey: the re-keyed root keeps a byte-identical subject and issuer name", () => {
    const subj = (n: string) =>
      execFileSync("openssl", ["x509", "-in", f(n), "-noout", "-subject", "-issuer", "-nameopt", "RFC2253"], {
        encoding: "utf8",
      });
    expect(subj("iaca.pem")).toBe(subj("iaca-old.pem"));
    expect(subj("link-old-to-new.pem")).toBe(subj("iaca.pem"));
  });

  it("openssl crl -verify accepts the CRL and ARL; -crl_check rejects ds-revoked and passes ds", () => {
    for (const n of ["crl.der", "arl.der"]) {
      const r = openssl("crl", "-inform", "DER", "-in", f(n), "-CAfile", f("iaca.pem"), "-verify", "-noout");
      expect(r.stderr + r.stdout).toMatch(/verify OK/);
    }
    const revoked = openssl(
      "verify",
      "-crl_check",
      "-CAfile",
      f("iaca.pem"),
      "-CRLfile",
      f("crl.pem"),
      f("ds-revoked.pem"),
    );
    expect(revoked.status).not.toBe(0);
    expect(revoked.stdout + revoked.stderr).toMatch(/certificate revoked/);
    const ok = openssl("verify", "-crl_check", "-CAfile", f("iaca.pem"), "-CRLfile", f("crl.pem"), f("ds.pem"));
    expect(ok.status, ok.stderr).toBe(0);
  });

  it("pki.crl.number-increasing: each list's numbers increase and reasons stay in the database", async () => {
    const again = await rootCrl(await as(rootRoom, "root.crl"), "crl");
    expect(again.number).toBe(2n);
    const text = openssl("crl", "-inform", "DER", "-in", f("crl.der"), "-noout", "-text").stdout;
    expect(text).toMatch(/CRL Number: *\n *1/);
    expect(text).not.toMatch(/Reason Code|Issuing Distribution Point/);
    const row = await rootDb.db.prisma.pkiCertificate.findUnique({ where: { serial: serials.revoked! } });
    expect(row?.revocationReason).toBe("keyCompromise");
  });

  it("pki.csr.proof-of-possession: a CSR whose signature does not verify is refused", async () => {
    const k = await dsKeygen(await as(opsRoom, "ds.keygen"));
    const bad = Uint8Array.from(k.csr);
    bad[bad.length - 5]! ^= 0x01;
    await expect(rootSignCsr(await as(rootRoom, "root.sign-csr"), bad)).rejects.toMatchObject({
      code: expect.stringMatching(/CSR_SIGNATURE_INVALID|CSR_UNREADABLE/),
    });
  });

  it("pki.ceremony.dual-control: one operator or a wrong secret is refused", async () => {
    await expect(authorize(rootDb.db, policy, "root.sign-csr", [ops[0]!])).rejects.toMatchObject({
      code: "DUAL_CONTROL_REQUIRED",
    });
    await expect(
      authorize(rootDb.db, policy, "root.sign-csr", [ops[0]!, { id: "bob", secret: "not-bobs-secret!!" }]),
    ).rejects.toMatchObject({ code: "OPERATOR_CREDENTIAL_INVALID" });
    await expect(authorize(rootDb.db, policy, "root.crl", [ops[0]!])).resolves.toEqual(["op:alice"]);
  });

  it("pki.ceremony.audited: every step left an audit event with operators and artifact hashes", async () => {
    const rows = await rootDb.db.sql.query<{ action: string; details: Record<string, unknown>; clause: string }>(
      "SELECT action, details, clause FROM audit_event ORDER BY seq",
    );
    const actions = rows.map((r) => r.action);
    for (const a of ["root.init", "ds.certificate.issue", "root.rekey", "certificate.revoke", "crl.issue", "arl.issue"])
      expect(actions).toContain(a);
    const issue = rows.find((r) => r.action === "ds.certificate.issue")!;
    expect(issue.details.operators).toEqual(["op:alice", "op:bob"]);
    expect(issue.details.certSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(issue.clause).toBe("4.3.1");
  });

  it("pki.ds.usage-period: the operations room signs with the active DS only; ds list shows states", async () => {
    const s = await currentSigner(opsDb.db, policy);
    expect(s.serial).toBe(serials.ds);
    const list = await dsList(opsDb.db, policy);
    const states = Object.fromEntries(list.map((x) => [x.serial, x.state]));
    expect(states[serials.dsOld!]).toBe("retired");
    expect(states[serials.ds!]).toBe("active");
    await expect(currentSigner(opsDb.db, policy, new Date(Date.now() + 365 * 86_400_000))).rejects.toMatchObject({
      code: "DS_NONE_USABLE",
    });
  });

  it("pki.serial.random: serials are unique, positive, 16 octets", async () => {
    const rows = await rootDb.db.prisma.pkiCertificate.findMany();
    expect(new Set(rows.map((r) => r.serial)).size).toBe(rows.length);
    for (const r of rows) expect(r.serial).toMatch(/^[4-7][0-9a-f]{31}$/);
  });

  it("writes a transcript naming operators and artifact hashes", () => {
    const t = execFileSync("cat", [f("transcript.txt")], { encoding: "utf8" });
    expect(t).toMatch(/op:alice/);
    expect(t).toMatch(/iaca\.pem +sha256 [0-9a-f]{64}/);
    expect(toPem(Uint8Array.of(1), "CERTIFICATE")).toContain("BEGIN CERTIFICATE");
  });
});
