import { createHash } from "node:crypto";
import type { DeviceKey } from "@iaca/issuance";
import { algorithmBy } from "@iaca/policy";
import { base64url, decodeJwt, decodeProtectedHeader } from "jose";
import { DEVICE_KEY_HOLDER_HELD, PROOF_AUDIENCE, PROOF_DEVICE_KEY } from "./controls.ts";
import { ProblemError } from "./problem.ts";
import { checkSignatures } from "./proof-signature.mjs";
import type { SignatureChecker } from "./proof-workers.ts";

export const PROOF_TYP = "openid4vci-proof+jwt";

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
  /** Where signatures are checked (ProofWorkers.check); default: on the event loop. */
  signatures?: SignatureChecker;
}

function deviceKeyOf(header: ReturnType<typeof decodeProtectedHeader>, index: number): DeviceKey["jwk"] {
  void DEVICE_KEY_HOLDER_HELD; // a public key only: a jwk with private members is refused
  const jwk = header.jwk as Record<string, unknown> | undefined;
  const bad = (detail: string) => new ProblemError("invalid-device-key", `proof ${index}: ${detail}`, { index });
  if (!jwk || typeof jwk !== "object") throw bad("the jwk header is missing");
  // ra.device-key.holder-held: public keys only
  if ("d" in jwk) throw bad("the jwk header holds a private key");
  if (jwk.kty !== "EC") throw bad("the device key must be an EC key");
  const alg = algorithmBy("curve", jwk.crv);
  if (typeof jwk.crv !== "string" || !alg) throw bad("the device key curve must be P-256, P-384 or P-521");
  if (typeof jwk.x !== "string" || typeof jwk.y !== "string") throw bad("the device key lacks x or y");
  for (const c of ["x", "y"] as const)
    if (!isCanonicalCoordinate(jwk[c] as string, alg.coordinateSize))
      throw bad(`${c} must be the unpadded base64url of exactly ${alg.coordinateSize} bytes (RFC 7518 6.2.1.2)`);
  if (header.alg !== alg.jose) throw bad(`alg must be ${alg.jose} for ${jwk.crv}`);
  return { kty: "EC", crv: jwk.crv, x: jwk.x, y: jwk.y };
}

/**
 * One spelling per key (issue 16 item 1): base64url without padding, of exactly the curve's
 * coordinate size, with zero unused bits. Otherwise one key could be written several ways, each
 * with its own thumbprint, and the batch's duplicate-key check and the refresh's holder check
 * (both on thumbprints) could be walked around.
 */
function isCanonicalCoordinate(b64u: string, size: number): boolean {
  if (!/^[A-Za-z0-9_-]+$/.test(b64u) || b64u.length !== Math.ceil((size * 4) / 3)) return false;
  const bytes = Buffer.from(b64u, "base64url");
  return bytes.length === size && bytes.toString("base64url") === b64u;
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

/** The claim checks jose's jwtVerify made (same order, same messages); a failure names its claim. */
class ClaimError extends Error {
  readonly claim: string;
  constructor(claim: string, message: string) {
    super(message);
    this.claim = claim;
  }
}

function checkClaims(payload: Record<string, unknown>, now: number, maxAge: number, skew: number, audience?: string) {
  // presence: aud (when expected), iat, nonce
  for (const claim of [...(audience !== undefined ? ["aud"] : []), "iat", "nonce"])
    if (!Object.hasOwn(payload, claim)) throw new ClaimError(claim, `missing required "${claim}" claim`);
  if (audience !== undefined) {
    void PROOF_AUDIENCE;
    const aud = payload.aud;
    if (!(typeof aud === "string" ? aud === audience : Array.isArray(aud) && aud.includes(audience)))
      throw new ClaimError("aud", `unexpected "aud" claim value`);
  }
  const numeric = (claim: string) => {
    const v = payload[claim];
    if (v !== undefined && typeof v !== "number") throw new ClaimError(claim, `"${claim}" claim must be a number`);
    return v as number | undefined;
  };
  const iat = numeric("iat") as number; // present (checked above)
  const nbf = numeric("nbf");
  if (nbf !== undefined && nbf > now + skew) throw new ClaimError("nbf", `"nbf" claim timestamp check failed`);
  const exp = numeric("exp");
  if (exp !== undefined && exp <= now - skew) throw new ClaimError("exp", `"exp" claim timestamp check failed`);
  const age = now - iat;
  if (age - skew > maxAge + skew)
    throw new ClaimError("iat", `"iat" claim timestamp check failed (too far in the past)`);
  if (age < -skew) throw new ClaimError("iat", `"iat" claim timestamp check failed (it should be in the past)`);
}

/**
 * The JWS checks jose's EmbeddedJWK + jwtVerify made on top of deviceKeyOf: a compact JWS of three
 * parts, `crit` only for a b64 that is true, the embedded JWK's optional members consistent with
 * a public verification key (`use` sig, `alg` the header's, `key_ops` ["verify"], `ext` boolean).
 * Returns false for a structural failure ("signature or structure invalid"), "unsupported" for an
 * extension jose did not support (it answered ERR_JOSE_NOT_SUPPORTED, mapped to invalid-device-key).
 */
function checkStructure(
  header: ReturnType<typeof decodeProtectedHeader>,
  jwk: Record<string, unknown>,
): true | false | "unsupported" {
  if (header.crit !== undefined) {
    const crit = header.crit as unknown;
    if (!Array.isArray(crit) || crit.length === 0 || crit.some((c) => typeof c !== "string" || c.length === 0))
      return false;
    for (const c of crit) {
      if (c !== "b64") return "unsupported";
      if (header.b64 === undefined) return false;
    }
    // "b64" must be a boolean, and a JWT may not use an unencoded payload
    if (header.b64 !== true) return false;
  }
  if (jwk.ext !== undefined && typeof jwk.ext !== "boolean") return false;
  if (jwk.key_ops !== undefined) {
    const ops = jwk.key_ops;
    if (!Array.isArray(ops) || ops.length !== 1 || ops[0] !== "verify") return false;
  }
  if (jwk.use !== undefined && jwk.use !== "sig") return false;
  if (jwk.alg !== undefined && jwk.alg !== header.alg) return false;
  return true;
}

interface ParsedProof {
  jwt: string;
  jwk: DeviceKey["jwk"];
  /** The JWS signing input (header.payload) and the raw r||s signature. */
  input: string;
  signature: Uint8Array;
}

/** Header, device key and JWS structure of one proof; throws its problem (signature not checked yet). */
function parseProof(jwt: string, index: number): ParsedProof {
  const invalid = (reason: string) => new ProblemError("invalid-proof", `proof ${index}: ${reason}`, { index });
  const parts = jwt.split(".");
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(jwt);
  } catch {
    throw invalid("the JWT header is malformed");
  }
  if (header.typ !== PROOF_TYP) throw invalid(`typ must be ${PROOF_TYP}`);
  const jwk = deviceKeyOf(header, index);
  const structure = parts.length === 3 ? checkStructure(header, header.jwk as Record<string, unknown>) : false;
  if (structure === "unsupported")
    throw new ProblemError("invalid-device-key", `proof ${index}: the device key is not usable`, { index });
  if (!structure) throw invalid("signature or structure invalid");
  try {
    return { jwt, jwk, input: `${parts[0]}.${parts[1]}`, signature: base64url.decode(parts[2]!) };
  } catch {
    throw invalid("signature or structure invalid");
  }
}

