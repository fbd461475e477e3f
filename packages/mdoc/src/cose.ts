/** COSE (RFC 9052 / 9053) pieces mdoc needs: COSE_Sign1 with ES256/384/512, EC2 COSE_Key. */
import { createPublicKey, type KeyObject, verify as nodeVerify, hash as oneShotHash } from "node:crypto";
import { type CborValue, decodeCbor, encodeCbor } from "./cbor.ts";
import { MdocError } from "./errors.ts";

export type CoseAlg = -7 | -35 | -36;

export const COSE_ALGS: Record<
  CoseAlg,
  { name: string; hash: "SHA-256" | "SHA-384" | "SHA-512"; curve: string; size: number }
> = {
  [-7]: { name: "ES256", hash: "SHA-256", curve: "P-256", size: 32 },
  [-35]: { name: "ES384", hash: "SHA-384", curve: "P-384", size: 48 },
  [-36]: { name: "ES512", hash: "SHA-512", curve: "P-521", size: 66 },
};

export function isCoseAlg(a: unknown): a is CoseAlg {
  return a === -7 || a === -35 || a === -36;
}

/** The alg matching a curve ("P-256" → -7 ...). */
export function algForCurve(curve: string): CoseAlg {
  for (const [alg, v] of Object.entries(COSE_ALGS)) if (v.curve === curve) return Number(alg) as CoseAlg;
  throw new MdocError("MDOC_FORMAT", `no ECDSA COSE algorithm for curve ${curve}`);
}

export function nodeHashName(hash: string): string {
  return hash.replace("-", "").toLowerCase();
}

const NODE_HASH: Record<string, string> = { "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512" };

const DIGEST_SIZE: Record<string, number> = { "SHA-256": 32, "SHA-384": 48, "SHA-512": 64 };

export function digest(hash: "SHA-256" | "SHA-384" | "SHA-512", data: Uint8Array): Buffer {
  // One-shot crypto.hash as a binary (latin1) string written into Buffer's shared pool: a Buffer that
  // crypto.hash allocates is an off-heap buffer of its own (~1.5 us per item vs ~0.5 us this way).
  const size = DIGEST_SIZE[hash] as number;
  const out = Buffer.allocUnsafe(size);
  if (out.write(oneShotHash(NODE_HASH[hash] ?? nodeHashName(hash), data, "binary"), 0, size, "binary") !== size)
    throw new MdocError("MDOC_FORMAT", `${hash} digest of unexpected length`);
  return out;
}

export const HEADER_ALG = 1;
export const HEADER_X5CHAIN = 33;

/** Sig_structure for COSE_Sign1 (RFC 9052 4.4), external_aad empty. */
export function sigStructure(protectedBytes: Uint8Array, payload: Uint8Array): Uint8Array {
  return encodeCbor(["Signature1", protectedBytes, new Uint8Array(0), payload]);
}

export interface CoseSign1 {
  protectedBytes: Uint8Array;
  protectedHeaders: Map<CborValue, CborValue>;
  unprotected: Map<CborValue, CborValue>;
  payload: Uint8Array;
  signature: Uint8Array;
}

/** Parses an (untagged or tag-18) COSE_Sign1 array. */
export function parseSign1(v: CborValue): CoseSign1 {
  let arr = v;
  if (arr && typeof arr === "object" && "tag" in arr && (arr as { tag: number }).tag === 18)
    arr = (arr as { value: CborValue }).value;
  if (!Array.isArray(arr) || arr.length !== 4)
    throw new MdocError("MDOC_FORMAT", "issuerAuth is not a COSE_Sign1 array");
  const [p, u, payload, sig] = arr;
  if (!(p instanceof Uint8Array)) throw new MdocError("MDOC_FORMAT", "COSE_Sign1 protected header is not a bstr");
  if (!(u instanceof Map)) throw new MdocError("MDOC_FORMAT", "COSE_Sign1 unprotected header is not a map");
  if (!(payload instanceof Uint8Array)) throw new MdocError("MDOC_FORMAT", "COSE_Sign1 payload is not a bstr");
  if (!(sig instanceof Uint8Array)) throw new MdocError("MDOC_FORMAT", "COSE_Sign1 signature is not a bstr");
  const ph = p.length === 0 ? new Map() : decodeCbor(p);
  if (!(ph instanceof Map)) throw new MdocError("MDOC_FORMAT", "COSE_Sign1 protected header is not a map");
  return { protectedBytes: p, protectedHeaders: ph, unprotected: u, payload, signature: sig };
}

/** Verifies an ECDSA raw r||s signature over the Sig_structure with a public key. */
export function verifySign1(s: CoseSign1, alg: CoseAlg, publicKey: KeyObject): boolean {
  const a = COSE_ALGS[alg];
  if (s.signature.length !== a.size * 2) return false;
  return nodeVerify(
    nodeHashName(a.hash),
    sigStructure(s.protectedBytes, s.payload),
    { key: publicKey, dsaEncoding: "ieee-p1363" },
    s.signature,
  );
}

// ---------------------------------------------------------------- COSE_Key

