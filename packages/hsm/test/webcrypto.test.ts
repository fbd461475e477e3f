import "reflect-metadata";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { discardAudit } from "@iaca/policy";
import * as x509 from "@peculiar/x509";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSoftHsm, type SoftHsm } from "../../../test/support/softhsm.ts";
import { KeyStore, webCryptoFor } from "../src/index.ts";

let hsm: SoftHsm;
let ks: KeyStore;

beforeAll(async () => {
  hsm = createSoftHsm(["iaca-root"]);
  ks = await KeyStore.open({ module: hsm.module, token: "iaca-root", pin: "iaca-root-pin", audit: discardAudit });
});
afterAll(() => {
  ks?.close();
  hsm?.cleanup();
});

describe("WebCrypto bridge (node-webcrypto-p11 in the same process as pkcs11js)", () => {
  it("self-signed P-384 certificate made with @peculiar/x509 verifies with openssl; pkcs11js keeps working", async () => {
    const key = await ks.generateEcKey("iaca-2025", { curve: "P-384" });
    const bridge = await webCryptoFor(ks, key.uri);
    try {
      const cert = await x509.X509CertificateGenerator.createSelfSigned(
        {
          serialNumber: "01",
          name: "C=JP, O=Digital Agency, CN=Test IACA",
          notBefore: new Date(Date.now() - 60_000),
          notAfter: new Date(Date.now() + 86_400_000),
          signingAlgorithm: { name: "ECDSA", hash: "SHA-384" },
          keys: { privateKey: bridge.privateKey, publicKey: bridge.publicKey },
          extensions: [new x509.BasicConstraintsExtension(true, 0, true)],
        },
        bridge.crypto,
      );
      const pem = cert.toString("pem");
      const file = join(hsm.dir, "iaca.pem");
      writeFileSync(file, pem);
      const text = execFileSync("openssl", ["x509", "-noout", "-text", "-in", file], { encoding: "utf8" });
      expect(text).toContain("ecdsa-with-SHA384");
      expect(text).toMatch(/CN ?= ?Test IACA/);
      const out = execFileSync("openssl", ["verify", "-CAfile", file, file], { encoding: "utf8" });
      expect(out.trim()).toBe(`${file}: OK`);
      // the certificate's key is the token key
      const pub = await ks.getPublicKey(key.uri);
      expect(Buffer.from(cert.publicKey.rawData).equals(pub.spki)).toBe(true);
    } finally {
      bridge.close();
    }
    // pkcs11js path unaffected by the bridge (no logout, no finalize)
    const sig = await ks.sign(key.uri, Buffer.from("after bridge"), "SHA-384");
    expect(sig.raw.length).toBe(96);
  });

  it("hsm.key.non-extractable: WebCrypto exportKey of the private key is refused", async () => {
    const key = await ks.generateEcKey("bridge-export");
    const bridge = await webCryptoFor(ks, key.uri);
    try {
      expect(bridge.privateKey.extractable).toBe(false);
      await expect(bridge.crypto.subtle.exportKey("pkcs8", bridge.privateKey)).rejects.toThrow();
      await expect(bridge.crypto.subtle.exportKey("jwk", bridge.privateKey)).rejects.toThrow();
    } finally {
      bridge.close();
    }
  });
});
