import { parseCertificate } from "@iaca/pki";
import "reflect-metadata";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { addDuration } from "@iaca/policy";
import { DbSource, exportTree, installCrl, Publisher, removeExport, verifyExport } from "@iaca/trust";
import { X509CrlGenerator } from "@peculiar/x509";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FreshDatabase, freshDatabase } from "../../../test/support/db.ts";
import { createDtsApp } from "../src/index.ts";
import { buildFixturePki, type FixturePki } from "./support/pki.ts";
import { insertCertificates } from "./support/seed-db.ts";

let pki: FixturePki;
let fresh: FreshDatabase;
let source: DbSource;
let now: Date;
const clock = () => now;

beforeAll(async () => {
  pki = await buildFixturePki();
  now = addDuration(pki.t0, "P10D");
  fresh = await freshDatabase();
  source = new DbSource(fresh.db.stores);
  await insertCertificates(fresh.db.sql, pki.set.certificates);
  await source.insertCrl({
    kind: "crl",
    number: 1n,
    rootGen: 1,
    thisUpdate: pki.t0,
    nextUpdate: addDuration(pki.t0, "P100D"),
    der: pki.crlDer,
  });
  await source.insertCrl({
    kind: "arl",
    number: 2n,
    rootGen: 1,
    thisUpdate: pki.t0,
    nextUpdate: addDuration(pki.t0, "P100D"),
    der: pki.arlDer,
  });
});

afterAll(async () => {
  await fresh?.drop();
});

