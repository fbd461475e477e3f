/**
 * COSE (RFC 9052 / 9053): the one COSE_Sign1 (ES256/384/512) for MSOs, signed trust lists and
 * whatever CWT comes next, and the EC2 COSE_Key of device keys. Algorithms come from the registry.
 */
import { createPublicKey, type KeyObject, verify as nodeVerify } from "node:crypto";
import type { Signer } from "@iaca/hsm";
import { type Algorithm, algorithmBy, type Curve } from "@iaca/policy";
import { type CborValue, decodeCbor, encodeCbor } from "./cbor.ts";
import { MdocError } from "./errors.ts";

export const HEADER_ALG = 1;
export const HEADER_X5CHAIN = 33;

const EMPTY: Uint8Array = new Uint8Array(0);

/** Sig_structure for COSE_Sign1 (RFC 9052 4.4). */
export function sigStructure(protectedBytes: Uint8Array, payload: Uint8Array, externalAad = EMPTY): Uint8Array {
  return encodeCbor(["Signature1", protectedBytes, externalAad, payload]);
}

export interface Sign1Options {
  payload: Uint8Array;
  /** Protected headers besides alg (1), which comes from the signer's key. */
  protectedHeaders?: Map<CborValue, CborValue>;
  unprotected?: Map<CborValue, CborValue>;
  /** x5chain (33) in the unprotected header: one certificate as a bstr, several as an array. */
  x5chain?: Uint8Array[];
  /** Sign the payload but carry nil in its place (RFC 9052 2). */
  detached?: boolean;
  externalAad?: Uint8Array;
}

/** An untagged COSE_Sign1 [protected, unprotected, payload, signature] signed by `signer`. */
export async function signSign1(o: Sign1Options, signer: Signer): Promise<CborValue[]> {
  const protectedMap = new Map<CborValue, CborValue>(o.protectedHeaders ?? []);
  protectedMap.set(HEADER_ALG, signer.algorithm.cose);
  const protectedBytes = encodeCbor(protectedMap);
  const unprotected = new Map<CborValue, CborValue>(o.unprotected ?? []);
  if (o.x5chain?.length) unprotected.set(HEADER_X5CHAIN, o.x5chain.length === 1 ? o.x5chain[0]! : o.x5chain);
  const signature = await signer.sign(sigStructure(protectedBytes, o.payload, o.externalAad));
  if (signature.length !== signer.algorithm.signatureSize)
    throw new MdocError(
      "MDOC_FORMAT",
      `signer returned ${signature.length} bytes; raw r||s of ${signer.algorithm.signatureSize} expected`,
    );
  return [protectedBytes, unprotected, o.detached ? null : o.payload, signature];
}

export interface CoseSign1 {
  protectedBytes: Uint8Array;
  protectedHeaders: Map<CborValue, CborValue>;
  unprotected: Map<CborValue, CborValue>;
  /** null when detached. */
  payload: Uint8Array | null;
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
  if (!(payload instanceof Uint8Array) && payload !== null)
    throw new MdocError("MDOC_FORMAT", "COSE_Sign1 payload is not a bstr");
  if (!(sig instanceof Uint8Array)) throw new MdocError("MDOC_FORMAT", "COSE_Sign1 signature is not a bstr");
  const ph = p.length === 0 ? new Map() : decodeCbor(p);
  if (!(ph instanceof Map)) throw new MdocError("MDOC_FORMAT", "COSE_Sign1 protected header is not a map");
  return { protectedBytes: p, protectedHeaders: ph, unprotected: u, payload, signature: sig };
}

/** The registry entry of the protected alg (ES256/384/512); undefined for any other. */
export function sign1Algorithm(s: CoseSign1): Algorithm | undefined {
  return algorithmBy("cose", s.protectedHeaders.get(HEADER_ALG));
}

/** x5chain (33) from the unprotected or the protected header: [] when absent, undefined when not bstr(s). */
export function sign1X5Chain(s: CoseSign1): Uint8Array[] | undefined {
  const x5 = s.unprotected.get(HEADER_X5CHAIN) ?? s.protectedHeaders.get(HEADER_X5CHAIN);
  if (x5 === undefined) return [];
  const chain = x5 instanceof Uint8Array ? [x5] : Array.isArray(x5) ? x5 : undefined;
  return chain?.every((c) => c instanceof Uint8Array) ? (chain as Uint8Array[]) : undefined;
}

/** The registry curve of a public key ("P-256" ...); undefined for any other key. */
export function keyCurve(key: KeyObject): Curve | undefined {
  return algorithmBy("nodeCurve", key.asymmetricKeyDetails?.namedCurve)?.curve;
}

/**
 * Verifies a COSE_Sign1 with a public key (a KeyObject, or a certificate's SPKI DER): the protected
 * alg must be ES256/384/512 on the key's curve. `payload` for a detached COSE_Sign1.
 */
export function verifySign1(
  s: CoseSign1,
  key: KeyObject | { spki: Uint8Array },
  o: { payload?: Uint8Array; externalAad?: Uint8Array } = {},
): boolean {
  const a = sign1Algorithm(s);
  const publicKey = "spki" in key ? createPublicKey({ key: Buffer.from(key.spki), format: "der", type: "spki" }) : key;
  const payload = o.payload ?? s.payload;
  if (!a || !payload || keyCurve(publicKey) !== a.curve || s.signature.length !== a.signatureSize) return false;
  return nodeVerify(
    a.nodeHash,
    sigStructure(s.protectedBytes, payload, o.externalAad),
    { key: publicKey, dsaEncoding: "ieee-p1363" },
    s.signature,
  );
}

// ---------------------------------------------------------------- COSE_Key

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
  const a = algorithmBy("curve", jwk.crv);
  if (jwk.kty !== "EC" || !a)
    throw new MdocError("MDOC_DEVICE_KEY_INVALID", "device key must be an EC JWK on P-256, P-384 or P-521");
  if (typeof jwk.x !== "string" || typeof jwk.y !== "string")
    throw new MdocError("MDOC_DEVICE_KEY_INVALID", "device key JWK lacks x/y");
  const x = unb64u(jwk.x);
  const y = unb64u(jwk.y);
  const key = new Map<number, CborValue>([
    [1, 2],
    [-1, a.coseCurve],
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
  const a = algorithmBy("coseCurve", v.get(-1));
  const crv = a?.curve;
  const x = v.get(-2);
  const y = v.get(-3);
  if (!crv || !(x instanceof Uint8Array) || !(y instanceof Uint8Array))
    throw new MdocError("MDOC_DEVICE_KEY_INVALID", "COSE_Key needs crv P-256/384/521 and x, y coordinates");
  const size = a!.coordinateSize;
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
