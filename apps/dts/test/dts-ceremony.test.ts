// The DTS over the database the real ceremonies wrote (runDemo: root init, DS, re-key with both
// link certificates, revocation, CRL/ARL), with the trust-list signer key in the online SoftHSM
// token and its certificate issued by the IACA (`rootSignCsr(..., { profile: "tsl-signer" })`).
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { authorize, type DemoResult, parseCertificate, rootSignCsr, runDemo, sha256, toPem } from "@iaca/pki";
import {
  currentDtsSigner,
  DbSource,
  PATHS,
  Publisher,
  signerInstall,
  signerKeygen,
  verifyTrustList,
} from "@iaca/trust";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDtsApp } from "../src/index.ts";

let demo: DemoResult;
let dir: string;
let base: string;
let app: ReturnType<typeof createDtsApp>;

const get = async (path: string) => {
  const r = await fetch(`${base}${path}`);
  expect(r.status, path).toBe(200);
  return new Uint8Array(await r.arrayBuffer());
};
const save = (name: string, bytes: Uint8Array | string) => {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
};
function opensslVerify(args: string[]): { ok: boolean; out: string } {
  try {
    return { ok: true, out: execFileSync("openssl", ["verify", ...args], { encoding: "utf8", stdio: "pipe" }) };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    return { ok: false, out: `${err.stdout ?? ""}${err.stderr ?? ""}` };
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "dts-ceremony-"));
  demo = await runDemo({ out: join(dir, "demo") });
  const { db } = demo.ops;
  // operations room: trust-list signer key in the online HSM, CSR to the root room
  const k = await signerKeygen({
    db,
    hsm: demo.ops.hsm,
    policy: demo.policy,
    audit: demo.ops.room.audit,
    actor: "op:alice",
  });
  // root room: the IACA issues the trust-list signer certificate at a ceremony (dual control)
  demo.root.room.actors = await authorize(demo.root.db, demo.policy, "root.sign-csr", demo.operators);
  const signed = await rootSignCsr(demo.root.room, k.csr, { profile: "tsl-signer" });
  // operations room: install it (key here, EKU, chain to a published IACA, lint)
  await signerInstall({
    db,
    hsm: demo.ops.hsm,
    policy: demo.policy,
    audit: demo.ops.room.audit,
    actor: "op:alice",
    data: signed.cert.der,
  });
  const found = await currentDtsSigner(db, demo.ops.hsm);
  expect(found).toBeDefined();
  const publisher = new Publisher({ source: new DbSource(db.stores), policy: demo.policy, signer: found!.signer });
  await publisher.refresh();
  app = createDtsApp({ publisher, pollMs: 0 });
  await app.listen({ host: "127.0.0.1", port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
}, 240_000);

afterAll(async () => {
  await app?.close();
  await demo?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("DTS over the ceremonies' database", () => {
  it("dts.publish.ca-certificates: after `root rekey` both roots and both link certificates are published", async () => {
    const trust = JSON.parse(Buffer.from(await get(PATHS.trustJson)).toString("utf8"));
    const byKind = (k: string) => trust.certificates.filter((c: { kind: string }) => c.kind === k);
    expect(byKind("iaca")).toHaveLength(2);
    expect(byKind("link")).toHaveLength(2);
    expect(byKind("trust-list-signer")).toHaveLength(1);
    const dsSha = sha256(demo.ds.der);
    expect(trust.certificates.find((c: { sha256: string }) => c.sha256 === dsSha).status).toBe("active");
    // pki.crl.per-key: each root key's CRL and ARL, numbered from one sequence (the old key's first)
    expect(trust.crl.number).toBe("2");
    expect(trust.arl.number).toBe("4");
    expect(
      trust.lists.map((l: { kind: string; rootGeneration: number; number: string }) => [
        l.kind,
        l.rootGeneration,
        l.number,
      ]),
    ).toEqual([
      ["arl", 1, "3"],
      ["crl", 1, "1"],
      ["arl", 2, "4"],
      ["crl", 2, "2"],
    ]);
    for (const c of trust.certificates) expect(Buffer.from(await get(c.urls.derBySki)).length).toBeGreaterThan(100);
  });

  it("dts.trust-list.signed: a verifier holding only the old root checks the HSM-signed trust list through the link and validates the DS", async () => {
    const oldRoot = parseCertificate(new Uint8Array(Buffer.from(await get(`/certs/${pinnedOld()}.der`))));
    const trust = JSON.parse(Buffer.from(await get(PATHS.trustJson)).toString("utf8"));
    const links = await Promise.all(
      trust.certificates
        .filter((c: { kind: string }) => c.kind === "link")
        .map((c: { urls: { der: string } }) => get(c.urls.der)),
    );
    const v = await verifyTrustList(await get(PATHS.trustList), [oldRoot.der], new Date(), links);
    expect(v.certificates).toHaveLength(2);
    expect(v.signer.subject).toContain("Trust List Signer");

    const linkOldToNew = links.find((l) => parseCertificate(l).aki === oldRoot.ski)!;
    const oldPem = save("old.pem", toPem(oldRoot.der, "CERTIFICATE"));
    const linkPem = save("link.pem", toPem(linkOldToNew, "CERTIFICATE"));
    const dsEntry = trust.certificates.find((c: { sha256: string }) => c.sha256 === sha256(demo.ds.der));
    const dsPem = save("ds.pem", Buffer.from(await get(dsEntry.urls.pem)));
    expect(opensslVerify(["-CAfile", oldPem, "-untrusted", linkPem, dsPem]).out).toContain(": OK");

    // revocation: the CRL from the DS's CRL distribution point, under the new root
    const newRoot = trust.certificates.find(
      (c: { kind: string; sha256: string }) => c.kind === "iaca" && c.sha256 !== oldRoot.sha256,
    );
    const newPem = save("new.pem", Buffer.from(await get(newRoot.urls.pem)));
    const cdp = parseCertificate(demo.ds.der).crlDistributionPoints[0]!;
    const crlPem = save("crl.pem", toPem(await get(new URL(cdp).pathname), "X509 CRL"));
    expect(opensslVerify(["-crl_check", "-CAfile", newPem, "-CRLfile", crlPem, dsPem]).out).toContain(": OK");
    const revoked = trust.certificates.find(
      (c: { kind: string; status: string }) => c.kind === "ds" && c.status === "revoked",
    );
    expect(revoked).toBeDefined();
    const revokedPem = save("revoked.pem", Buffer.from(await get(revoked.urls.pem)));
    const bad = opensslVerify(["-crl_check", "-CAfile", newPem, "-CRLfile", crlPem, revokedPem]);
    expect(bad.ok).toBe(false);
    expect(bad.out).toMatch(/certificate revoked/);
  });
});

function pinnedOld(): string {
  return sha256(
    new Uint8Array(execFileSync("openssl", ["x509", "-in", demo.files["iaca-old.pem"]!, "-outform", "DER"])),
  );
}
