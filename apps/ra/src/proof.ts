import { createHash } from "node:crypto";
import type { DeviceKey } from "@iaca/issuer";
import { decodeProtectedHeader, EmbeddedJWK, errors as joseErrors, jwtVerify } from "jose";
import { DEVICE_KEY_HOLDER_HELD, PROOF_DEVICE_KEY } from "./controls.ts";
import { ProblemError } from "./problem.ts";

/** Enforced here: every device key signs the nonce (openid4vci-proof+jwt). */
void PROOF_DEVICE_KEY; // the controls this module enforces
void DEVICE_KEY_HOLDER_HELD;

export const PROOF_TYP = "openid4vci-proof+jwt";
const ALGS: Record<string, string> = { "P-256": "ES256", "P-384": "ES384", "P-521": "ES512" };

export interface VerifiedProofs {
  nonce: string;
  devices: DeviceKey[];
}

export interface ProofOptions {
  /** Expected `aud` (the credential issuer identifier); unchecked when undefined. */
  audience?: string;
  /** Maximum age of `iat` in seconds (default 300) and tolerated clock skew (default 60). */
  maxAgeSeconds?: number;
  clockToleranceSeconds?: number;
  now?: () => Date;
}

function deviceKeyOf(header: ReturnType<typeof decodeProtectedHeader>, index: number): DeviceKey["jwk"] {
  const jwk = header.jwk as Record<string, unknown> | undefined;
  const bad = (detail: string) => new ProblemError("invalid-device-key", `proof ${index}: ${detail}`, { index });
  if (!jwk || typeof jwk !== "object") throw bad("the jwk header is missing");
  // ra.device-key.holder-held: public keys only
  if ("d" in jwk) throw bad("the jwk header holds a private key");
  if (jwk.kty !== "EC") throw bad("the device key must be an EC key");
  if (typeof jwk.crv !== "string" || !ALGS[jwk.crv]) throw bad("the device key curve must be P-256, P-384 or P-521");
  if (typeof jwk.x !== "string" || typeof jwk.y !== "string") throw bad("the device key lacks x or y");
  if (header.alg !== ALGS[jwk.crv]) throw bad(`alg must be ${ALGS[jwk.crv]} for ${jwk.crv}`);
  return { kty: "EC", crv: jwk.crv, x: jwk.x, y: jwk.y };
}

/**
 * RFC 7638 SHA-256 thumbprint of an EC public JWK (required members crv, kty, x, y in
 * lexicographic order), as jose's calculateJwkThumbprint computes it, without a WebCrypto
 * round trip per key.
 */
export function jwkThumbprint(jwk: DeviceKey["jwk"]): string {
  const members = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  return createHash("sha256").update(members).digest("base64url");
}

/**
 * Verifies each proof JWT: typ openid4vci-proof+jwt, an EC device key in the jwk header that
 * signed it, iat recent, one nonce shared by all proofs, distinct device keys. The nonce itself
 * is consumed by the caller (single use).
 */
export async function verifyProofs(jwts: string[], opts: ProofOptions = {}): Promise<VerifiedProofs> {
  const now = opts.now?.() ?? new Date();
  const maxAge = opts.maxAgeSeconds ?? 300;
  const skew = opts.clockToleranceSeconds ?? 60;
  const results = await Promise.all(
    jwts.map(async (jwt, index) => {
      let header: ReturnType<typeof decodeProtectedHeader>;
      try {
        header = decodeProtectedHeader(jwt);
      } catch {
        throw new ProblemError("invalid-proof", `proof ${index}: the JWT header is malformed`, { index });
      }
      if (header.typ !== PROOF_TYP)
        throw new ProblemError("invalid-proof", `proof ${index}: typ must be ${PROOF_TYP}`, { index });
      const jwk = deviceKeyOf(header, index);
      let payload: Record<string, unknown>;
      try {
        const r = await jwtVerify(jwt, EmbeddedJWK, {
          typ: PROOF_TYP,
          algorithms: [ALGS[jwk.crv]!],
          requiredClaims: ["iat", "nonce"],
          clockTolerance: skew,
          currentDate: now,
          maxTokenAge: maxAge + skew,
          ...(opts.audience ? { audience: opts.audience } : {}),
        });
        payload = r.payload as Record<string, unknown>;
      } catch (e) {
        if (e instanceof joseErrors.JOSEError && (e.code === "ERR_JWK_INVALID" || e.code === "ERR_JOSE_NOT_SUPPORTED"))
          throw new ProblemError("invalid-device-key", `proof ${index}: the device key is not usable`, { index });
        const reason =
          e instanceof joseErrors.JWTClaimValidationFailed || e instanceof joseErrors.JWTExpired
            ? `claim ${(e as joseErrors.JWTClaimValidationFailed).claim}: ${(e as Error).message}`
            : "signature or structure invalid";
        throw new ProblemError("invalid-proof", `proof ${index}: ${reason}`, { index });
      }
      if (typeof payload.nonce !== "string")
        throw new ProblemError("invalid-proof", `proof ${index}: nonce must be a string`, { index });
      const thumbprint = jwkThumbprint(jwk);
      return { nonce: payload.nonce, device: { jwk, thumbprint } satisfies DeviceKey };
    }),
  );
  const nonce = results[0]!.nonce;
  if (results.some((r) => r.nonce !== nonce))
    throw new ProblemError("invalid-proof", "all proofs of a request must carry the same nonce");
  const seen = new Set<string>();
  for (const [index, r] of results.entries()) {
    if (seen.has(r.device.thumbprint))
      throw new ProblemError("invalid-device-key", `proof ${index}: device key repeated in the batch`, { index });
    seen.add(r.device.thumbprint);
  }
  return { nonce, devices: results.map((r) => r.device) };
}
