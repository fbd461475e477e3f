// Ceremonies on real SoftHSM tokens and real PostgreSQL (one database per room), openssl as the judge.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AuditLog } from "@iaca/db";
import { KeyStore } from "@iaca/hsm";
import { addDuration, DEFAULT_POLICY } from "@iaca/policy";
import { AsnConvert } from "@peculiar/asn1-schema";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FreshDatabase, freshDatabase } from "../../../test/support/db.ts";
import { createSoftHsm, type SoftHsm } from "../../../test/support/softhsm.ts";
import {
  authorize,
  bootstrapOperators,
  checkCsr,
  credentialsFromEnv,
  currentRoot,
  currentSigner,
  disableOperator,
  dsInstall,
  dsKeygen,
  dsList,
  dsStop,
  dsTbs,
  enrollOperators,
  hex,
  issuerInfo,
  type OperatorCredential,
  parseArtifact,
  parseCertificate,
  parseCrl,
  period,
  publicKeyInfo,
  type Room,
  rootCrl,
  rootDestroyKey,
  rootInit,
  rootRekey,
  rootRevoke,
  rootSignCsr,
  sha256,
  signCertificate,
  Transcript,
  toPem,
  verifySigned,
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
  writeFileSync(f("link-old-to-new.pem"), rk.linkOldToNew!.pem);
  writeFileSync(f("link-new-to-old.pem"), rk.linkNewToOld!.pem);
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
  writeFileSync(f("arl.pem"), arl.crl.pem);
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

  it("pki.revoke.compromise-listed: with the CRL and the ARL loaded together, in either order, openssl refuses the revoked DS", () => {
    for (const lists of [
      ["crl.pem", "arl.pem"],
      ["arl.pem", "crl.pem"],
    ]) {
      const crls = lists.flatMap((n) => ["-CRLfile", f(n)]);
      const revoked = openssl("verify", "-crl_check", "-CAfile", f("iaca.pem"), ...crls, f("ds-revoked.pem"));
      expect(revoked.status, lists.join()).not.toBe(0);
      expect(revoked.stdout + revoked.stderr).toMatch(/certificate revoked/);
      const ok = openssl("verify", "-crl_check", "-CAfile", f("iaca.pem"), ...crls, f("ds.pem"));
      expect(ok.status, `${lists.join()}: ${ok.stderr}`).toBe(0);
    }
    // one scope, one sequence: the two lists list the same certificates under different numbers
    const text = (n: string) => openssl("crl", "-in", f(n), "-noout", "-text").stdout;
    const hexNum = (h: string) => h.toLowerCase().replace(/^0+/, "");
    const serialsOf = (t: string) => [...t.matchAll(/Serial Number: (\w+)/g)].map((m) => hexNum(m[1]!)).sort();
    expect(serialsOf(text("arl.pem"))).toEqual(serialsOf(text("crl.pem")));
    expect(serialsOf(text("crl.pem"))).toContain(hexNum(serials.revoked!));
    expect(text("crl.pem")).toMatch(/CRL Number: *\n *1\b/);
    expect(text("arl.pem")).toMatch(/CRL Number: *\n *2\b/);
  });

  it("pki.crl.number-increasing: the CRL and the ARL share one increasing sequence; reasons stay in the database", async () => {
    const again = await rootCrl(await as(rootRoom, "root.crl"), "crl");
    expect(again.number).toBe(3n);
    const arl = await rootCrl(await as(rootRoom, "root.arl"), "arl");
    expect(arl.number).toBe(4n);
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
    // every use of the IACA key is under dual control (CP/CPS 6.2.2), CRL and ARL signing included
    await expect(authorize(rootDb.db, policy, "root.crl", [ops[0]!])).rejects.toMatchObject({
      code: "DUAL_CONTROL_REQUIRED",
    });
    await expect(authorize(opsDb.db, policy, "ds.install", [ops[0]!])).resolves.toEqual(["op:alice"]);
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

  const spkiOf = (der: Uint8Array) =>
    publicKeyInfo(new Uint8Array(AsnConvert.serialize(parseCertificate(der).asn1.tbsCertificate.subjectPublicKeyInfo)));
  const listed = (der: Uint8Array) =>
    (parseCrl(der).asn1.tbsCertList.revokedCertificates ?? []).map((r) => hex(r.userCertificate));
  const later = new Date(Date.now() + 30 * 86_400_000);

  it("pki.ceremony.operators-per-step: no operator is refused; one person named twice is one person", async () => {
    await expect(authorize(rootDb.db, policy, "root.crl", [])).rejects.toMatchObject({ code: "OPERATOR_REQUIRED" });
    await expect(authorize(rootDb.db, policy, "root.rekey", [ops[0]!, ops[0]!])).rejects.toMatchObject({
      code: "DUAL_CONTROL_REQUIRED",
    });
    await expect(authorize(rootDb.db, policy, "root.rekey", ops)).resolves.toEqual(["op:alice", "op:bob"]);
    await expect(authorize(opsDb.db, policy, "ds.install", [ops[1]!])).resolves.toEqual(["op:bob"]);
    // DS key generation is under dual control (CP/CPS 6.2.2)
    await expect(authorize(opsDb.db, policy, "ds.keygen", [ops[1]!])).rejects.toMatchObject({
      code: "DUAL_CONTROL_REQUIRED",
    });
  });

  it("pki.operator.authenticated: unknown, disabled and wrong-secret operators are refused; only salted scrypt hashes are stored", async () => {
    const refused = { code: "OPERATOR_CREDENTIAL_INVALID" };
    await expect(
      authorize(rootDb.db, policy, "root.crl", [{ id: "mallory", secret: "mallory-secret-1" }]),
    ).rejects.toMatchObject(refused);
    await expect(
      authorize(rootDb.db, policy, "root.crl", [{ id: "alice", secret: ops[1]!.secret }]),
    ).rejects.toMatchObject(refused);
    await enrollOperators(rootDb.db, [
      { id: "carol", secret: "shared-secret-123" },
      { id: "dave", secret: "shared-secret-123" },
    ]);
    const [carol, dave] = await Promise.all(
      ["carol", "dave"].map((id) => rootDb.db.prisma.pkiOperator.findUnique({ where: { id } })),
    );
    expect(carol!.secretHash).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}$/);
    expect(carol!.secretHash).not.toContain("shared-secret");
    expect(carol!.secretHash).not.toBe(dave!.secretHash); // random salt
    const creds = [{ id: "carol", secret: "shared-secret-123" }];
    await expect(authorize(rootDb.db, policy, "ds.install", creds)).resolves.toEqual(["op:carol"]);
    await rootDb.db.prisma.pkiOperator.update({ where: { id: "carol" }, data: { disabledAt: new Date() } });
    await expect(authorize(rootDb.db, policy, "ds.install", creds)).rejects.toMatchObject(refused);
    await expect(enrollOperators(rootDb.db, [{ id: "eve", secret: "too-short" }])).rejects.toMatchObject({
      code: "OPERATOR_INVALID",
    });
    await expect(enrollOperators(rootDb.db, [{ id: "Eve!", secret: "long-enough-secret" }])).rejects.toMatchObject({
      code: "OPERATOR_INVALID",
    });
    expect(() => credentialsFromEnv(["alice"], {})).toThrow(
      expect.objectContaining({ code: "OPERATOR_CREDENTIAL_MISSING" }),
    );
    expect(credentialsFromEnv(["op-x"], { IACA_OPERATOR_SECRET_OP_X: "s" })).toEqual([{ id: "op-x", secret: "s" }]);
  });

  it("pki.serial.random / pki.pubkey.archived: a different certificate under a stored serial is refused (SERIAL_COLLISION)", async () => {
    const root = await currentRoot(rootDb.db);
    const issuer = issuerInfo(root.cert);
    const installed = (await opsDb.db.prisma.pkiCertificate.findUnique({ where: { serial: serials.ds! } }))!;
    const nb = new Date(Date.now() + 60_000);
    const tbs = dsTbs({
      policy,
      issuer,
      key: spkiOf(new Uint8Array(installed.der)),
      period: period(nb, addDuration(nb, "P1M")),
      seq: 77,
      serial: Uint8Array.from(Buffer.from(serials.ds!, "hex")),
    });
    const other = await signCertificate(tbs, await rootRoom.hsm.signer(root.keyRef), { profile: "ds", policy, issuer });
    await expect(
      dsInstall(await as(opsRoom, "ds.install"), other.der, [new Uint8Array(root.row.der)]),
    ).rejects.toMatchObject({ code: "SERIAL_COLLISION" });
    const row = await opsDb.db.prisma.pkiCertificate.findUnique({ where: { serial: serials.ds! } });
    expect(row!.sha256).toBe(installed.sha256);
  });

  it("pki.pubkey.archived: every certificate made or installed is stored with its DER, hashes and key; DS CSRs are kept", async () => {
    for (const n of [
      "iaca.pem",
      "iaca-old.pem",
      "link-old-to-new.pem",
      "link-new-to-old.pem",
      "ds.pem",
      "ds-old.pem",
      "ds-revoked.pem",
    ]) {
      const der = parseArtifact(readFileSync(f(n))).der;
      const row = await rootDb.db.prisma.pkiCertificate.findFirst({ where: { sha256: sha256(der) } });
      expect(row, n).not.toBeNull();
      expect(Buffer.from(row!.der).equals(Buffer.from(der)), n).toBe(true);
      expect(row!.spkiSha256, n).toBe(spkiOf(der).fingerprint);
      expect(row!.ski, n).toBe(hex(spkiOf(der).ski));
    }
    const opsRows = await opsDb.db.prisma.pkiCertificate.findMany();
    expect(opsRows.map((r) => r.serial)).toEqual(expect.arrayContaining([serials.ds, serials.dsOld]));
    expect(opsRows.filter((r) => r.kind === "iaca")).toHaveLength(2); // the roots each DS was trusted through
    const keys = await opsDb.db.prisma.pkiKey.findMany({ where: { role: "ds" } });
    expect(keys.length).toBeGreaterThanOrEqual(3);
    for (const k of keys) expect(checkCsr(new Uint8Array(k.csr!)).key.fingerprint).toBe(k.spkiSha256);
  });

  it("pki.profile.algorithms: a DS CSR on another curve than the policy's is refused", async () => {
    const k = await dsKeygen({
      ...(await as(opsRoom, "ds.keygen")),
      policy: { ...policy, ds: { ...policy.ds, key: { curve: "P-384", hash: "SHA-384" } } },
    });
    await expect(rootSignCsr(await as(rootRoom, "root.sign-csr"), k.csr)).rejects.toMatchObject({
      code: "CSR_KEY_POLICY",
      message: expect.stringContaining("P-384; policy ds.key.curve is P-256"),
    });
  });

  it("pki.rekey.new-key: a CSR whose key already has a certificate is refused; each root generation has its own key", async () => {
    const k = await dsKeygen(await as(opsRoom, "ds.keygen"));
    await rootSignCsr(await as(rootRoom, "root.sign-csr"), k.csr);
    await expect(rootSignCsr(await as(rootRoom, "root.sign-csr"), k.csr)).rejects.toMatchObject({
      code: "KEY_ALREADY_CERTIFIED",
    });
    const roots = await rootDb.db.prisma.pkiCertificate.findMany({ where: { kind: "iaca" } });
    expect(roots).toHaveLength(2);
    expect(new Set(roots.map((r) => r.spkiSha256)).size).toBe(2);
  });

  it("pki.csr.key-delivery: the certificate carries the CSR's key, which is the HSM key; another room's key is not installed", async () => {
    const k = await dsKeygen(await as(opsRoom, "ds.keygen"));
    // the CSR carried in must be the one recorded in the operations room (CP/CPS 4.3.1 step 1)
    const other = await dsKeygen(await as(opsRoom, "ds.keygen"));
    await expect(
      rootSignCsr(await as(rootRoom, "root.sign-csr"), k.csr, { expectSha256: other.csrSha256 }),
    ).rejects.toMatchObject({ code: "CSR_DIGEST_MISMATCH" });
    const s = await rootSignCsr(await as(rootRoom, "root.sign-csr"), k.csr, {
      expectSha256: k.csrSha256.toUpperCase(),
    });
    const certKey = spkiOf(s.cert.der).fingerprint;
    expect(certKey).toBe(checkCsr(k.csr).key.fingerprint);
    expect(certKey).toBe(publicKeyInfo((await opsRoom.hsm.getPublicKey(k.keyUri)).spki).fingerprint);
    expect(s.fingerprint).toBe(k.fingerprint);
    const root = await currentRoot(rootDb.db);
    // the root room holds no DS key: a certificate for a key it did not generate is not installed there
    await expect(
      dsInstall(await as(rootRoom, "ds.install"), s.cert.der, [new Uint8Array(root.row.der)]),
    ).rejects.toMatchObject({ code: "DS_KEY_UNKNOWN" });
  });

  it("pki.ds.install-verified: a DS of the re-keyed root installs through the link only; a bad signature is refused", async () => {
    const k = await dsKeygen(await as(opsRoom, "ds.keygen"));
    const s = await rootSignCsr(await as(rootRoom, "root.sign-csr"), k.csr, { notBefore: later });
    const old = readFileSync(f("iaca-old.pem"));
    const link = readFileSync(f("link-old-to-new.pem"));
    await expect(dsInstall(await as(opsRoom, "ds.install"), s.cert.der, [old])).rejects.toMatchObject({
      code: "DS_CHAIN_INVALID",
    });
    const bad = Uint8Array.from(s.cert.der);
    bad[bad.length - 3]! ^= 0x01; // inside the signature value
    await expect(dsInstall(await as(opsRoom, "ds.install"), bad, [old, link])).rejects.toMatchObject({
      code: "DS_CHAIN_INVALID",
    });
    const r = await dsInstall(await as(opsRoom, "ds.install"), s.cert.der, [old, link]);
    expect(r.chain).toBe("link");
    const states = Object.fromEntries(
      (await dsList(opsDb.db, policy, new Date(later.getTime() + 86_400_000))).map((x) => [x.serial, x.state]),
    );
    expect(states[r.serial]).toBe("active");
    expect(states[serials.ds!]).toBe("retired");
    serials.pending = r.serial;
  });

  it("pki.revoke.compromise-listed: reasons are RFC 5280 names without suspension; a revoked DS stays on later CRLs, and on one after it expired", async () => {
    for (const reason of ["certificateHold", "removeFromCRL", "stolen"])
      await expect(rootRevoke(await as(rootRoom, "root.revoke"), serials.ds!, reason)).rejects.toMatchObject({
        code: "REVOCATION_REASON_INVALID",
      });
    expect(
      (await rootDb.db.prisma.pkiCertificate.findUnique({ where: { serial: serials.ds! } }))!.revokedAt,
    ).toBeNull();
    expect(listed(readFileSync(f("crl.der")))).toEqual([serials.revoked]);
    const next = await rootCrl(await as(rootRoom, "root.crl"), "crl");
    expect(listed(next.crl.der)).toEqual([serials.revoked]);
    const row = await rootDb.db.prisma.pkiCertificate.findUnique({ where: { serial: serials.revoked! } });
    expect(row?.revocationReason).toBe("keyCompromise");
    // after it expires it is listed once more (the first list issued after its notAfter), then dropped
    const day = (n: number) => ({ now: () => new Date(row!.notAfter.getTime() + n * 86_400_000) });
    const once = await rootCrl({ ...(await as(rootRoom, "root.crl")), ...day(1) }, "crl");
    expect(listed(once.crl.der)).toEqual([serials.revoked]);
    const dropped = await rootCrl({ ...(await as(rootRoom, "root.crl")), ...day(2) }, "crl");
    expect(listed(dropped.crl.der)).toEqual([]);
  });

  it("pki.compromise.no-further-use: a revoked DS is never the signer; a revoked root signs no DS until re-keyed", async () => {
    const active = await currentSigner(opsDb.db, policy);
    expect(active.serial).toBe(serials.ds);
    await opsDb.db.prisma.pkiCertificate.update({
      where: { serial: active.serial },
      data: { revokedAt: new Date(), revocationReason: "keyCompromise" },
    });
    await expect(currentSigner(opsDb.db, policy)).rejects.toMatchObject({ code: "DS_NONE_USABLE" });
    const afterNext = new Date(later.getTime() + 86_400_000);
    expect((await currentSigner(opsDb.db, policy, afterNext)).serial).toBe(serials.pending);

    const root = await currentRoot(rootDb.db);
    await rootRevoke(await as(rootRoom, "root.revoke"), root.row.serial, "keyCompromise");
    const k = await dsKeygen(await as(opsRoom, "ds.keygen"));
    await expect(rootSignCsr(await as(rootRoom, "root.sign-csr"), k.csr)).rejects.toMatchObject({
      code: "ROOT_REVOKED",
    });
    const links = await rootDb.db.prisma.pkiCertificate.count({ where: { kind: "link" } });
    const rk = await rootRekey(await as(rootRoom, "root.rekey"));
    // neither key vouches for the other after a compromise
    expect(rk.linkOldToNew).toBeUndefined();
    expect(rk.linkNewToOld).toBeUndefined();
    expect(await rootDb.db.prisma.pkiCertificate.count({ where: { kind: "link" } })).toBe(links);
    const s = await rootSignCsr(await as(rootRoom, "root.sign-csr"), k.csr);
    expect(verifySigned(s.cert.der, spkiOf(rk.root.der).spkiDer)).toBe(true);
    // pki.revoke.compromise-listed: the compromised root is on the next ARL (signed by the new key)
    const arl = await rootCrl(await as(rootRoom, "root.arl"), "arl");
    expect(listed(arl.crl.der)).toContain(root.row.serial);
    expect(verifySigned(arl.crl.der, spkiOf(rk.root.der).spkiDer)).toBe(true);
  });

  it("pki.compromise.no-further-use: the operations room stops a DS at once, before any CRL; it never signs again", async () => {
    const afterNext = new Date(later.getTime() + 86_400_000);
    expect((await currentSigner(opsDb.db, policy, afterNext)).serial).toBe(serials.pending);
    const room = await as(opsRoom, "ds.stop", [ops[0]!]);
    const retiredAt = async (serial: string) =>
      (await opsDb.db.prisma.pkiCertificate.findUniqueOrThrow({ where: { serial } })).retiredAt;
    // installing the pending DS retired its predecessor as of its activation; stopping it undoes that
    const pending = await opsDb.db.prisma.pkiCertificate.findUniqueOrThrow({ where: { serial: serials.pending! } });
    expect(await retiredAt(serials.ds!)).toEqual(pending.activatesAt);
    const r = await dsStop(room, serials.pending!.toUpperCase(), "key suspected compromised");
    expect(await retiredAt(serials.ds!)).toBeNull();
    expect(r.serial).toBe(serials.pending);
    expect(r.signer).toBeUndefined(); // the other DS was revoked above: nothing may sign
    await expect(currentSigner(opsDb.db, policy, afterNext)).rejects.toMatchObject({ code: "DS_NONE_USABLE" });
    const states = Object.fromEntries((await dsList(opsDb.db, policy, afterNext)).map((x) => [x.serial, x.state]));
    expect(states[serials.pending!]).toBe("retired");
    await expect(dsStop(room, serials.pending!, "again")).rejects.toMatchObject({ code: "DS_ALREADY_STOPPED" });
    await expect(dsStop(room, "00ff", "typo")).rejects.toMatchObject({ code: "DS_UNKNOWN" });
    const [event] = await opsDb.db.sql.query<{
      actor: string;
      targets: string[];
      clause: string;
      details: { reason: string };
    }>("SELECT actor, targets, clause, details FROM audit_event WHERE action = 'ds.stop'");
    expect(event).toMatchObject({
      actor: "op:alice",
      clause: "4.9.5",
      details: { reason: "key suspected compromised" },
    });
    expect(event!.targets[0]).toBe(serials.pending);
  });

  it("pki.rekey.recorded: the new root and both links are stored as made and named in the audit event", async () => {
    const [event] = await rootDb.db.sql.query<{ details: Record<string, unknown> }>(
      "SELECT details FROM audit_event WHERE action = 'root.rekey' ORDER BY seq LIMIT 1",
    );
    const expected: [string, string, string][] = [
      ["iaca.pem", "iaca", "rootSha256"],
      ["link-old-to-new.pem", "link", "linkOldToNewSha256"],
      ["link-new-to-old.pem", "link", "linkNewToOldSha256"],
    ];
    for (const [n, kind, field] of expected) {
      const der = parseArtifact(readFileSync(f(n))).der;
      const row = await rootDb.db.prisma.pkiCertificate.findFirst({ where: { sha256: sha256(der) } });
      expect(row?.kind, n).toBe(kind);
      expect(Buffer.from(row!.der).equals(Buffer.from(der))).toBe(true);
      expect(event!.details[field]).toBe(sha256(der));
    }
  });

  it("pki.rekey.recorded: output that does not verify against the certifying key is refused; nothing is stored", async () => {
    const old = await currentRoot(rootDb.db);
    const before = await rootDb.db.prisma.pkiCertificate.count();
    const real = rootRoom.hsm;
    // An HSM that signs something else with the old root key (a fault the linter cannot see).
    const faulty = new Proxy(real, {
      get(t, p) {
        if (p === "signer")
          return async (uri: string) => {
            const s = await t.signer(uri);
            if (uri !== old.keyRef) return s;
            return { ...s, sign: (data: Uint8Array) => s.sign(Buffer.concat([Buffer.from(data), Buffer.of(0)])) };
          };
        const v = Reflect.get(t, p, t);
        return typeof v === "function" ? v.bind(t) : v;
      },
    });
    const room: Room = { ...(await as(rootRoom, "root.rekey")), hsm: faulty };
    await expect(rootRekey(room)).rejects.toMatchObject({ code: "REKEY_UNVERIFIED" });
    expect(await rootDb.db.prisma.pkiCertificate.count()).toBe(before);
    expect((await currentRoot(rootDb.db)).row.serial).toBe(old.row.serial);
  });
  it("pki.compromise.no-further-use: a superseded root's key is destroyed once its certificate expired, at once if revoked; never the current one", async () => {
    const roots = await rootDb.db.prisma.pkiCertificate.findMany({
      where: { kind: "iaca" },
      orderBy: { rootGen: "asc" },
    });
    const current = await currentRoot(rootDb.db);
    const [expiredLater, revoked] = [
      roots.find((x) => !x.revokedAt && x.keyRef && x.serial !== current.row.serial)!,
      roots.find((x) => x.revokedAt)!,
    ];
    const room = await as(rootRoom, "root.destroy-key");
    await expect(rootDestroyKey(room, current.row.serial)).rejects.toMatchObject({ code: "ROOT_KEY_IN_USE" });
    await expect(rootDestroyKey(room, expiredLater.serial)).rejects.toMatchObject({ code: "ROOT_KEY_STILL_VALID" });
    // a run interrupted after the HSM destroyed the key is finished by running it again
    await rootRoom.hsm.destroy(revoked.keyRef!);
    const gone = await rootDestroyKey(room, revoked.serial);
    expect(gone.keyUri).toBe(revoked.keyRef);
    const after = { ...room, now: () => new Date(expiredLater.notAfter.getTime() + 86_400_000) };
    await rootDestroyKey(after, expiredLater.serial);
    for (const r of [revoked, expiredLater]) {
      expect((await rootDb.db.prisma.pkiKey.findUnique({ where: { uri: r.keyRef! } }))?.destroyedAt).toBeInstanceOf(
        Date,
      );
      await expect(rootRoom.hsm.getPublicKey(r.keyRef!)).rejects.toMatchObject({ code: "HSM_KEY_NOT_FOUND" });
    }
    await expect(rootDestroyKey(room, revoked.serial)).rejects.toMatchObject({ code: "ROOT_KEY_UNKNOWN" });
    const events = await rootDb.db.sql.query<{ targets: string[]; details: { why: string } }>(
      "SELECT targets, details FROM audit_event WHERE action = 'root.key.destroy' ORDER BY seq",
    );
    expect(events.map((e) => [e.targets[0], e.details.why])).toEqual([
      [revoked.serial, "revoked"],
      [expiredLater.serial, "expired"],
    ]);
    // the current root still signs
    expect((await rootCrl(await as(rootRoom, "root.crl"), "crl")).number).toBeGreaterThan(0n);
  });
});

describe("pki.operator.registry under concurrency", () => {
  it("two disables at once cannot both pass the lock-out check", async () => {
    const db = await freshDatabase();
    try {
      const audit = new AuditLog(db.db);
      const three = ["ann", "ben", "cid"].map((id) => ({ id, secret: `${id}-secret-123456` }));
      await bootstrapOperators({ policy, db: db.db, audit }, three);
      const r = { policy, db: db.db, audit, actors: ["op:cid"] };
      const outcomes = await Promise.allSettled([disableOperator(r, "ann", "t"), disableOperator(r, "ben", "t")]);
      expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(1);
      expect((outcomes.find((o) => o.status === "rejected") as PromiseRejectedResult).reason).toMatchObject({
        code: "OPERATOR_LOCKOUT",
      });
      expect(await db.db.prisma.pkiOperator.count({ where: { disabledAt: null } })).toBe(2);
    } finally {
      await db.drop();
    }
  });
});
