import { createHash, verify } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { discardAudit } from "@iaca/policy";
import pkcs11js from "pkcs11js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSoftHsm, rawPkcs11, type SoftHsm } from "../../../test/support/softhsm.ts";
import { ClusterKeyStore } from "../src/index.ts";

let hsm: SoftHsm;
let cluster: ClusterKeyStore;
const BACKOFF = 50;

beforeAll(async () => {
  hsm = createSoftHsm(["ds-a", "ds-b"]);
  cluster = await ClusterKeyStore.open({
    audit: discardAudit,
    retryBackoffMs: BACKOFF,
    nodes: [
      { name: "a", module: hsm.module, token: "ds-a", pin: "ds-a-pin", sessions: 4 },
      { name: "b", module: hsm.module, token: "ds-b", pin: "ds-b-pin", sessions: 4 },
    ],
  });
  // SoftHSM cannot clone a non-extractable key between tokens: each node gets its own key under one label
  for (const n of ["a", "b"]) await (await cluster.node(n)).generateEcKey("ds-2025-01");
});
afterAll(() => {
  cluster?.close();
  hsm?.cleanup();
});

async function verifies(sig: { raw: Buffer; node: string }, data: Buffer): Promise<boolean> {
  const pub = await cluster.getPublicKey("pkcs11:object=ds-2025-01", sig.node);
  return verify("sha256", data, { key: pub.keyObject, dsaEncoding: "ieee-p1363" }, sig.raw);
}

describe("ClusterKeyStore", () => {
  it("hsm.cluster.failover: signs on the primary, fails over when it becomes unavailable, returns after backoff", async () => {
    const data = Buffer.from("mso");
    const first = await cluster.sign("pkcs11:object=ds-2025-01", data);
    expect(first.node).toBe("a");
    expect(await verifies(first, data)).toBe(true);

    // Make node a unavailable underneath: its PIN changes and all its sessions are closed
    // (which logs the process out), so re-login with the configured PIN fails.
    const p11 = rawPkcs11(hsm.module);
    const slotA = (await cluster.node("a")).slotId;
    const s = p11.C_OpenSession(slotA, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    p11.C_SetPIN(s, "ds-a-pin", "rotated-pin");
    p11.C_CloseAllSessions(slotA);

    const during = await Promise.all(Array.from({ length: 8 }, () => cluster.sign("pkcs11:object=ds-2025-01", data)));
    for (const sig of during) {
      expect(sig.node).toBe("b");
      expect(await verifies(sig, data)).toBe(true);
    }
    const status = cluster.status();
    expect(status.find((n) => n.name === "a")).toMatchObject({ lastError: "HSM_PIN_INCORRECT" });
    expect(status.find((n) => n.name === "a")?.consecutiveFailures).toBeGreaterThan(0);

    // Node a recovers (PIN restored); after its backoff it serves again.
    const s2 = p11.C_OpenSession(slotA, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    p11.C_Login(s2, pkcs11js.CKU_USER, "rotated-pin");
    p11.C_SetPIN(s2, "rotated-pin", "ds-a-pin");
    p11.C_CloseSession(s2);
    await sleep(BACKOFF * 4);
    const back = await cluster.sign("pkcs11:object=ds-2025-01", data);
    expect(back.node).toBe("a");
    expect(await verifies(back, data)).toBe(true);
    expect(cluster.status().find((n) => n.name === "a")).toMatchObject({ consecutiveFailures: 0, healthy: true });
  });

  it("hsm.cluster.failover: a key missing on one node is served by another; caller errors do not fail over", async () => {
    await (await cluster.node("b")).generateEcKey("only-on-b");
    const sig = await cluster.sign("pkcs11:object=only-on-b", Buffer.from("x"));
    expect(sig.node).toBe("b");
    expect(cluster.status().every((n) => n.consecutiveFailures === 0)).toBe(true);
    await expect(cluster.signDigest("pkcs11:object=ds-2025-01", Buffer.alloc(3))).rejects.toMatchObject({
      code: "HSM_INVALID_INPUT",
    });
    await expect(cluster.sign("pkcs11:object=nowhere", Buffer.from("x"))).rejects.toMatchObject({
      code: "HSM_KEY_NOT_FOUND",
    });
  });

  it("hsm.cluster.failover: the issuer's operations (raw signature, HMAC, AES-GCM) are served by another node when one is down", async () => {
    for (const n of ["a", "b"]) {
      const ks = await cluster.node(n);
      await ks.generateHmacKey("holder-ref");
      await ks.generateAesKey("responses");
    }
    const ref = cluster.uriFor("ds-2025-01");
    expect(ref).toBe("pkcs11:object=ds-2025-01");
    const msg = Buffer.from("mso");
    const digest = createHash("sha256").update(msg).digest();
    const verifiesOn = async (raw: Buffer, node: string) =>
      verify("sha256", msg, { key: (await cluster.getPublicKey(ref, node)).keyObject, dsaEncoding: "ieee-p1363" }, raw);
    // node a serves while it is up (SoftHSM nodes cannot share one key: each signs with its own),
    // on its signing workers like a single KeyStore would
    const before = (await cluster.node("a")).stats().workerSignatures;
    for (let i = 0; i < 5; i++) expect(await verifiesOn(await cluster.signDigestRaw(ref, digest), "a")).toBe(true);
    expect((await cluster.node("a")).stats().workerSignatures).toBeGreaterThan(before);

    const p11 = rawPkcs11(hsm.module);
    const slotA = (await cluster.node("a")).slotId;
    const s = p11.C_OpenSession(slotA, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    p11.C_SetPIN(s, "ds-a-pin", "down-pin");
    p11.C_CloseAllSessions(slotA);
    try {
      expect(await verifiesOn(await cluster.signDigestRaw(ref, digest), "b")).toBe(true);
      const mac = await cluster.hmac(cluster.uriFor("holder-ref"), Buffer.from("x"));
      expect(mac).toEqual(
        await (await cluster.node("b")).hmac((await cluster.node("b")).uriFor("holder-ref"), Buffer.from("x")),
      );
      const sealed = await cluster.encrypt(cluster.uriFor("responses"), Buffer.from("reply"));
      expect(sealed.node).toBe("b");
      expect((await cluster.decrypt(cluster.uriFor("responses"), sealed)).toString()).toBe("reply");
      expect(cluster.status().find((n) => n.name === "a")?.consecutiveFailures).toBeGreaterThan(0);
    } finally {
      const s2 = p11.C_OpenSession(slotA, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
      p11.C_Login(s2, pkcs11js.CKU_USER, "down-pin");
      p11.C_SetPIN(s2, "down-pin", "ds-a-pin");
      p11.C_CloseSession(s2);
    }
  });

  it("a cluster whose nodes cannot be opened reports HSM_UNAVAILABLE with per-node codes", async () => {
    const err = await ClusterKeyStore.open({
      audit: discardAudit,
      nodes: [
        { name: "x", module: hsm.module, token: "missing-x", pin: "p" },
        { name: "y", module: "/nonexistent/pkcs11.so", token: "y", pin: "p" },
      ],
    }).catch((e) => e);
    expect(err.code).toBe("HSM_UNAVAILABLE");
    expect(err.details.nodes).toEqual([
      { name: "x", error: "HSM_TOKEN_NOT_FOUND" },
      { name: "y", error: "HSM_MODULE_LOAD_FAILED" },
    ]);
  });
});
