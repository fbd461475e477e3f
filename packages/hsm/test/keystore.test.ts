import { createHash, verify } from "node:crypto";
import type { AuditEventInput, Curve } from "@iaca/policy";
import pkcs11js from "pkcs11js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSoftHsm, rawPkcs11, type SoftHsm } from "../../../test/support/softhsm.ts";
import { derToRaw, HsmError, KeyStore } from "../src/index.ts";

/** Finds one object on a raw session (class + label). */
function findRaw(p11: pkcs11js.PKCS11, s: Buffer, cls: number, label: string): Buffer | undefined {
  p11.C_FindObjectsInit(s, [
    { type: pkcs11js.CKA_CLASS, value: cls },
    { type: pkcs11js.CKA_LABEL, value: label },
  ]);
  try {
    return p11.C_FindObjects(s, 1)[0];
  } finally {
    p11.C_FindObjectsFinal(s);
  }
}

function ckrOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (e) {
    return (e as { code?: number }).code;
  }
  return undefined;
}

let hsm: SoftHsm;
let ks: KeyStore;
const events: AuditEventInput[] = [];
const audit = { append: async (e: AuditEventInput) => events.push(e) };

beforeAll(async () => {
  hsm = createSoftHsm(["iaca-ds", "iaca-root", "iaca-spare"]);
  ks = await KeyStore.open({ module: hsm.module, token: "iaca-ds", pin: "iaca-ds-pin", audit, sessions: 8 });
});
afterAll(() => {
  ks?.close();
  hsm?.cleanup();
});

const HASH: Record<Curve, "SHA-256" | "SHA-384" | "SHA-512"> = {
  "P-256": "SHA-256",
  "P-384": "SHA-384",
  "P-521": "SHA-512",
};

