// Properties the parsers must keep on hostile input (issue 16 item 11): every input either parses
// or is refused with the parser's own typed error; nothing else escapes (no TypeError, no
// RangeError from the stack, no hang). Shared by test/fuzz.test.ts (a bounded smoke run in
// npm test) and scripts/fuzz.ts (`npm run fuzz -- --minutes N`).

import { generateKeyPairSync } from "node:crypto";
import { decodeCbor, encodeCbor, MdocError } from "@iaca/mdoc";
import { lintArtifact } from "@iaca/pki";
import { DEFAULT_POLICY, IacaError } from "@iaca/policy";
import { ProblemError, verifyProofs } from "@iaca/ra";
import fc from "fast-check";
import { exportJWK, importJWK, SignJWT } from "jose";

/** Byte strings: random ones, and a valid sample with bytes flipped, cut or repeated. */
export function mutatedBytes(valid: Uint8Array): fc.Arbitrary<Uint8Array> {
  const flips = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 8 });
  const mutated = fc.tuple(flips, fc.nat(), fc.boolean()).map(([fs, cut, truncate]) => {
    const b = Uint8Array.from(valid);
    for (const [at, x] of fs) b[at % b.length] = (b[at % b.length] ?? 0) ^ x;
    return truncate ? b.subarray(0, cut % (b.length + 1)) : b;
  });
  return fc.oneof(fc.uint8Array({ maxLength: 2048 }), mutated);
}

/** A nested CBOR value with every kind the codec writes, as a valid sample to mutate. */
export const CBOR_SAMPLE = encodeCbor(
  new Map<string, unknown>([
    ["a", [1, -2, "x", new Uint8Array([1, 2, 3]), true, null]],
    ["b", new Map([[1, [new Map([["c", "d"]])]]])],
  ]) as never,
);

export const cborProperty = (sample: Uint8Array = CBOR_SAMPLE) =>
  fc.property(mutatedBytes(sample), (bytes) => {
    try {
      decodeCbor(bytes);
    } catch (e) {
      if (!(e instanceof MdocError)) throw e;
    }
  });

export const derProperty = (sample: Uint8Array) =>
  fc.property(mutatedBytes(sample), (bytes) => {
    try {
      lintArtifact(bytes, { policy: DEFAULT_POLICY });
    } catch (e) {
      if (!(e instanceof IacaError)) throw e;
    }
  });

/** A proof JWT: three base64url parts, random or a valid one with parts swapped, cut or re-encoded. */
export function jwtStrings(valid: string): fc.Arbitrary<string> {
  const [h, p, s] = valid.split(".") as [string, string, string];
  const part = fc.oneof(
    fc.constantFrom(h, p, s),
    fc.string({ maxLength: 200 }),
    fc.json().map((j) => Buffer.from(j).toString("base64url")),
  );
  return fc.oneof(
    fc.string({ maxLength: 400 }),
    fc.tuple(part, part, part).map((xs) => xs.join(".")),
    fc.nat().map((n) => valid.slice(0, n % (valid.length + 1))),
  );
}

export const proofProperty = (valid: string) =>
  fc.asyncProperty(jwtStrings(valid), async (jwt) => {
    try {
      await verifyProofs([jwt]);
    } catch (e) {
      if (!(e instanceof ProblemError)) throw e;
    }
  });
/** A valid proof JWT (ES256, jwk header) to mutate. */
export async function sampleProof(): Promise<string> {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = await exportJWK(publicKey);
  const key = await importJWK(privateKey.export({ format: "jwk" }) as never, "ES256");
  return new SignJWT({ nonce: "n-fuzz" })
    .setProtectedHeader({ alg: "ES256", typ: "openid4vci-proof+jwt", jwk })
    .setIssuedAt()
    .sign(key);
}
