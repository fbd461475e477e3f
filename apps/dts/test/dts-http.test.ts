import { mkdtemp, readFile } from "node:fs/promises";
import { request } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseCertificate, parseCrl } from "@iaca/pki";
import { addDuration, subtractDuration } from "@iaca/policy";
import { exportTree, MemorySource, PATHS, Publisher, removeExport, verifyExport, verifyTrustList } from "@iaca/trust";
import { Ajv2020 } from "ajv/dist/2020.js";
import { beforeAll, describe, expect, it } from "vitest";
import { createDtsApp } from "../src/index.ts";
import { buildFixturePki, type FixturePki } from "./support/pki.ts";

let pki: FixturePki;
let now: Date;
const clock = () => now;

async function setup() {
  const source = new MemorySource(structuredClone(pki.set));
  const publisher = new Publisher({ source, policy: pki.policy, signer: pki.signer, clock });
  await publisher.refresh();
  const app = createDtsApp({ publisher, pollMs: 0 });
  return { source, publisher, app };
}

const noStack = (body: string) => {
  expect(body).not.toMatch(/\bat .*\.ts:\d+|stack|node_modules/);
};

beforeAll(async () => {
  pki = await buildFixturePki();
  now = addDuration(pki.t0, "P10D");
});

describe("published tree over HTTP", () => {
  it("dts.publish.ca-certificates: IACA root and every certificate as DER and PEM, by SHA-256 and by SKI/serial", async () => {
    const { app } = await setup();
    const root = parseCertificate(pki.root.der);
    for (const path of [`/certs/${root.sha256}.der`, `/certs/ski/${root.ski}/${root.serial}.der`]) {
      const r = await app.inject({ method: "GET", url: path });
      expect(r.statusCode).toBe(200);
      expect(r.headers["content-type"]).toBe("application/pkix-cert");
      expect(Buffer.compare(r.rawPayload, Buffer.from(pki.root.der))).toBe(0);
    }
    const pem = await app.inject({ method: "GET", url: `/certs/${root.sha256}.pem` });
    expect(pem.headers["content-type"]).toBe("application/pem-certificate-chain");
    expect(pem.body).toMatch(/^-----BEGIN CERTIFICATE-----\n/);
    expect(Buffer.from(pem.body.replace(/-----[A-Z ]+-----|\s/g, ""), "base64").equals(Buffer.from(pki.root.der))).toBe(
      true,
    );
  });

  it("dts.publish.ds-before-activation: a scheduled DS certificate is published with status scheduled", async () => {
    const { app } = await setup();
    const trust = (await app.inject({ url: "/trust.json" })).json();
    const status = (der: Uint8Array) =>
      trust.certificates.find((c: { sha256: string }) => c.sha256 === parseCertificate(der).sha256)?.status;
    expect(status(pki.root.der)).toBe("active");
    expect(status(pki.dsActive)).toBe("active");
    expect(status(pki.dsRevoked)).toBe("revoked");
    expect(status(pki.dsScheduled)).toBe("scheduled");
    const s = parseCertificate(pki.dsScheduled);
    expect((await app.inject({ url: `/certs/${s.sha256}.der` })).statusCode).toBe(200);
    // once its usage period has started it is active, without a reload
    now = addDuration(pki.t0, pki.policy.ds.rotationInterval);
    try {
      const later = (await app.inject({ url: "/trust.json" })).json();
      expect(later.certificates.find((c: { sha256: string }) => c.sha256 === s.sha256).status).toBe("active");
    } finally {
      now = addDuration(pki.t0, "P10D");
    }
  });

  it("trust.json validates against the JSON Schema published beside it", async () => {
    const { app } = await setup();
    const schema = await app.inject({ url: "/trust.schema.json" });
    expect(schema.headers["content-type"]).toBe("application/schema+json");
    const trust = await app.inject({ url: "/trust.json" });
    expect(trust.headers["content-type"]).toBe("application/json");
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    const validate = ajv.compile(schema.json());
    const ok = validate(trust.json());
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
    const t = trust.json();
    expect(t.crl.number).toBe("1");
    expect(t.crl.url).toBe(pki.policy.revocation.crlUrl);
    expect(t.arl.nextUpdate).toBe(addDuration(pki.t0, pki.policy.revocation.nextUpdate).toISOString());
    expect(t.trustList.issueId).toBe(1);
  });

  it("dts.crl.served-at-cdp: CRL and ARL at exactly the URLs in the certificates' CRL distribution points", async () => {
    const { app } = await setup();
    const ds = parseCertificate(pki.dsActive);
    const root = parseCertificate(pki.root.der);
    expect(ds.crlDistributionPoints).toEqual([pki.policy.revocation.crlUrl]);
    expect(root.crlDistributionPoints).toEqual([pki.policy.revocation.arlUrl]);
    const crl = await app.inject({ url: new URL(ds.crlDistributionPoints[0]!).pathname });
    expect(crl.statusCode).toBe(200);
    expect(crl.headers["content-type"]).toBe("application/pkix-crl");
    expect(parseCrl(crl.rawPayload).revokedSerials).toEqual([parseCertificate(pki.dsRevoked).serial]);
    const arl = await app.inject({ url: new URL(root.crlDistributionPoints[0]!).pathname });
    expect(arl.headers["content-type"]).toBe("application/pkix-crl");
    expect(Buffer.from(pki.arlDer).equals(arl.rawPayload)).toBe(true);
  });

  it("landing page lists the published material", async () => {
    const { app } = await setup();
    const r = await app.inject({ url: "/" });
    expect(r.statusCode).toBe(200);
    expect(r.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(r.body).toContain(parseCertificate(pki.root.der).sha256);
    expect(r.body).toContain('href="/crl/ds.crl"');
    expect(r.body).toContain('href="/trust-list.cose"');
    expect((await app.inject({ url: "/index.html" })).body).toBe(r.body);
  });
});

describe("caching and conditional GET", () => {
  it("dts.cache.bounded-by-next-update: ETag, Last-Modified, 304 on If-None-Match and If-Modified-Since, HEAD", async () => {
    const { app } = await setup();
    for (const url of ["/crl/ds.crl", "/trust-list.cose", "/trust.json", "/"]) {
      const r = await app.inject({ url });
      expect(r.headers.etag).toMatch(/^"[A-Za-z0-9_-]{43}"$/);
      expect(r.headers["last-modified"]).toMatch(/GMT$/);
      expect(r.headers["access-control-allow-origin"]).toBe("*");
      const inm = await app.inject({ url, headers: { "if-none-match": `"x", ${r.headers.etag}` } });
      expect(inm.statusCode).toBe(304);
      expect(inm.rawPayload.length).toBe(0);
      expect(inm.headers.etag).toBe(r.headers.etag);
      const ims = await app.inject({ url, headers: { "if-modified-since": String(r.headers["last-modified"]) } });
      expect(ims.statusCode).toBe(304);
      const other = await app.inject({ url, headers: { "if-none-match": '"other"' } });
      expect(other.statusCode).toBe(200);
      const head = await app.inject({ method: "HEAD", url });
      expect(head.statusCode).toBe(200);
      expect(head.rawPayload.length).toBe(0);
      expect(head.headers["content-length"]).toBe(String(r.rawPayload.length));
      expect(head.headers.etag).toBe(r.headers.etag);
      expect(head.headers["content-type"]).toBe(r.headers["content-type"]);
    }
  });

  it("dts.cache.bounded-by-next-update: max-age never reaches past the CRL nextUpdate", async () => {
    const { app } = await setup();
    const next = addDuration(pki.t0, pki.policy.revocation.nextUpdate);
    now = new Date(next.getTime() - 120_000);
    try {
      for (const url of ["/crl/ds.crl", "/crl/iaca.arl", "/trust.json", "/trust-list.cose"]) {
        const cc = String((await app.inject({ url })).headers["cache-control"]);
        const maxAge = Number(/max-age=(\d+)/.exec(cc)?.[1]);
        expect(maxAge).toBeLessThanOrEqual(120);
      }
      now = addDuration(pki.t0, "P10D");
      const cc = String((await app.inject({ url: "/crl/ds.crl" })).headers["cache-control"]);
      expect(cc).toBe("public, max-age=3600");
    } finally {
      now = addDuration(pki.t0, "P10D");
    }
  });

  it("CORS preflight allows GET from any origin", async () => {
    const { app } = await setup();
    const r = await app.inject({ method: "OPTIONS", url: "/trust.json", headers: { origin: "https://v.example" } });
    expect(r.statusCode).toBe(204);
    expect(r.headers["access-control-allow-origin"]).toBe("*");
    expect(r.headers["access-control-allow-methods"]).toContain("GET");
  });
});

describe("freshness", () => {
  it("dts.crl.never-stale: past nextUpdate the CRL carries a Warning, /readyz is false and the metric goes negative", async () => {
    const { app } = await setup();
    now = addDuration(addDuration(pki.t0, pki.policy.revocation.nextUpdate), "PT2H");
    try {
      const crl = await app.inject({ url: "/crl/ds.crl" });
      expect(crl.statusCode).toBe(200);
      expect(crl.headers.warning).toMatch(/^110 /);
      expect(crl.headers["dts-freshness"]).toBe("expired");
      expect(crl.headers["cache-control"]).toBe("public, max-age=0, must-revalidate");
      expect((await app.inject({ url: "/trust.json" })).json().crl.freshness).toBe("expired");
      const ready = await app.inject({ url: "/readyz" });
      expect(ready.statusCode).toBe(503);
      expect(ready.json().ready).toBe(false);
      const m = (await app.inject({ url: "/metrics" })).body;
      expect(m).toMatch(/dts_revocation_list_hours_left\{list="crl",root_generation="1"\} -2(\.0+\d*)?\n/);
      expect(m).toContain('dts_revocation_list_expired{list="crl",root_generation="1"} 1');
      expect(m).toContain("dts_ready 0");
    } finally {
      now = addDuration(pki.t0, "P10D");
    }
  });

  it("dts.crl.warn-before-next-update: within warnBefore of nextUpdate /readyz warns and the metric flags it", async () => {
    const { app } = await setup();
    const next = addDuration(pki.t0, pki.policy.revocation.nextUpdate);
    now = subtractDuration(next, "P13D");
    try {
      const ready = await app.inject({ url: "/readyz" });
      expect(ready.statusCode).toBe(200);
      expect(ready.json().warnings.join()).toMatch(/crl: nextUpdate in 312 h/);
      const m = (await app.inject({ url: "/metrics" })).body;
      expect(m).toContain('dts_revocation_list_warning{list="crl",root_generation="1"} 1');
      expect(m).toContain('dts_revocation_list_hours_left{list="crl",root_generation="1"} 312');
      now = subtractDuration(next, "P15D");
      const lists = (await app.inject({ url: "/readyz" })).json().warnings.filter((w: string) => /^(crl|arl):/.test(w));
      expect(lists).toEqual([]);
      expect((await app.inject({ url: "/metrics" })).body).toContain(
        'dts_revocation_list_warning{list="crl",root_generation="1"} 0',
      );
    } finally {
      now = addDuration(pki.t0, "P10D");
    }
  });
});

describe("trust-list signer freshness", () => {
  it("dts.crl.warn-before-next-update: /readyz warns warnBefore ahead of the trust-list signer certificate's expiry", async () => {
    const { app } = await setup();
    const notAfter = parseCertificate(pki.signerCert).notAfter;
    now = subtractDuration(notAfter, "P20D");
    try {
      expect((await app.inject({ url: "/readyz" })).json().warnings.join()).not.toMatch(/trust-list signer/);
      now = subtractDuration(notAfter, "P10D");
      const r = await app.inject({ url: "/readyz" });
      expect(r.statusCode).toBe(200);
      expect(r.json().warnings.join()).toMatch(/trust-list signer: certificate expires/);
      now = addDuration(notAfter, "P1D");
      expect((await app.inject({ url: "/readyz" })).json().warnings.join()).toMatch(
        /trust-list signer: no valid certificate/,
      );
    } finally {
      now = addDuration(pki.t0, "P10D");
    }
  });
});

describe("read-only repository", () => {
  it("dts.repository.read-only: unknown, malformed and traversal paths are 404/400 problem+json, never a stack trace", async () => {
    const { app } = await setup();
    await app.listen({ host: "127.0.0.1", port: 0 });
    const port = (app.server.address() as AddressInfo).port;
    try {
      const urls = [
        "/nope",
        "/certs/",
        "/certs/zz.der",
        "/certs/../trust.json",
        "/crl/../../etc/passwd",
        "/../../../../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/certs/%2F..%2F..%2Fetc%2Fpasswd",
        "/..%5c..%5cwindows",
        "//etc/passwd",
        "/trust.json/",
        "/trust.json%00",
        "/index.html/..",
        "/crl/ds.crl/",
        "/CRL/DS.CRL",
      ];
      for (const url of urls) {
        const r = await rawGet(port, url);
        expect(r.status, url).toBe(404);
        expect(r.headers["content-type"]).toBe("application/problem+json");
        expect(JSON.parse(r.body).status).toBe(404);
        noStack(r.body);
      }
      const bad = await rawGet(port, "/%zz%");
      expect([400, 404]).toContain(bad.status);
      expect(bad.headers["content-type"]).toBe("application/problem+json");
      noStack(bad.body);
      for (const method of ["POST", "PUT", "DELETE", "PATCH"] as const) {
        const r = await app.inject({
          method,
          url: "/crl/ds.crl",
          payload: "x",
          headers: { "content-type": "text/plain" },
        });
        expect(r.statusCode).toBe(405);
        expect(r.headers["content-type"]).toBe("application/problem+json");
        noStack(r.body);
      }
      // methods no route names (TRACE, WebDAV) are 405 with Allow too, not 404
      for (const method of ["TRACE", "PROPFIND"] as const)
        for (const url of ["/trust.json", "/no/such/file"]) {
          const r = await app.inject({ method, url });
          expect(r.statusCode, `${method} ${url}`).toBe(405);
          expect(r.headers.allow).toBe("GET, HEAD, OPTIONS");
          expect(r.headers["content-type"]).toBe("application/problem+json");
        }
    } finally {
      await app.close();
    }
  });
});

/** A GET with the path sent exactly as given (no client-side normalisation of "..", "%2e", "//"). */
function rawGet(
  port: number,
  path: string,
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method: "GET" }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }),
      );
    });
    req.on("error", reject);
    req.end();
  });
}

