import { buildPath } from "@iaca/mdoc";
import { fromPemOrDer, parseCertificate } from "@iaca/pki";
import type { Policy } from "@iaca/policy";
import { calculateJwkThumbprint, decodeProtectedHeader, importX509, jwtVerify } from "jose";
import { KEY_ATTESTATION } from "../controls.ts";
import { OAuthError } from "./oauth-error.ts";

/** The wallet providers' certificates a policy trusts, parsed once per policy object. */
const anchorsOf = new WeakMap<Policy, ReturnType<typeof parseCertificate>[]>();
function anchors(policy: Policy) {
  let a = anchorsOf.get(policy);
  if (!a) {
    a = policy.openid4vci.keyAttestation.trustAnchors
      .flatMap((pem) => fromPemOrDer(Buffer.from(pem)))
      .map((der) => parseCertificate(der));
    anchorsOf.set(policy, a);
  }
  return a;
}

/**
 * When the policy requires key attestations (HAIP; OpenID4VCI 1.0 Appendix D.1), each jwt proof's
 * `key_attestation` header must be a `key-attestation+jwt` signed by the leaf of its `x5c`, whose
 * path reaches a trusted wallet provider, unexpired, and listing the proof's key (by RFC 7638
 * thumbprint) in `attested_keys`. `thumbprints` are the proofs' device keys, in proof order.
 */
export async function checkKeyAttestations(
  jwts: string[],
  thumbprints: string[],
  policy: Policy,
  now = new Date(),
): Promise<void> {
  void KEY_ATTESTATION;
  if (!policy.openid4vci.keyAttestation.required) return;
  for (const [i, jwt] of jwts.entries()) {
    const bad = (why: string) => new OAuthError("invalid_proof", `proof ${i}: key attestation ${why}`);
    const attestation = decodeProtectedHeader(jwt).key_attestation;
    if (typeof attestation !== "string") throw bad("missing (the policy requires one)");
    const attested = await verifyAttestation(attestation, policy, now).catch((e: Error) => {
      throw bad(e.message);
    });
    if (!attested.includes(thumbprints[i]!)) throw bad("does not attest this proof's key");
  }
}

/** The thumbprints of the keys an attestation attests, once its signature, path and time check. */
async function verifyAttestation(jwt: string, policy: Policy, now: Date): Promise<string[]> {
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(jwt);
  } catch {
    throw new Error("is not a JWS");
  }
  if (header.typ !== "key-attestation+jwt") throw new Error("typ must be key-attestation+jwt");
  const x5c = header.x5c;
  if (!Array.isArray(x5c) || x5c.length === 0 || x5c.length > 5) throw new Error("needs an x5c chain");
  const chain = x5c.map((c) => parseCertificate(Buffer.from(String(c), "base64")));
  const path = await buildPath(chain[0]!, anchors(policy), chain.slice(1), now, "wallet provider");
  if ("error" in path) throw new Error(`signer not trusted: ${path.error}`);
  const key = await importX509(chain[0]!.x509.toString("pem"), String(header.alg));
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(jwt, key, {
      typ: "key-attestation+jwt",
      algorithms: ["ES256", "ES384", "ES512"],
      currentDate: now,
      clockTolerance: 60,
    }));
  } catch {
    throw new Error("signature or claims invalid");
  }
  if (typeof payload.exp !== "number") throw new Error("needs exp (jwt proof type)");
  const keys = payload.attested_keys;
  if (!Array.isArray(keys) || keys.length === 0 || keys.length > 100) throw new Error("needs attested_keys");
  return Promise.all(
    keys.map((k) => calculateJwkThumbprint(k as Parameters<typeof calculateJwkThumbprint>[0], "sha256")),
  );
}
