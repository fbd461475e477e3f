import { createHash } from "node:crypto";
import type { OfferStore } from "@iaca/db";
import { EmbeddedJWK, errors, jwtVerify } from "jose";
import { DPOP_PROOF } from "../controls.ts";
import { jwkThumbprint } from "../proof.ts";
import { DPOP_ALGS, OAuthError } from "./oauth-error.ts";

/** What a DPoP proof must match: the request it came with and, at a resource, the access token. */
export interface DpopRequest {
  method: string;
  /** The endpoint's published URL (no query, no fragment): `htu` must equal it. */
  url: string;
  /** The access token presented with it (resource requests): `ath` must be its SHA-256. */
  accessToken?: string;
  now: Date;
}

/** How old a DPoP proof may be, and the clock skew tolerated (seconds). */
const MAX_AGE = 300;
const SKEW = 60;

/**
 * Checks the DPoP header of a request (RFC 9449 4.3): one compact JWT, typ dpop+jwt, an ES* alg
 * with a public EC key in `jwk` that signed it, `htm` and `htu` of this request, `iat` recent,
 * `ath` of the access token at a resource, and a `jti` never seen before (remembered in the
 * database until the proof would be too old anyway). Returns the key's RFC 7638 thumbprint (jkt).
 * A failure is `invalid_dpop_proof` (400 at the token endpoint, 401 at a resource).
 */
export async function verifyDpop(
  header: unknown,
  req: DpopRequest,
  seen: OfferStore,
  status: 400 | 401,
): Promise<string> {
  void DPOP_PROOF;
  const fail = (why: string) => new OAuthError("invalid_dpop_proof", `DPoP proof: ${why}`, status);
  if (typeof header !== "string" || header.length === 0 || header.length > 4096)
    throw fail("exactly one DPoP header with a compact JWT is required");
  let payload: Record<string, unknown>;
  let jwk: Record<string, unknown>;
  try {
    const r = await jwtVerify(header, EmbeddedJWK, {
      typ: "dpop+jwt",
      algorithms: [...DPOP_ALGS],
      currentDate: req.now,
      clockTolerance: SKEW,
      maxTokenAge: MAX_AGE,
    });
    payload = r.payload as Record<string, unknown>;
    jwk = r.protectedHeader.jwk as Record<string, unknown>;
  } catch (e) {
    if (e instanceof errors.JOSEError)
      throw fail(e.code === "ERR_JWT_CLAIM_VALIDATION_FAILED" ? e.message : "signature, key or header invalid");
    throw e;
  }
  if (jwk.kty !== "EC") throw fail("the key must be an EC key");
  if (typeof payload.jti !== "string" || payload.jti.length < 8 || payload.jti.length > 256)
    throw fail("jti must be a string of 8 to 256 characters");
  if (payload.htm !== req.method) throw fail("htm does not match the request method");
  if (typeof payload.htu !== "string" || stripQuery(payload.htu) !== req.url)
    throw fail("htu does not match the endpoint");
  if (req.accessToken !== undefined) {
    const ath = createHash("sha256").update(req.accessToken).digest("base64url");
    if (payload.ath !== ath) throw fail("ath does not match the access token");
  }
  // an EC public key that jose imported and verified with: crv, x and y are there
  const jkt = jwkThumbprint(jwk as Parameters<typeof jwkThumbprint>[0]);
  const jti = createHash("sha256").update(`${jkt}\n${payload.jti}`).digest("hex");
  const until = new Date(req.now.getTime() + (MAX_AGE + 2 * SKEW) * 1000);
  if (!(await seen.firstUse(jti, until))) throw fail("this proof was already used (jti replayed)");
  return jkt;
}

/** RFC 9449 4.3 step 9: htu is compared without query and fragment. */
function stripQuery(url: string): string {
  try {
    const u = new URL(url);
    u.search = "";
    u.hash = "";
    return u.toString();
  } catch {
    return "";
  }
}
