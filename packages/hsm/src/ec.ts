import { createPublicKey, type KeyObject } from "node:crypto";
import { type Algorithm, algorithmByCurveParams } from "@iaca/policy";
import { HsmError } from "./errors.ts";

/** The registry entry of a key's CKA_EC_PARAMS; HSM_MECHANISM_UNSUPPORTED for any other curve. */
export function curveFromParams(params: Buffer): Algorithm {
  const a = algorithmByCurveParams(params);
  if (!a) throw new HsmError("HSM_MECHANISM_UNSUPPORTED", `unsupported EC parameters ${params.toString("hex")}`);
  return a;
}

/** CKA_EC_POINT is a DER OCTET STRING around the uncompressed point (some modules return it bare). */
export function uncompressedPoint(ecPoint: Buffer, curve: Algorithm): Buffer {
  const len = 1 + 2 * curve.coordinateSize;
  if (ecPoint.length === len && ecPoint[0] === 0x04) return ecPoint;
  if (ecPoint[0] === 0x04) {
    const point = ecPoint.subarray(ecPoint.length - len);
    if (point[0] === 0x04) return point;
  }
  throw new HsmError("HSM_OPERATION_FAILED", "unexpected CKA_EC_POINT encoding");
}

export function publicKeyFromPoint(point: Buffer, curve: Algorithm): KeyObject {
  const x = point.subarray(1, 1 + curve.coordinateSize).toString("base64url");
  const y = point.subarray(1 + curve.coordinateSize).toString("base64url");
  return createPublicKey({ key: { kty: "EC", crv: curve.curve, x, y }, format: "jwk" });
}

function derInt(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  let v = b.subarray(i);
  if (v[0]! & 0x80) v = Buffer.concat([Buffer.from([0]), v]);
  return Buffer.concat([Buffer.from([0x02, v.length]), v]);
}

/** r||s (IEEE P1363, as CKM_ECDSA returns it) to an X9.62 DER ECDSA-Sig-Value. */
export function rawToDer(signature: Uint8Array): Buffer {
  const raw = Buffer.from(signature.buffer, signature.byteOffset, signature.byteLength);
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