describe("DTS over the operations database", () => {
  it("dts.export.identical: two replicas over one database serve the same bytes; the trust list is signed once", async () => {
    const a = new Publisher({ source, policy: pki.policy, signer: pki.signer, clock });
    await a.refresh();
    const [row] = await fresh.db.sql.query<{ n: number }>("SELECT count(*)::int AS n FROM dts_trust_list");
    expect(row!.n).toBe(1);
    // a second replica (or `iaca dts export`) reads the stored issue instead of signing again
    const b = new Publisher({ source, policy: pki.policy, signer: pki.signer, clock });
    await b.refresh();
    const [row2] = await fresh.db.sql.query<{ n: number }>("SELECT count(*)::int AS n FROM dts_trust_list");
    expect(row2!.n).toBe(1);
    const app = createDtsApp({ publisher: a, pollMs: 0 });
    const dir = await mkdtemp(join(tmpdir(), "dts-db-export-"));
    try {
      await exportTree(b.tree!, dir);
      expect(await verifyExport(dir)).toEqual([]);
      const manifest = JSON.parse(await readFile(join(dir, "manifest.json"), "utf8")) as { files: { path: string }[] };
      for (const f of manifest.files) {
        const r = await app.inject({ url: f.path });
        expect(Buffer.compare(r.rawPayload, await readFile(join(dir, f.path))), f.path).toBe(0);
      }
      const trust = (await app.inject({ url: "/trust.json" })).json();
      expect(trust.certificates.map((c: { status: string }) => c.status).sort()).toEqual([
        "active",
        "active",
        "active",
        "revoked",
        "scheduled",
      ]);
    } finally {
      await removeExport(dir);
      await app.close();
    }
  });

  it("dts.crl.install-verified: a newer CRL from the root ceremony is verified and published", async () => {
    const der = await pki.crl("crl", {
      number: 2n,
      thisUpdate: addDuration(pki.t0, "P9D"),
      nextUpdate: addDuration(pki.t0, "P109D"),
      revoked: [pki.dsRevoked, pki.dsScheduled],
    });
    const pem = Buffer.from(
      `-----BEGIN X509 CRL-----\n${Buffer.from(der).toString("base64")}\n-----END X509 CRL-----\n`,
    );
    const revokedAt = (serial: string) =>
      fresh.db.sql
        .query<{ revoked_at: Date | null }>("SELECT revoked_at FROM pki_certificate WHERE serial = $1", [serial])
        .then((rows) => rows[0]?.revoked_at ?? null);
    const scheduledSerial = parseCertificate(pki.dsScheduled).serial;
    const before = await revokedAt(parseCertificate(pki.dsRevoked).serial);
    expect(await revokedAt(scheduledSerial)).toBeNull();
    const r = await installCrl({ source, policy: pki.policy, data: pem, kind: "crl", now });
    expect(r.number).toBe(2n);
    expect(r.previous).toBe(1n);
    // the operations room learns the revocation from the list: only the DS not yet marked here is new
    expect(r.newlyRevoked).toEqual([scheduledSerial]);
    expect(await revokedAt(scheduledSerial)).toEqual(addDuration(pki.t0, "P9D"));
    expect(await revokedAt(parseCertificate(pki.dsRevoked).serial)).toEqual(before);
    const p = new Publisher({ source, policy: pki.policy, signer: pki.signer, clock });
    await p.refresh();
    const app = createDtsApp({ publisher: p, pollMs: 0 });
    const trust = (await app.inject({ url: "/trust.json" })).json();
    expect(trust.crl.number).toBe("2");
    const sched = parseCertificate(pki.dsScheduled).sha256;
    expect(trust.certificates.find((c: { sha256: string }) => c.sha256 === sched).status).toBe("revoked");
    expect(Buffer.from((await app.inject({ url: "/crl/ds.crl" })).rawPayload).equals(Buffer.from(der))).toBe(true);
  });

  it("dts.crl.install-verified: refuses a repeated number, a foreign issuer, a bad signature, a bad profile, an expired list", async () => {
    const code = (p: Promise<unknown>) =>
      p.then(
        () => "installed",
        (e: { code?: string }) => e.code,
      );
    const same = await pki.crl("crl", { number: 2n, thisUpdate: now, nextUpdate: addDuration(now, "P100D") });
    expect(await code(installCrl({ source, policy: pki.policy, data: same, kind: "crl", now }))).toBe(
      "DTS_CRL_NUMBER_NOT_INCREASING",
    );
    const stranger = await buildFixturePki();
    const foreign = await stranger.crl("crl", { number: 9n, thisUpdate: now, nextUpdate: addDuration(now, "P100D") });
    expect(await code(installCrl({ source, policy: pki.policy, data: foreign, kind: "crl", now }))).toBe(
      "DTS_CRL_ISSUER_UNKNOWN",
    );
    const good = await pki.crl("crl", { number: 3n, thisUpdate: now, nextUpdate: addDuration(now, "P100D") });
    const tampered = Uint8Array.from(good);
    tampered[tampered.length - 5]! ^= 0x01;
    expect(await code(installCrl({ source, policy: pki.policy, data: tampered, kind: "crl", now }))).toBe(
      "DTS_CRL_SIGNATURE",
    );
    // signed by the right key but outside the Annex B profile (no CRL number, no AKI)
    const off = await X509CrlGenerator.create({
      issuer: parseCertificate(pki.root.der).subject,
      thisUpdate: now,
      nextUpdate: addDuration(now, "P100D"),
      signingAlgorithm: { name: "ECDSA", hash: "SHA-384" },
      signingKey: pki.root.privateKey,
    });
    expect(
      await code(installCrl({ source, policy: pki.policy, data: new Uint8Array(off.rawData), kind: "crl", now })),
    ).toMatch(/DTS_CRL_(PROFILE|ISSUER_UNKNOWN)/);
    const later = addDuration(now, "P200D");
    expect(await code(installCrl({ source, policy: pki.policy, data: good, kind: "crl", now: later }))).toBe(
      "DTS_CRL_EXPIRED",
    );
    expect(await code(installCrl({ source, policy: pki.policy, data: Buffer.from("junk"), kind: "crl", now }))).toBe(
      "DTS_CRL_UNREADABLE",
    );
    expect(await source.latestCrlNumber("crl", 1)).toBe(2n);
  });
});