const CRV: Record<string, number> = { "P-256": 1, "P-384": 2, "P-521": 3 };
const CRV_BY_ID: Record<number, string> = { 1: "P-256", 2: "P-384", 3: "P-521" };
const CRV_SIZE: Record<string, number> = { "P-256": 32, "P-384": 48, "P-521": 66 };

export interface EcPublicJwk {
  kty: "EC";
  crv: string;
  x: string;
  y: string;
}

/** base64url of bytes, read in place (Buffer.from(u8) would copy them first). */
export function base64url(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64url");
}
const unb64u = (s: string) => new Uint8Array(Buffer.from(s, "base64url"));

/** EC2 COSE_Key (RFC 9053 7.1.1) from a public JWK. Private members of the JWK are refused. */
export function coseKeyFromJwk(jwk: Record<string, unknown>): Map<number, CborValue> {
  if ("d" in jwk)
    throw new MdocError("MDOC_DEVICE_KEY_INVALID", "device key must be a public key (JWK has a private part)");
  if (jwk.kty !== "EC" || typeof jwk.crv !== "string" || !(jwk.crv in CRV))
    throw new MdocError("MDOC_DEVICE_KEY_INVALID", "device key must be an EC JWK on P-256, P-384 or P-521");
  if (typeof jwk.x !== "string" || typeof jwk.y !== "string")
    throw new MdocError("MDOC_DEVICE_KEY_INVALID", "device key JWK lacks x/y");
  const x = unb64u(jwk.x);
  const y = unb64u(jwk.y);
  const key = new Map<number, CborValue>([
    [1, 2],
    [-1, CRV[jwk.crv] as number],
    [-2, x],
    [-3, y],
  ]);
  checkCoseKey(key);
  return key;
}

/** Validates an EC2 COSE_Key (curve, coordinate sizes, point on curve); returns its JWK. */
export function checkCoseKey(v: CborValue): EcPublicJwk {
  if (!(v instanceof Map)) throw new MdocError("MDOC_DEVICE_KEY_INVALID", "COSE_Key is not a map");
  if (v.has(-4)) throw new MdocError("MDOC_DEVICE_KEY_INVALID", "device key must be a public key (COSE_Key has d)");
  if (v.get(1) !== 2) throw new MdocError("MDOC_DEVICE_KEY_INVALID", "COSE_Key kty must be EC2 (2)");
  const crv = CRV_BY_ID[v.get(-1) as number];
  const x = v.get(-2);
  const y = v.get(-3);
  if (!crv || !(x instanceof Uint8Array) || !(y instanceof Uint8Array))
    throw new MdocError("MDOC_DEVICE_KEY_INVALID", "COSE_Key needs crv P-256/384/521 and x, y coordinates");
  const size = CRV_SIZE[crv] as number;
  if (x.length !== size || y.length !== size)
    throw new MdocError("MDOC_DEVICE_KEY_INVALID", `COSE_Key coordinates must be ${size} bytes for ${crv}`);
  const jwk: EcPublicJwk = { kty: "EC", crv, x: base64url(x), y: base64url(y) };
  let onCurve: boolean;
  if (crv === "P-256") onCurve = onP256(x, y);
  else
    try {
      createPublicKey({ key: jwk as unknown as import("node:crypto").JsonWebKey, format: "jwk" });
      onCurve = true;
    } catch {
      onCurve = false;
    }
  if (!onCurve) throw new MdocError("MDOC_DEVICE_KEY_INVALID", "COSE_Key is not a point on its curve");
  return jwk;
}

const P256_P = 2n ** 256n - 2n ** 224n + 2n ** 192n + 2n ** 96n - 1n;
const P256_B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;
const big = (b: Uint8Array) => BigInt(`0x${Buffer.from(b).toString("hex")}`);

/** y² = x³ − 3x + b (mod p) for P-256, in BigInt (the hot path of issuance; other curves use node:crypto). */
function onP256(xb: Uint8Array, yb: Uint8Array): boolean {
  const p = P256_P;
  const x = big(xb);
  const y = big(yb);
  if (x >= p || y >= p) return false;
  const rhs = (((((x * x) % p) * x) % p) - 3n * x + P256_B) % p;
  return (y * y - rhs) % p === 0n;
}

/** Reads a device key file: a JWK (JSON text) or a COSE_Key (CBOR, binary or hex). */
export function parseDeviceKey(content: Uint8Array): Map<CborValue, CborValue> {
  const text = Buffer.from(content).toString("utf8").trim();
  if (text.startsWith("{")) {
    let jwk: unknown;
    try {
      jwk = JSON.parse(text);
    } catch {
      throw new MdocError("MDOC_DEVICE_KEY_INVALID", "device key file is not valid JSON");
    }
    return coseKeyFromJwk(jwk as Record<string, unknown>) as Map<CborValue, CborValue>;
  }
  const bytes = /^[0-9a-fA-F\s]+$/.test(text) ? new Uint8Array(Buffer.from(text.replace(/\s/g, ""), "hex")) : content;
  const key = decodeCbor(bytes);
  checkCoseKey(key);
  return key as Map<CborValue, CborValue>;
}
