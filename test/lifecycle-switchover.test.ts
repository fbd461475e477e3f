// DS switchover without downtime: issuance load while an injected clock crosses a DS activation
// boundary (no real waiting). Real SoftHSM keys, real PostgreSQL, the issuer as deployed
// (PkiDsSource over the pki tables), the rotation job running in the middle of the load.
import { randomUUID } from "node:crypto";
import { AuditLog } from "@iaca/db";
import { KeyStore } from "@iaca/hsm";
import { IssuerService, PkiDsSource } from "@iaca/issuance";
import { runRotation, syntheticHolder } from "@iaca/lifecycle";
import { decodeCbor, type EmbeddedCbor, get, verifyMdoc } from "@iaca/mdoc";
import { dsInstall, dsKeygen, type Room, rootInit, rootSignCsr } from "@iaca/pki";
import { DEFAULT_POLICY } from "@iaca/policy";
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FreshDatabase, freshDatabase } from "./support/db.ts";
import { createSoftHsm, type SoftHsm } from "./support/softhsm.ts";

const policy = DEFAULT_POLICY;
const B = new Date("2026-06-01T00:00:00Z"); // DS #2 activates here
let hsm: SoftHsm;
let fresh: FreshDatabase;
let root: KeyStore;
let ds: KeyStore;
let rootDer: Uint8Array;
const serials: string[] = [];

beforeAll(async () => {
  hsm = createSoftHsm();
  fresh = await freshDatabase();
  const audit = new AuditLog(fresh.db);
  root = await KeyStore.open({ module: hsm.module, token: "iaca-root", pin: "iaca-root-pin", audit, sessions: 2 });
  ds = await KeyStore.open({ module: hsm.module, token: "iaca-ds", pin: "iaca-ds-pin", audit, sessions: 8 });
  const t0 = new Date("2026-05-01T00:00:00Z");
  const room = (k: KeyStore): Room => ({
    policy,
    db: fresh.db,
    hsm: k,
    audit,
    actors: ["op:a", "op:b"],
    now: () => t0,
  });
  const r = await rootInit(room(root), { at: t0 });
  rootDer = r.cert.der;
  for (const nb of [t0, B]) {
    const k = await dsKeygen(room(ds));
    const s = await rootSignCsr(room(root), k.csr, { notBefore: nb });
    await dsInstall(room(ds), s.cert.der, [rootDer]);
    serials.push(s.serial);
  }
  await IssuerService.ensureSecretKeys(ds, audit);
});

afterAll(async () => {
  root?.close();
  ds?.close();
  await fresh?.drop();
  hsm?.cleanup();
});

const signedOf = (issuerSigned: string) => {
  const auth = get(decodeCbor(Buffer.from(issuerSigned, "base64url")), "issuerAuth") as unknown[];
  const mso = (decodeCbor(auth[2] as Uint8Array) as EmbeddedCbor).decode() as Map<string, unknown>;
  return (get(mso.get("validityInfo") as never, "signed") as { date: Date }).date;
};

describe("DS switchover", () => {
  it("lifecycle.switchover.no-downtime: load across the activation boundary: none fails, each MSO is signed by the key active at its signed time", async () => {
    // The clock starts 1.5 s before the boundary and moves 100 ms every time anyone reads it, so
    // batches start before and sign after the boundary, and the rotation job runs in between.
    let t = B.getTime() - 1500;
    const now = () => {
      t += 100;
      return new Date(t);
    };
    const audit = new AuditLog(fresh.db);
    const issuer = new IssuerService({
      db: fresh.db,
      keyStore: ds,
      policy,
      ds: new PkiDsSource(fresh.db.stores.certificates),
      audit,
      now,
    });
    const devices = await Promise.all(
      [0, 1].map(async () => {
        const { publicKey } = await generateKeyPair("ES256", { extractable: true });
        const jwk = (await exportJWK(publicKey)) as { kty: "EC"; crv: string; x: string; y: string };
        return { jwk, thumbprint: await calculateJwkThumbprint(jwk) };
      }),
    );
    const requests = Array.from({ length: 24 }, (_, i) =>
      issuer.issue({
        requestId: randomUUID(),
        clientId: "wallet-a",
        profile: "interop",
        holder: syntheticHolder(i + 1),
        devices,
      }),
    );
    const rotation = runRotation({ db: fresh.db, policy, audit, hsm: ds, now, trustListSigner: false });
    const results = await Promise.allSettled(requests);
    const rot = await rotation;
    const failed = results
      .filter((r) => r.status === "rejected")
      .map((r) => String((r as PromiseRejectedResult).reason));
    expect(failed).toEqual([]);
    const used = new Set<string>();
    for (const r of results) {
      if (r.status !== "fulfilled") continue;
      for (const c of r.value.credentials) {
        const signed = signedOf(c.issuerSigned);
        const expected = signed < B ? serials[0] : serials[1];
        expect(r.value.dsCertificateSerial, `signed ${signed.toISOString()}`).toBe(expected);
        const v = await verifyMdoc(c.issuerSigned, { trustAnchors: [rootDer], at: signed });
        expect(v.ok, JSON.stringify(v.checks.filter((x) => x.status === "FAIL"))).toBe(true);
        used.add(r.value.dsCertificateSerial);
      }
    }
    expect(used.size).toBe(2); // the load really crossed the boundary
    // the job ran inside the load and recorded the hand-over it saw (no CRL in this set-up: critical)
    expect(rot.actions.every((a) => a.status === "done" && a.kind.startsWith("ds."))).toBe(true);
    expect(rot.warnings.map((w) => w.kind)).toContain("crl.next-update");
  });
});