describe("KeyStore on SoftHSM", () => {
  for (const curve of ["P-256", "P-384", "P-521"] as const) {
    it(`hsm.key.generated-on-token: ${curve} key pair signs; raw and DER verify with node:crypto`, async () => {
      const key = await ks.generateEcKey(`sig-${curve}`, { curve });
      expect(key.curve).toBe(curve);
      const pub = await ks.getPublicKey(key.uri);
      expect(pub.curve).toBe(curve);
      expect(pub.jwk.crv).toBe(curve);
      const data = Buffer.from(`mso for ${curve}`);
      const hash = HASH[curve];
      const nodeAlg = hash.replace("-", "").toLowerCase();
      const sig = await ks.sign(key.uri, data, hash);
      expect(verify(nodeAlg, data, { key: pub.keyObject, dsaEncoding: "ieee-p1363" }, sig.raw)).toBe(true);
      expect(verify(nodeAlg, data, pub.keyObject, sig.der)).toBe(true);
      expect(derToRaw(sig.der, sig.raw.length / 2).equals(sig.raw)).toBe(true);
      // signDigest with a caller-computed digest
      const d = await ks.signDigest(key.uri, createHash(nodeAlg).update(data).digest());
      expect(verify(nodeAlg, data, { key: pub.keyObject, dsaEncoding: "ieee-p1363" }, d.raw)).toBe(true);
      const attrs = await ks.keyAttributes(key.uri);
      expect(attrs).toMatchObject({ local: true, token: true, private: true, sign: true, decrypt: false });
    });
  }

  it("hsm.key.non-extractable: private key is sensitive, CKA_VALUE read gives CKR_ATTRIBUTE_SENSITIVE", async () => {
    const key = await ks.generateEcKey("nonextract");
    expect(await ks.keyAttributes(key.uri)).toMatchObject({
      sensitive: true,
      extractable: false,
      alwaysSensitive: true,
      neverExtractable: true,
      unwrap: false,
      derive: false,
    });
    const p11 = rawPkcs11(hsm.module);
    const s = p11.C_OpenSession(ks.slotId, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    try {
      p11.C_FindObjectsInit(s, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
        { type: pkcs11js.CKA_LABEL, value: "nonextract" },
      ]);
      const [h] = p11.C_FindObjects(s, 1);
      p11.C_FindObjectsFinal(s);
      expect(h).toBeDefined();
      let code: number | undefined;
      try {
        p11.C_GetAttributeValue(s, h!, [{ type: pkcs11js.CKA_VALUE }]);
      } catch (e) {
        code = (e as { code?: number }).code;
      }
      expect(code).toBe(pkcs11js.CKR_ATTRIBUTE_SENSITIVE);
      // the key cannot be made extractable afterwards (CKA_MODIFIABLE=false, and PKCS#11 forbids it anyway)
      expect(() => p11.C_SetAttributeValue(s, h!, [{ type: pkcs11js.CKA_EXTRACTABLE, value: true }])).toThrow();
      const [ex] = p11.C_GetAttributeValue(s, h!, [{ type: pkcs11js.CKA_EXTRACTABLE }]);
      expect(ex!.value).toEqual(Buffer.from([0]));
    } finally {
      p11.C_CloseSession(s);
    }
  });

  it("hsm.key.non-extractable: AES and HMAC keys are sensitive and non-extractable", async () => {
    const aes = await ks.generateAesKey("resp-enc");
    const mac = await ks.generateHmacKey("mynumber-hmac");
    for (const k of [aes, mac]) {
      expect(await ks.keyAttributes({ object: k.label, type: "secret-key" })).toMatchObject({
        sensitive: true,
        extractable: false,
        neverExtractable: true,
        local: true,
      });
    }
  });

  it("AES-256-GCM on the token: round trip, AAD bound, tampering is HSM_DECRYPT_FAILED", async () => {
    const uri = ks.uriFor("resp-enc");
    const aad = Buffer.from("issuance-42");
    const sealed = await ks.encrypt(uri, Buffer.from("response body"), { aad });
    expect(sealed.iv.length).toBe(12);
    expect(sealed.tag.length).toBe(16);
    expect((await ks.decrypt(uri, sealed, { aad })).toString()).toBe("response body");
    await expect(ks.decrypt(uri, sealed, { aad: Buffer.from("other") })).rejects.toMatchObject({
      code: "HSM_DECRYPT_FAILED",
    });
    const bad = { ...sealed, ciphertext: Buffer.from(sealed.ciphertext) };
    bad.ciphertext[0]! ^= 1;
    await expect(ks.decrypt(uri, bad, { aad })).rejects.toBeInstanceOf(HsmError);
  });

  it("HMAC-SHA256 on the token is deterministic and key-dependent", async () => {
    const a = await ks.hmac(ks.uriFor("mynumber-hmac"), Buffer.from("123456789012"));
    const b = await ks.hmac(ks.uriFor("mynumber-hmac"), Buffer.from("123456789012"));
    expect(a.length).toBe(32);
    expect(a.equals(b)).toBe(true);
    const other = await ks.generateHmacKey("other-hmac");
    expect((await ks.hmac(other.uri, Buffer.from("123456789012"))).equals(a)).toBe(false);
  });

  it("HMAC on the signing workers equals HMAC on the pool; long messages stay on the pool", async () => {
    const uri = ks.uriFor("mynumber-hmac");
    const msg = (i: number) => Buffer.from(`holder-ref:${String(123456789000 + i)}`);
    const before = ks.stats();
    const first = await Promise.all(Array.from({ length: 4 }, (_, i) => ks.hmac(uri, msg(i)))); // the pool finds the key
    const again = await Promise.all(Array.from({ length: 200 }, (_, i) => ks.hmac(uri, msg(i % 4))));
    for (const [i, mac] of again.entries()) expect(mac.equals(first[i % 4]!), `mac ${i}`).toBe(true);
    expect(new Set(first.map((m) => m.toString("hex"))).size).toBe(4);
    const after = ks.stats();
    expect(after.workerSignatures - before.workerSignatures).toBeGreaterThanOrEqual(200);
    expect(after.workerRetries).toBe(before.workerRetries);
    const long = Buffer.alloc(100, 7);
    expect((await ks.hmac(uri, long)).equals(await ks.hmac(uri, long))).toBe(true);
  });

  it("64 concurrent async signers all succeed without blocking the event loop", async () => {
    const key = await ks.generateEcKey("concurrent");
    const pub = await ks.getPublicKey(key.uri);
    // twice: the first signatures find the key on the session pool, later ones go to the signing workers
    for (const round of ["pool", "workers"]) {
      let done = 0;
      const onWorkers = ks.stats().workerSignatures;
      const all = Promise.all(
        Array.from({ length: 64 }, (_, i) =>
          ks.sign(key.uri, Buffer.from(`doc ${i}`)).then((s) => {
            done++;
            return [i, s] as const;
          }),
        ),
      );
      // The signatures are made off the event loop (pkcs11js's async C_Sign on libuv's threads, or
      // the signing workers) and come back as events: with only microtasks run, none is done. Not
      // "some still pending after one turn", which depends on how fast the HSM is.
      for (let k = 0; k < 100; k++) await Promise.resolve();
      expect(done, round).toBe(0);
      for (const [i, s] of await all)
        expect(
          verify("sha256", Buffer.from(`doc ${i}`), { key: pub.keyObject, dsaEncoding: "ieee-p1363" }, s.raw),
        ).toBe(true);
      if (round === "workers") expect(ks.stats().workerSignatures - onWorkers).toBe(64);
    }
    expect(ks.stats().sessionsOpened).toBeLessThanOrEqual(8);
  });

  it("signing workers: 1,200 concurrent signatures over 2 workers (more than their rings hold), mixed curves, each over its own digest", async () => {
    const store = await KeyStore.open({
      module: hsm.module,
      token: "iaca-root",
      pin: "iaca-root-pin",
      audit,
      signWorkers: 2,
    });
    try {
      const keys = await Promise.all(
        (["P-256", "P-521"] as const).map(async (curve) => {
          const k = await store.generateEcKey(`ring-${curve}`, { curve });
          await store.sign(k.uri, Buffer.from("first"), HASH[curve]); // the first signature finds the key on the pool
          return { curve, uri: k.uri, pub: (await store.getPublicKey(k.uri)).keyObject };
        }),
      );
      const jobs = Array.from({ length: 1200 }, (_, i) => ({ i, key: keys[i % 2]! }));
      const sigs = await Promise.all(
        jobs.map(({ i, key }) => store.sign(key.uri, Buffer.from(`ring ${i}`), HASH[key.curve])),
      );
      jobs.forEach(({ i, key }, n) => {
        const hash = HASH[key.curve].replace("-", "").toLowerCase();
        const ok = verify(hash, Buffer.from(`ring ${i}`), { key: key.pub, dsaEncoding: "ieee-p1363" }, sigs[n]!.raw);
        expect(ok, `signature ${i} (${key.curve})`).toBe(true);
      });
      expect(store.stats()).toMatchObject({ workerSignatures: 1200, workerRetries: 0 });
    } finally {
      await store.close();
    }
  });

  it("hsm.session.recovery: signing succeeds after all sessions were closed underneath (CKR_SESSION_HANDLE_INVALID)", async () => {
    const key = await ks.generateEcKey("recover");
    const pub = await ks.getPublicKey(key.uri);
    await Promise.all(Array.from({ length: 8 }, () => ks.sign(key.uri, Buffer.from("warm"))));
    const before = ks.stats();
    rawPkcs11(hsm.module).C_CloseAllSessions(ks.slotId); // also logs the application out of the token
    const sigs = await Promise.all(Array.from({ length: 16 }, () => ks.sign(key.uri, Buffer.from("after"))));
    for (const s of sigs)
      expect(verify("sha256", Buffer.from("after"), { key: pub.keyObject, dsaEncoding: "ieee-p1363" }, s.raw)).toBe(
        true,
      );
    const after = ks.stats();
    expect(after.sessionsLost).toBeGreaterThan(before.sessionsLost);
    expect(after.logins).toBeGreaterThan(before.logins);
  });

  it("lists keys with URIs; labels are unique; unknown keys are HSM_KEY_NOT_FOUND", async () => {
    const keys = await ks.listKeys();
    const labels = keys.map((k) => k.label);
    expect(labels).toEqual(expect.arrayContaining(["sig-P-256", "resp-enc", "mynumber-hmac"]));
    expect(keys.find((k) => k.label === "sig-P-384")).toMatchObject({ kind: "ec", curve: "P-384" });
    expect(keys.find((k) => k.label === "resp-enc")?.kind).toBe("aes");
    await expect(ks.generateEcKey("sig-P-256")).rejects.toMatchObject({ code: "HSM_KEY_EXISTS" });
    await expect(ks.sign(ks.uriFor("nope"), Buffer.from("x"))).rejects.toMatchObject({ code: "HSM_KEY_NOT_FOUND" });
    await expect(ks.sign("pkcs11:token=other;object=sig-P-256", Buffer.from("x"))).rejects.toMatchObject({
      code: "HSM_TOKEN_MISMATCH",
    });
  });

  it("hsm.key.destroy-audited: destroy removes the key pair and appends an audit event", async () => {
    const key = await ks.generateEcKey("to-destroy");
    await ks.sign(key.uri, Buffer.from("warm cache"));
    await ks.destroy(key.uri, { actor: "op:alice", reason: "test" });
    await expect(ks.sign(key.uri, Buffer.from("x"))).rejects.toMatchObject({ code: "HSM_KEY_NOT_FOUND" });
    await expect(ks.getPublicKey(key.uri)).rejects.toMatchObject({ code: "HSM_KEY_NOT_FOUND" });
    const ev = events.find((e) => e.action === "hsm.key.destroy" && e.outcome === "success");
    expect(ev).toMatchObject({ actor: "op:alice", targets: [key.uri], clause: { id: "6.2.10" } });
    await expect(ks.destroy(key.uri, { actor: "op:alice" })).rejects.toMatchObject({ code: "HSM_KEY_NOT_FOUND" });
    expect(events.some((e) => e.action === "hsm.key.destroy" && e.outcome === "failure")).toBe(true);
    expect(events.some((e) => e.action === "hsm.key.generate" && e.clause.id === "5.4.1")).toBe(true);
  });

  it("hsm.activation.login: a wrong PIN gives HSM_PIN_INCORRECT; the right one logs in once for many sessions", async () => {
    // iaca-root is not logged in yet in this process (PKCS#11 logins are per application and token)
    const err = await KeyStore.open({ module: hsm.module, token: "iaca-root", pin: "wrong", audit }).catch((e) => e);
    expect(err).toBeInstanceOf(HsmError);
    expect(err.code).toBe("HSM_PIN_INCORRECT");
    expect(err.message).not.toContain("wrong");
    await expect(KeyStore.open({ module: hsm.module, token: "iaca-root", pin: "", audit })).rejects.toMatchObject({
      code: "HSM_PIN_MISSING",
    });
    const root = await KeyStore.open({
      module: hsm.module,
      token: "iaca-root",
      pin: "iaca-root-pin",
      audit,
      signWorkers: 0, // signatures on the session pool
    });
    try {
      const k = await root.generateEcKey("root-key", { curve: "P-384" });
      await Promise.all(Array.from({ length: 6 }, () => root.sign(k.uri, Buffer.from("x"), "SHA-384")));
      expect(root.stats().logins).toBe(1);
      expect(root.stats().sessionsOpened).toBeGreaterThan(1);
      // the refused and the accepted activation are both audit events (CP/CPS 5.4.1), without the PIN
      const activations = events.filter(
        (e) => e.action === "hsm.activate" && e.targets[0] === "pkcs11:token=iaca-root",
      );
      expect(activations.slice(-2).map((e) => [e.outcome, e.details?.code, e.clause.id])).toEqual([
        ["failure", "HSM_PIN_INCORRECT", "6.2.8"],
        ["success", undefined, "6.2.8"],
      ]);
      expect(JSON.stringify(activations)).not.toContain("iaca-root-pin");
    } finally {
      root.close();
    }
  });

  it("missing token is HSM_TOKEN_NOT_FOUND; missing module is HSM_MODULE_LOAD_FAILED", async () => {
    await expect(KeyStore.open({ module: hsm.module, token: "no-such", pin: "x", audit })).rejects.toMatchObject({
      code: "HSM_TOKEN_NOT_FOUND",
    });
    await expect(KeyStore.open({ module: "/nonexistent/lib.so", token: "t", pin: "x", audit })).rejects.toMatchObject({
      code: "HSM_MODULE_LOAD_FAILED",
    });
  });

  it("hsm.key.stored-in-module: EC and secret keys are private token objects, found again from a new session", async () => {
    const ec = await ks.generateEcKey("stored-ec");
    const aes = await ks.generateAesKey("stored-aes");
    expect(await ks.keyAttributes(ec.uri)).toMatchObject({ token: true, private: true });
    expect(await ks.keyAttributes({ object: aes.label, type: "secret-key" })).toMatchObject({
      token: true,
      private: true,
    });
    const p11 = rawPkcs11(hsm.module);
    const s = p11.C_OpenSession(ks.slotId, pkcs11js.CKF_SERIAL_SESSION);
    try {
      for (const [cls, label] of [
        [pkcs11js.CKO_PRIVATE_KEY, "stored-ec"],
        [pkcs11js.CKO_SECRET_KEY, "stored-aes"],
      ] as const) {
        const h = findRaw(p11, s, cls, label);
        expect(h, label).toBeDefined();
        const [token, priv] = p11.C_GetAttributeValue(s, h!, [
          { type: pkcs11js.CKA_TOKEN },
          { type: pkcs11js.CKA_PRIVATE },
        ]);
        expect(token!.value).toEqual(Buffer.from([1]));
        expect(priv!.value).toEqual(Buffer.from([1]));
      }
    } finally {
      p11.C_CloseSession(s);
    }
  });

  it("hsm.key.sign-only: an EC private key signs but the token refuses decrypt and derive with it", async () => {
    const key = await ks.generateEcKey("sign-only");
    expect(await ks.keyAttributes(key.uri)).toMatchObject({ sign: true, decrypt: false, unwrap: false, derive: false });
    const pub = await ks.getPublicKey(key.uri);
    const p11 = rawPkcs11(hsm.module);
    const s = p11.C_OpenSession(ks.slotId, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    try {
      const h = findRaw(p11, s, pkcs11js.CKO_PRIVATE_KEY, "sign-only")!;
      const derive = ckrOf(() =>
        p11.C_DeriveKey(
          s,
          {
            mechanism: pkcs11js.CKM_ECDH1_DERIVE,
            parameter: {
              type: pkcs11js.CK_PARAMS_EC_DH,
              kdf: pkcs11js.CKD_NULL,
              publicData: pub.point,
            } as pkcs11js.ECDH1,
          },
          h,
          [
            { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
            { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_GENERIC_SECRET },
            { type: pkcs11js.CKA_VALUE_LEN, value: 32 },
            { type: pkcs11js.CKA_TOKEN, value: false },
          ],
        ),
      );
      expect(derive).toBe(pkcs11js.CKR_KEY_FUNCTION_NOT_PERMITTED);
      const decrypt = ckrOf(() => p11.C_DecryptInit(s, { mechanism: pkcs11js.CKM_ECDSA }, h));
      expect(decrypt).toBeDefined(); // no decryption with a signing key, whatever the mechanism
    } finally {
      p11.C_CloseSession(s);
    }
    // through the KeyStore an EC key is only ever a signing key
    await expect(ks.encrypt({ object: "sign-only", type: "secret-key" }, Buffer.from("x"))).rejects.toMatchObject({
      code: "HSM_KEY_NOT_FOUND",
    });
  });

  it("hsm.key.sizes: P-256/384/521 and 256-bit secrets only; other curves are refused before anything is generated", async () => {
    for (const curve of ["P-192", "secp256k1", "Ed25519"])
      await expect(ks.generateEcKey(`bad-${curve}`, { curve: curve as Curve })).rejects.toMatchObject({
        code: "HSM_INVALID_INPUT",
        details: { control: "hsm.key.sizes" },
      });
    expect((await ks.listKeys()).some((k) => k.label.startsWith("bad-"))).toBe(false);
    const mac = await ks.generateHmacKey("size-hmac");
    const p11 = rawPkcs11(hsm.module);
    const s = p11.C_OpenSession(ks.slotId, pkcs11js.CKF_SERIAL_SESSION);
    try {
      const h = findRaw(p11, s, pkcs11js.CKO_SECRET_KEY, mac.label)!;
      const [len] = p11.C_GetAttributeValue(s, h, [{ type: pkcs11js.CKA_VALUE_LEN }]);
      expect((len!.value as Buffer).readUIntLE(0, 4)).toBe(32);
    } finally {
      p11.C_CloseSession(s);
    }
    for (const curve of ["P-256", "P-384", "P-521"] as const)
      expect((await ks.listKeys()).find((k) => k.label === `sig-${curve}`)?.curve).toBe(curve);
  });

  it("hsm.key.generate-audited: success and failure of a generation are audited with key URI, curve and clause 5.4.1", async () => {
    const key = await ks.generateEcKey("audited-gen", { curve: "P-384", actor: "op:alice", reason: "ceremony" });
    expect(events.filter((e) => e.action === "hsm.key.generate" && e.targets[0] === key.uri)).toEqual([
      expect.objectContaining({
        actor: "op:alice",
        outcome: "success",
        clause: expect.objectContaining({ id: "5.4.1" }),
        details: expect.objectContaining({ control: "hsm.key.generate-audited", kind: "ec", curve: "P-384" }),
      }),
    ]);
    const err = await ks.generateEcKey("audited-gen", { actor: "op:bob" }).catch((e) => e);
    expect(err.code).toBe("HSM_KEY_EXISTS");
    expect(events.at(-1)).toMatchObject({
      actor: "op:bob",
      action: "hsm.key.generate",
      outcome: "failure",
      details: { code: "HSM_KEY_EXISTS" },
    });
  });

  it("hsm.key.no-escrow: C_WrapKey of a private or secret key is refused by the token; the KeyStore has no export path", async () => {
    const ec = await ks.generateEcKey("escrow-ec");
    const aes = await ks.generateAesKey("escrow-aes");
    const p11 = rawPkcs11(hsm.module);
    const s = p11.C_OpenSession(ks.slotId, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    try {
      // a would-be escrow key: a session AES key allowed to wrap
      const kek = p11.C_GenerateKey(s, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
        { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
        { type: pkcs11js.CKA_VALUE_LEN, value: 32 },
        { type: pkcs11js.CKA_TOKEN, value: false },
        { type: pkcs11js.CKA_WRAP, value: true },
        { type: pkcs11js.CKA_EXTRACTABLE, value: false },
      ]);
      const priv = findRaw(p11, s, pkcs11js.CKO_PRIVATE_KEY, ec.label)!;
      const secret = findRaw(p11, s, pkcs11js.CKO_SECRET_KEY, aes.label)!;
      expect(
        ckrOf(() => p11.C_WrapKey(s, { mechanism: pkcs11js.CKM_AES_KEY_WRAP_PAD }, kek, priv, Buffer.alloc(4096))),
      ).toBe(pkcs11js.CKR_KEY_UNEXTRACTABLE);
      expect(
        ckrOf(() => p11.C_WrapKey(s, { mechanism: pkcs11js.CKM_AES_KEY_WRAP }, kek, secret, Buffer.alloc(256))),
      ).toBe(pkcs11js.CKR_KEY_UNEXTRACTABLE);
      p11.C_DestroyObject(s, kek);
    } finally {
      p11.C_CloseSession(s);
    }
    const api = Object.getOwnPropertyNames(KeyStore.prototype);
    expect(api.filter((m) => /export|wrap|import|backup|escrow|clone/i.test(m))).toEqual([]);
  });

  it("hsm.deactivation.close: close() closes every session (pool and signing workers), logging the token out", async () => {
    const spare = await KeyStore.open({
      module: hsm.module,
      token: "iaca-spare",
      pin: "iaca-spare-pin",
      audit,
      sessions: 4,
      signWorkers: 2,
    });
    const key = await spare.generateEcKey("deactivate");
    // the first signature with a key runs on the pool; later ones on the signing workers
    for (let i = 0; i < 3; i++)
      await Promise.all(Array.from({ length: 8 }, () => spare.sign(key.uri, Buffer.from(`x${i}`))));
    const slot = spare.slotId;
    const p11 = rawPkcs11(hsm.module);
    const state = () => {
      const s = p11.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION);
      try {
        return { state: p11.C_GetSessionInfo(s).state, key: findRaw(p11, s, pkcs11js.CKO_PRIVATE_KEY, "deactivate") };
      } finally {
        p11.C_CloseSession(s);
      }
    };
    const CKS_RO_PUBLIC_SESSION = 0;
    const CKS_RO_USER_FUNCTIONS = 1;
    expect(state()).toMatchObject({ state: CKS_RO_USER_FUNCTIONS, key: expect.any(Buffer) });
    await spare.close();
    // no session of this process is left on the token: a new one is public and sees no private key
    expect(state()).toEqual({ state: CKS_RO_PUBLIC_SESSION, key: undefined });
    await expect(spare.sign(key.uri, Buffer.from("after"))).rejects.toMatchObject({ code: "HSM_CLOSED" });
    // the other store (another token) is unaffected
    await expect(ks.sign(ks.uriFor("sig-P-256"), Buffer.from("still"))).resolves.toHaveProperty("raw");
  });
});