describe("signed trust list", () => {
  it("dts.trust-list.signed: COSE_Sign1 by the IACA-issued trust-list signer, listing the IACA with docType", async () => {
    const { app } = await setup();
    const r = await app.inject({ url: PATHS.trustList });
    expect(r.headers["content-type"]).toBe('application/cose; cose-type="cose-sign1"');
    const v = await verifyTrustList(r.rawPayload, [pki.root.der], now);
    expect(v.issueId).toBe(1);
    expect(v.certificates.map((c) => Buffer.from(c).toString("hex"))).toEqual([
      Buffer.from(pki.root.der).toString("hex"),
    ]);
    const info = (v.vical.get("certificateInfos") as Map<string, unknown>[])[0]!;
    expect(info.get("docType")).toEqual(["org.iso.23220.1.jp.mnc"]);
    expect(info.get("issuingCountry")).toBe("JP");
    expect(Buffer.from(info.get("ski") as Uint8Array).toString("hex")).toBe(parseCertificate(pki.root.der).ski);
    expect(v.vical.get("vicalProvider")).toBe("Digital Agency");
    // a stranger's root does not anchor it
    const other = await buildFixturePki();
    await expect(verifyTrustList(r.rawPayload, [other.root.der], now)).rejects.toThrow(/not issued by a trusted IACA/);
  });

  it("dts.trust-list.signed: re-signed when the published set changes, not otherwise", async () => {
    const local = await buildFixturePki();
    const source = new MemorySource(structuredClone(local.set));
    const publisher = new Publisher({ source, policy: local.policy, signer: local.signer, clock });
    await publisher.refresh();
    expect(source.set.trustList?.issueId).toBe(1);
    const first = publisher.tree!.entries.get(PATHS.trustList)!.etag;
    await publisher.refresh();
    expect(source.set.trustList?.issueId).toBe(1);
    expect(publisher.tree!.entries.get(PATHS.trustList)!.etag).toBe(first);
    const { newRoot, linkNewToOld, linkOldToNew } = await local.rekey(addDuration(local.t0, "P5D"));
    source.set.certificates.push(
      { der: newRoot.der, kind: "iaca", publishedAt: addDuration(local.t0, "P5D") },
      { der: linkOldToNew, kind: "link" },
      { der: linkNewToOld, kind: "link" },
    );
    await publisher.refresh();
    expect(source.set.trustList?.issueId).toBe(2);
    const v = await verifyTrustList(publisher.tree!.entries.get(PATHS.trustList)!.bytes, [local.root.der], now);
    expect(v.certificates).toHaveLength(2);
  });
});

describe("static export", () => {
  it("dts.export.identical: the exported files are byte for byte what the server serves, with a SHA-256 manifest", async () => {
    const { app, publisher } = await setup();
    const dir = await mkdtemp(join(tmpdir(), "dts-export-"));
    try {
      await exportTree(publisher.tree!, dir);
      expect(await verifyExport(dir)).toEqual([]);
      const manifest = JSON.parse(await readFile(join(dir, "manifest.json"), "utf8"));
      expect(manifest.files.length).toBeGreaterThan(10);
      for (const f of manifest.files as { path: string; contentType: string }[]) {
        const served = await app.inject({ url: f.path });
        expect(served.statusCode).toBe(200);
        expect(served.headers["content-type"]).toBe(f.contentType);
        expect(Buffer.compare(served.rawPayload, await readFile(join(dir, f.path)))).toBe(0);
      }
      const servedManifest = await app.inject({ url: "/manifest.json" });
      expect(servedManifest.body).toBe(await readFile(join(dir, "manifest.json"), "utf8"));
    } finally {
      await removeExport(dir);
    }
  });
});