/** The signature checks on the event loop (no proof workers): the same function the workers run. */
const checkSignaturesHere: SignatureChecker = async (items) => checkSignatures(items);

/**
 * Verifies each proof JWT: typ openid4vci-proof+jwt, an EC device key in the jwk header that
 * signed it, iat recent, one nonce shared by all proofs, distinct device keys. The nonce itself
 * is consumed by the caller (single use).
 *
 * jose decodes the header and the claims (decodeProtectedHeader, decodeJwt, base64url); the
 * signature is checked with node:crypto (the device key imported from its JWK, the raw r||s
 * signature as ieee-p1363), which does the same ECDSA verification as jose's EmbeddedJWK +
 * jwtVerify in well under half the CPU time, on the proof workers when the RA has them.
 * The checks jose made around it are made here in the same order with the same outcomes
 * (apps/ra/test/proof.test.ts compares both on valid and malformed proofs).
 */
export async function verifyProofs(jwts: string[], opts: ProofOptions = {}): Promise<VerifiedProofs> {
  void PROOF_DEVICE_KEY; // every device key signs the request nonce (openid4vci-proof+jwt)
  const now = Math.floor((opts.now?.() ?? new Date()).getTime() / 1000);
  const maxAge = opts.maxAgeSeconds ?? 300;
  const skew = opts.clockToleranceSeconds ?? 60;
  // Every proof is parsed first; the signatures of the well-formed ones are then checked together
  // (on the proof workers when configured); outcomes are taken in proof order, so the first failing
  // proof answers with the same problem as when each was checked in turn.
  const parsed = jwts.map((jwt, index) => {
    try {
      return parseProof(jwt, index);
    } catch (e) {
      return e as Error;
    }
  });
  const wellFormed = parsed.filter((p): p is ParsedProof => !(p instanceof Error));
  const checks = wellFormed.map(({ jwk, input, signature }) => ({
    hash: algorithmBy("curve", jwk.crv)?.nodeHash ?? "",
    crv: jwk.crv,
    x: jwk.x,
    y: jwk.y,
    input,
    signature,
  }));
  // a proof worker that is gone (crashed, closed) costs time, not the request: check on the loop
  const ok =
    checks.length === 0
      ? []
      : await (opts.signatures ?? checkSignaturesHere)(checks).catch(() => checkSignaturesHere(checks));
  const verified = new Map(wellFormed.map((p, i) => [p, ok[i] === true]));
  const results = parsed.map((p, index) => {
    if (p instanceof Error) throw p;
    const invalid = (reason: string) => new ProblemError("invalid-proof", `proof ${index}: ${reason}`, { index });
    if (!verified.get(p)) throw invalid("signature or structure invalid");
    let payload: Record<string, unknown>;
    try {
      payload = decodeJwt(p.jwt);
    } catch {
      throw invalid("signature or structure invalid");
    }
    try {
      checkClaims(payload, now, maxAge, skew, opts.audience);
    } catch (e) {
      if (e instanceof ClaimError) throw invalid(`claim ${e.claim}: ${e.message}`);
      throw e;
    }
    if (typeof payload.nonce !== "string") throw invalid("nonce must be a string");
    const thumbprint = jwkThumbprint(p.jwk);
    return { nonce: payload.nonce, device: { jwk: p.jwk, thumbprint } satisfies DeviceKey };
  });
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

/**
 * A holder proof: a proof JWT like the others, signed by the device key of an mdoc being
 * refreshed (the holder still holds that key). Its nonce and key thumbprint; errors name it
 * `holderProof`.
 */
export async function verifyHolderProof(
  jwt: string,
  opts: ProofOptions,
): Promise<{ nonce: string; thumbprint: string }> {
  try {
    const v = await verifyProofs([jwt], opts);
    return { nonce: v.nonce, thumbprint: v.devices[0]!.thumbprint };
  } catch (e) {
    if (e instanceof ProblemError) throw new ProblemError(e.problem, e.message.replace(/^proof 0/, "holderProof"));
    throw e;
  }
}
