// Proof signature worker (see proof-workers.ts): imports each device key from its JWK and checks
// the ECDSA signature (ieee-p1363) with node:crypto, off the event loop. Plain JS: loaded by
// node:worker_threads as is.
import { createPublicKey, verify } from "node:crypto";
import { parentPort } from "node:worker_threads";

const HASHES = { "P-256": "sha256", "P-384": "sha384", "P-521": "sha512" };

parentPort.on("message", ({ id, items }) => {
  const ok = items.map(({ crv, x, y, input, signature }) => {
    try {
      const key = createPublicKey({ key: { kty: "EC", crv, x, y }, format: "jwk" });
      return verify(HASHES[crv], Buffer.from(input, "ascii"), { key, dsaEncoding: "ieee-p1363" }, signature);
    } catch {
      return false;
    }
  });
  parentPort.postMessage({ id, ok });
});
