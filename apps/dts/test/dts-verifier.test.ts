// A verifier's journey using only HTTP downloads from a running DTS (loopback), then openssl.

import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseCertificate, sha256, toPem } from "@iaca/pki";
import { addDuration } from "@iaca/policy";
import { MemorySource, PATHS, Publisher, trustListCertificatesUnverified, verifyTrustList } from "@iaca/trust";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDtsApp } from "../src/index.ts";
import { buildFixturePki, type FixturePki } from "./support/pki.ts";

let pki: FixturePki;
let now: Date;
let base: string;
let dir: string;
let source: MemorySource;
let publisher: Publisher;
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
/** `openssl verify` at the test's instant; returns stdout+stderr and whether it succeeded. */
function opensslVerify(args: string[]): { ok: boolean; out: string } {
  const attime = String(Math.floor(now.getTime() / 1000));
  try {
    const out = execFileSync("openssl", ["verify", "-attime", attime, ...args], { encoding: "utf8", stdio: "pipe" });
    return { ok: true, out };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    return { ok: false, out: `${err.stdout ?? ""}${err.stderr ?? ""}` };
  }
}

beforeAll(async () => {
  pki = await buildFixturePki();
  now = addDuration(pki.t0, "P10D");
  dir = mkdtempSync(join(tmpdir(), "dts-verifier-"));
  source = new MemorySource(structuredClone(pki.set));
  publisher = new Publisher({ source, policy: pki.policy, signer: pki.signer, clock: () => now });
  await publisher.refresh();
  app = createDtsApp({ publisher, pollMs: 0 });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const addr = app.server.address() as { port: number };
  base = `http://127.0.0.1:${addr.port}`;
});

