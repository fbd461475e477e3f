// The ECDSA check of a proof's signature, shared by the event loop (proof.ts) and the proof
// workers (proof-worker.mjs): the device key imported from its JWK members, the raw r||s
// signature as ieee-p1363, hashed with the item's hash (from @iaca/policy's algorithm registry).
// Plain JS, so a worker thread can load it as is.
import { createPublicKey, verify } from "node:crypto";

/** One boolean per item; a key that does not import or an unknown curve is false. */
export function checkSignatures(items) {
  return items.map(({ hash, crv, x, y, input, signature }) => {
    try {
      const key = createPublicKey({ key: { kty: "EC", crv, x, y }, format: "jwk" });
      return verify(hash, Buffer.from(input, "ascii"), { key, dsaEncoding: "ieee-p1363" }, signature);
    } catch {
      return false;
    }
  });
}
