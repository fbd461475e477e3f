// `iaca dts install-certs / install-crl / export / status` through the CLI entry point, against a
// fresh PostgreSQL database (DATABASE_URL), no HSM (--no-sign: the stored trust list is published).

import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "@iaca/cli/main";
import { AuditLog } from "@iaca/db";
import { createDtsApp } from "@iaca/dts";
import { parseCertificate, toPem } from "@iaca/pki";
import { addDuration } from "@iaca/policy";
import { DbSource, installCaCertificates, Publisher, verifyExport } from "@iaca/trust";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildFixturePki, type FixturePki } from "../apps/dts/test/support/pki.ts";
import { type FreshDatabase, freshDatabase } from "./support/db.ts";

let pki: FixturePki;
let fresh: FreshDatabase;
let dir: string;

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const o = process.stdout.write.bind(process.stdout);
  const e = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string) => {
    out += s;
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => {
    err += s;
    return true;
  }) as typeof process.stderr.write;
  try {
    process.exitCode = undefined;
    const code = await main(["node", "iaca", ...args]);
    return { code, out, err };
  } finally {
    process.stdout.write = o;
    process.stderr.write = e;
    process.exitCode = undefined;
  }
}

beforeAll(async () => {
  // "now"-relative PKI so the CLI (real clock) sees valid material
  pki = await buildFixturePki({ t0: addDuration(new Date(), "P10D", -1) });
  fresh = await freshDatabase();
  process.env.DATABASE_URL = fresh.url;
  dir = mkdtempSync(join(tmpdir(), "dts-cli-"));
});

afterAll(async () => {
  await fresh?.drop();
  rmSync(dir, { recursive: true, force: true });
});

describe("iaca dts", () => {
  it("dts.publish.ca-certificates: install-certs pins the first root by fingerprint, then accepts a re-key only through its link", async () => {
    const audit = new AuditLog(fresh.db);
    const root = parseCertificate(pki.root.der);
    const files = [pki.root.der];
    await expect(installCaCertificates({ db: fresh.db, audit, actor: "op:t", files })).rejects.toMatchObject({
      code: "DTS_ROOT_UNPINNED",
    });
    const rootFile = join(dir, "iaca.pem");
    writeFileSync(rootFile, toPem(pki.root.der, "CERTIFICATE"));
    const r = await cli("dts", "install-certs", rootFile, "--bootstrap", root.sha256);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out).installed).toEqual([root.sha256]);

    const { newRoot, linkOldToNew, linkNewToOld } = await pki.rekey(new Date());
    // a new root alone is refused: nothing a trusted root signed connects to it
    await expect(
      installCaCertificates({ db: fresh.db, audit, actor: "op:t", files: [newRoot.der] }),
    ).rejects.toMatchObject({ code: "DTS_CERT_UNTRUSTED" });
    const res = await installCaCertificates({
      db: fresh.db,
      audit,
      actor: "op:t",
      files: [newRoot.der, linkNewToOld, linkOldToNew],
    });
    expect(res.installed).toHaveLength(3);
  });

  it("dts.crl.install-verified: install-crl, then export writes exactly what the server serves; status reports readiness", async () => {
    // the DS certificates and signer the operations room installed
    const { insertCertificates } = await import("../apps/dts/test/support/seed-db.ts");
    await insertCertificates(
      fresh.db.sql,
      pki.set.certificates.filter((c) => c.kind !== "iaca"),
    );
    const crlFile = join(dir, "ds.crl");
    writeFileSync(
      crlFile,
      await pki.crl("crl", { number: 1n, thisUpdate: new Date(), nextUpdate: addDuration(new Date(), "P100D") }),
    );
    const arlFile = join(dir, "iaca.arl");
    writeFileSync(
      arlFile,
      await pki.crl("arl", { number: 1n, thisUpdate: new Date(), nextUpdate: addDuration(new Date(), "P100D") }),
    );
    const before = await cli("dts", "status");
    expect(before.code).toBe(1);
    expect(JSON.parse(before.out).ready).toBe(false);
    for (const f of [crlFile, arlFile]) {
      const r = await cli("dts", "install-crl", f);
      expect(r.code, r.err).toBe(0);
      expect(JSON.parse(r.out)).toMatchObject({ number: "1", rootGen: 2 });
    }
    const again = await cli("dts", "install-crl", crlFile);
    expect(again.code).toBe(1);
    expect(again.err).toContain("DTS_CRL_NUMBER_NOT_INCREASING");
    // pki.crl.per-key: the first root's DS certificates are still valid, so its lists are needed too
    const pending = await cli("dts", "status");
    expect(pending.code).toBe(1);
    expect(JSON.parse(pending.out).warnings).toEqual(
      expect.arrayContaining(["arl g1: not installed", "crl g1: not installed"]),
    );
    const old = { by: pki.rootOf(1), thisUpdate: new Date(), nextUpdate: addDuration(new Date(), "P100D") };
    for (const kind of ["crl", "arl"] as const) {
      const f = join(dir, `old.${kind}`);
      writeFileSync(f, await pki.crl(kind, { ...old, number: kind === "crl" ? 3n : 4n }));
      const r = await cli("dts", "install-crl", f);
      expect(r.code, r.err).toBe(0);
      expect(JSON.parse(r.out)).toMatchObject({ rootGen: 1 });
    }
    const status = await cli("dts", "status");
    expect(status.code, status.out).toBe(0);

    // a trust-list issue signed by a replica with the HSM (here: the fixture's signer)
    const publisher = new Publisher({ source: new DbSource(fresh.db.stores), policy: pki.policy, signer: pki.signer });
    await publisher.refresh();
    const out = join(dir, "export");
    const r = await cli("dts", "export", out, "--no-sign");
    expect(r.code, r.err).toBe(0);
    expect(await verifyExport(out)).toEqual([]);
    const app = createDtsApp({ publisher, pollMs: 0 });
    const manifest = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8")) as { files: { path: string }[] };
    expect(manifest.files.map((f) => f.path)).toContain("/trust-list.cose");
    for (const f of manifest.files) {
      const served = await app.inject({ url: f.path });
      expect(Buffer.compare(served.rawPayload, readFileSync(join(out, f.path))), f.path).toBe(0);
    }
    expect((await app.inject({ url: "/manifest.json" })).body).toBe(readFileSync(join(out, "manifest.json"), "utf8"));
  });

  it("dts.repository.read-only: `iaca dts serve` answers over loopback from the database", async () => {
    const child = spawn(process.execPath, ["apps/cli/bin/iaca.js", "dts", "serve", "--port", "0", "--no-sign"], {
      env: { ...process.env, DATABASE_URL: fresh.url },
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = "";
        child.stdout.on("data", (d: Buffer) => {
          out += d.toString();
          const m = /at (http:\/\/\S+)/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.on("exit", (code) => reject(new Error(`serve exited ${code}`)));
      });
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status).toBe(200);
      const crl = await fetch(`${url}/crl/ds.crl`, { method: "HEAD" });
      expect(crl.headers.get("content-type")).toBe("application/pkix-crl");
      const post = await fetch(`${url}/crl/ds.crl`, { method: "POST", body: "x" });
      expect(post.status).toBe(405);
    } finally {
      child.kill("SIGTERM");
    }
  });
});