afterAll(async () => {
  await app?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("verifier journey over HTTP", () => {
  it("dts.trust-list.signed: trust list -> IACA -> CRL -> openssl validates the DS certificate; the revoked one fails", async () => {
    // Out of band the verifier knows only the IACA root's SHA-256 fingerprint.
    const pinned = parseCertificate(pki.root.der).sha256;
    const cose = await get(PATHS.trustList);
    // The anchors come from the list itself; the pinned fingerprint decides which one is trusted.
    const anchors = trustListCertificatesUnverified(cose).filter((c) => sha256(c) === pinned);
    expect(anchors).toHaveLength(1);
    const verified = await verifyTrustList(cose, anchors, now);
    expect(sha256(verified.anchor.der)).toBe(pinned);

    const iacaPem = save("iaca.pem", toPem(anchors[0]!, "CERTIFICATE"));
    const crlUrl = new URL(pki.policy.revocation.crlUrl).pathname;
    const crlPem = save("ds.crl.pem", toPem(await get(crlUrl), "X509 CRL"));

    const trust = JSON.parse(Buffer.from(await get(PATHS.trustJson)).toString("utf8"));
    const find = (der: Uint8Array) =>
      trust.certificates.find((c: { sha256: string }) => c.sha256 === parseCertificate(der).sha256);
    const dsPem = save("ds.pem", Buffer.from(await get(find(pki.dsActive).urls.pem)));
    const revokedPem = save("ds-revoked.pem", Buffer.from(await get(find(pki.dsRevoked).urls.pem)));

    const ok = opensslVerify(["-crl_check", "-CAfile", iacaPem, "-CRLfile", crlPem, dsPem]);
    expect(ok.out).toContain(": OK");
    expect(ok.ok).toBe(true);
    const bad = opensslVerify(["-crl_check", "-CAfile", iacaPem, "-CRLfile", crlPem, revokedPem]);
    expect(bad.ok).toBe(false);
    expect(bad.out).toMatch(/certificate revoked/);
  });

  it("dts.publish.ca-certificates: after a root re-key both roots and both links are served; the old root validates a new DS through the link", async () => {
    const oldRootDer = pki.root.der;
    const at = addDuration(pki.t0, "P20D");
    const { newRoot, linkOldToNew, linkNewToOld, dsNew } = await pki.rekey(at);
    now = addDuration(pki.t0, "P21D");
    // pki.crl.per-key: each root key signs its own lists, numbers from one sequence.
    const old = { by: pki.rootOf(1), thisUpdate: at, nextUpdate: addDuration(at, "P100D") };
    const crlOld = await pki.crl("crl", { ...old, number: 2n, revoked: [pki.dsRevoked] });
    const arlOld = await pki.crl("arl", { ...old, number: 3n, revoked: [pki.dsRevoked] });
    const crl2 = await pki.crl("crl", { number: 4n, thisUpdate: at, nextUpdate: addDuration(at, "P100D") });
    const arl2 = await pki.crl("arl", { number: 5n, thisUpdate: at, nextUpdate: addDuration(at, "P100D") });
    source.set = {
      ...source.set,
      certificates: [
        ...source.set.certificates,
        { der: newRoot.der, kind: "iaca", publishedAt: at },
        { der: linkOldToNew, kind: "link", publishedAt: at },
        { der: linkNewToOld, kind: "link", publishedAt: at },
        { der: dsNew, kind: "ds", publishedAt: at, activeFrom: at },
      ],
      lists: [
        ...(source.set.lists ?? []),
        ...[crlOld, crl2].map((der) => ({ kind: "crl" as const, der })),
        ...[arlOld, arl2].map((der) => ({ kind: "arl" as const, der })),
      ],
    };
    await publisher.refresh();

    const trust = JSON.parse(Buffer.from(await get(PATHS.trustJson)).toString("utf8"));
    const kinds = trust.certificates.map((c: { kind: string }) => c.kind);
    expect(kinds.filter((k: string) => k === "iaca")).toHaveLength(2);
    expect(kinds.filter((k: string) => k === "link")).toHaveLength(2);
    for (const der of [oldRootDer, newRoot.der, linkOldToNew, linkNewToOld]) {
      const entry = trust.certificates.find((c: { sha256: string }) => c.sha256 === parseCertificate(der).sha256);
      expect(Buffer.from(await get(entry.urls.der)).equals(Buffer.from(der))).toBe(true);
      expect(Buffer.from(await get(entry.urls.derBySki)).equals(Buffer.from(der))).toBe(true);
    }
    // The new root and the old root share a name; their SKI/serial paths differ.
    expect(parseCertificate(newRoot.der).ski).toBe(parseCertificate(linkOldToNew).ski);
    expect(trust.trustList.issueId).toBe(2);

    // A verifier that holds only the old root: the link (old key certifies new key) carries the path.
    const oldPem = save("old-root.pem", toPem(oldRootDer, "CERTIFICATE"));
    const linkEntry = trust.certificates.find(
      (c: { sha256: string }) => c.sha256 === parseCertificate(linkOldToNew).sha256,
    );
    const linkPem = save("link.pem", Buffer.from(await get(linkEntry.urls.pem)));
    const dsEntry = trust.certificates.find((c: { sha256: string }) => c.sha256 === parseCertificate(dsNew).sha256);
    const dsNewPem = save("ds-new.pem", Buffer.from(await get(dsEntry.urls.pem)));
    const cdp = (der: Uint8Array) => new URL(parseCertificate(der).crlDistributionPoints[0]!).pathname;
    expect(cdp(dsNew)).not.toBe(cdp(pki.dsActive));
    const crlPem = save("crl2.pem", toPem(await get(cdp(dsNew)), "X509 CRL"));
    const viaLink = opensslVerify(["-CAfile", oldPem, "-untrusted", linkPem, dsNewPem]);
    expect(viaLink.out).toContain(": OK");
    const withoutLink = opensslVerify(["-CAfile", oldPem, dsNewPem]);
    expect(withoutLink.ok).toBe(false);
    // and with revocation checking, the CRL signed by the new key covers the new DS
    const newPem = save("new-root.pem", toPem(newRoot.der, "CERTIFICATE"));
    const checked = opensslVerify(["-crl_check", "-CAfile", newPem, "-CRLfile", crlPem, dsNewPem]);
    expect(checked.out).toContain(": OK");
    // Every list the DTS publishes loaded together, both roots as anchors: DS certificates of both
    // keys pass strict CRL checking and the revoked one of the old key is refused (issue 18).
    const published = trust.lists.map((l: { path: string }) => l.path) as string[];
    expect(published).toHaveLength(4);
    const allLists = save(
      "all-lists.pem",
      (await Promise.all(published.map(async (path) => toPem(await get(path), "X509 CRL")))).join(""),
    );
    const bothRoots = save("both-roots.pem", `${toPem(oldRootDer, "CERTIFICATE")}${toPem(newRoot.der, "CERTIFICATE")}`);
    const strict = (pem: string) =>
      opensslVerify(["-crl_check", "-CAfile", bothRoots, "-CRLfile", allLists, "-untrusted", linkPem, pem]);
    const dsOldPem = save("ds-old.pem", toPem(pki.dsActive, "CERTIFICATE"));
    const dsOldRevokedPem = save("ds-old-revoked.pem", toPem(pki.dsRevoked, "CERTIFICATE"));
    expect(strict(dsOldPem).out).toContain(": OK");
    expect(strict(dsNewPem).out).toContain(": OK");
    expect(strict(dsOldRevokedPem).out).toMatch(/certificate revoked/);
    // The signed trust list now lists both roots, verifiable with the old one.
    const v = await verifyTrustList(await get(PATHS.trustList), [oldRootDer], now);
    expect(v.certificates.map((c) => sha256(c)).sort()).toEqual([sha256(oldRootDer), sha256(newRoot.der)].sort());
  });
});
