import { generateKeyPairSync, verify } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { ALGORITHMS, algorithmBy, discardAudit } from "@iaca/policy";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSoftHsm, type SoftHsm } from "../../../test/support/softhsm.ts";
import { ClusterKeyStore, digest, KeyStore, rawToDer, softwareSigner } from "../src/index.ts";

/** Source files under `p` whose text contains `name`. */
function naming(p: string, name: string): string[] {
  if (statSync(p).isDirectory()) return readdirSync(p).flatMap((f) => naming(join(p, f), name));
  return /\.(ts|mts|mjs)$/.test(p) && readFileSync(p, "utf8").includes(name) ? [p] : [];
}

let hsm: SoftHsm;
let ks: KeyStore;

beforeAll(async () => {
  hsm = createSoftHsm(["signer-a", "signer-b"]);
  ks = await KeyStore.open({ module: hsm.module, token: "signer-a", pin: "signer-a-pin", audit: discardAudit });
});
afterAll(async () => {
  await ks?.close();
  hsm?.cleanup();
});

describe("the one Signer", () => {
  for (const curve of ["P-256", "P-384", "P-521"] as const) {
    it(`hsm.key.generated-on-token: KeyStore.signer knows a ${curve} key's algorithm; sign and signDigest verify`, async () => {
      const key = await ks.generateEcKey(`signer-${curve}`, { curve });
      const signer = await ks.signer(key.uri);
      const a = ALGORITHMS[curve];
      expect(signer.algorithm).toBe(a);
      const { keyObject } = await ks.getPublicKey(key.uri);
      const data = Buffer.from(`tbs for ${curve}`);
      const raw = await signer.sign(data);
      expect(raw.length).toBe(a.signatureSize);
      expect(verify(a.nodeHash, data, { key: keyObject, dsaEncoding: "ieee-p1363" }, raw)).toBe(true);
      expect(verify(a.nodeHash, data, keyObject, rawToDer(raw))).toBe(true);
      const fromDigest = await signer.signDigest(digest(a.hash, data));
      expect(verify(a.nodeHash, data, { key: keyObject, dsaEncoding: "ieee-p1363" }, fromDigest)).toBe(true);
    });
  }

  it("hsm.cluster.failover: ClusterKeyStore.signer signs on whichever node serves", async () => {
    const cluster = await ClusterKeyStore.open({
      audit: discardAudit,
      nodes: ["signer-a", "signer-b"].map((t) => ({ name: t, module: hsm.module, token: t, pin: `${t}-pin` })),
    });
    try {
      for (const n of ["signer-a", "signer-b"])
        await (await cluster.node(n)).generateEcKey("cl-ds", { curve: "P-384" });
      const signer = await cluster.signer("pkcs11:object=cl-ds");
      expect(signer.algorithm.cose).toBe(-35);
      const data = Buffer.from("cluster tbs");
      const raw = await signer.sign(data);
      const { keyObject } = await cluster.getPublicKey("pkcs11:object=cl-ds", "signer-a");
      expect(verify("sha384", data, { key: keyObject, dsaEncoding: "ieee-p1363" }, raw)).toBe(true);
    } finally {
      await cluster.close();
    }
  });

  it("a secret (HMAC) key has no Signer", async () => {
    const secret = await ks.generateHmacKey("signer-hmac");
    await expect(ks.signer(secret.uri)).rejects.toMatchObject({ code: "HSM_KEY_NOT_FOUND" });
  });

  it("registry: every lookup key finds its one entry", () => {
    for (const a of Object.values(ALGORITHMS))
      for (const k of ["curve", "jose", "cose", "coseCurve", "hash", "nodeCurve", "curveOid", "signatureOid"] as const)
        expect(algorithmBy(k, a[k])).toBe(a);
    expect(algorithmBy("cose", -8)).toBeUndefined();
  });

  it("hsm.key.stored-in-module: softwareSigner (tests only) signs like an HSM Signer, and no src/ outside packages/hsm names it", async () => {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "secp521r1" });
    const s = softwareSigner(privateKey);
    expect(s.algorithm.curve).toBe("P-521");
    const raw = await s.sign(Buffer.from("x"));
    expect(verify("sha512", Buffer.from("x"), { key: publicKey, dsaEncoding: "ieee-p1363" }, raw)).toBe(true);
    await expect(s.signDigest(digest("SHA-512", Buffer.from("x")))).rejects.toMatchObject({
      code: "HSM_MECHANISM_UNSUPPORTED",
    });
    const root = join(import.meta.dirname, "../../..");
    const offenders = ["packages", "apps"]
      .flatMap((d) => readdirSync(join(root, d)).map((w) => join(root, d, w, "src")))
      .filter((src) => !src.endsWith(join("packages", "hsm", "src")) && statSync(src, { throwIfNoEntry: false }))
      .flatMap((src) => naming(src, "softwareSigner"));
    expect(offenders).toEqual([]);
  });
});
