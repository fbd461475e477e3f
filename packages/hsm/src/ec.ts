import { createPublicKey, type KeyObject } from "node:crypto";
import { HsmError } from "./errors.ts";

export type Curve = "P-256" | "P-384" | "P-521";
export type HashAlgorithm = "SHA-256" | "SHA-384" | "SHA-512";

export interface CurveInfo {
  name: Curve;
  /** DER of the named-curve OID, the value of CKA_EC_PARAMS. */
  params: Buffer;
  /** Field size in bytes (r and s each). */
  size: number;
}

export const CURVES: Record<Curve, CurveInfo> = {
  "P-256": { name: "P-256", params: Buffer.from("06082a8648ce3d030107", "hex"), size: 32 },
  "P-384": { name: "P-384", params: Buffer.from("06052b81040022", "hex"), size: 48 },
  "P-521": { name: "P-521", params: Buffer.from("06052b81040023", "hex"), size: 66 },
};

export function curveFromParams(params: Buffer): CurveInfo {
  for (const c of Object.values(CURVES)) if (c.params.equals(params)) return c;
  throw new HsmError("HSM_MECHANISM_UNSUPPORTED", `unsupported EC parameters ${params.toString("hex")}`);
}

/** CKA_EC_POINT is a DER OCTET STRING around the uncompressed point (some modules return it bare). */
export function uncompressedPoint(ecPoint: Buffer, curve: CurveInfo): Buffer {
  const len = 1 + 2 * curve.size;
  if (ecPoint.length === len && ecPoint[0] === 0x04) return ecPoint;
  if (ecPoint[0] === 0x04) {
    const point = ecPoint.subarray(ecPoint.length - len);
    if (point[0] === 0x04) return point;
  }
  throw new HsmError("HSM_OPERATION_FAILED", "unexpected CKA_EC_POINT encoding");
}

export function publicKeyFromPoint(point: Buffer, curve: CurveInfo): KeyObject {
  const x = point.subarray(1, 1 + curve.size).toString("base64url");
  const y = point.subarray(1 + curve.size).toString("base64url");
  return createPublicKey({ key: { kty: "EC", crv: curve.name, x, y }, format: "jwk" });
}

function derInt(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  let v = b.subarray(i);
  if (v[0]! & 0x80) v = Buffer.concat([Buffer.from([0]), v]);
  return Buffer.concat([Buffer.from([0x02, v.length]), v]);
}

/** r||s (IEEE P1363, as CKM_ECDSA returns it) to an X9.62 DER ECDSA-Sig-Value. */
export function rawToDer(raw: Buffer): Buffer {
  const n = raw.length / 2;
  const body = Buffer.concat([derInt(raw.subarray(0, n)), derInt(raw.subarray(n))]);
  const len = body.length < 0x80 ? Buffer.from([body.length]) : Buffer.from([0x81, body.length]);
  return Buffer.concat([Buffer.from([0x30]), len, body]);
}

/** X9.62 DER ECDSA-Sig-Value to r||s with each half `size` bytes. */
export function derToRaw(der: Buffer, size: number): Buffer {
  let p = 0;
  const fail = () => new HsmError("HSM_INVALID_INPUT", "malformed DER ECDSA signature");
  if (der[p++] !== 0x30) throw fail();
  if (der[p]! & 0x80) p += 1 + (der[p]! & 0x7f);
  else p++;
  const out = Buffer.alloc(2 * size);
  for (let k = 0; k < 2; k++) {
    if (der[p++] !== 0x02) throw fail();
    const l = der[p++]!;
    let v = der.subarray(p, p + l);
    p += l;
    while (v.length > size && v[0] === 0) v = v.subarray(1);
    if (v.length > size) throw fail();
    v.copy(out, k * size + size - v.length);
  }
  return out;
}

export function nodeHash(h: HashAlgorithm): string {
  return h.toLowerCase().replace("-", "");
}
