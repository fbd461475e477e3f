// Minimal DER helpers: only what the profiles need beyond @peculiar/asn1-schema
// (byte-exact assembly of signed objects, INTEGER <-> bigint).

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function len(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

export function tlv(tag: number, content: Uint8Array): Uint8Array {
  return concat(Uint8Array.of(tag), len(content.length), content);
}

export const sequence = (...items: Uint8Array[]) => tlv(0x30, concat(...items));
export const bitString = (bytes: Uint8Array) => tlv(0x03, concat(Uint8Array.of(0), bytes));

/** Unsigned big-endian magnitude -> DER INTEGER content (minimal, positive). */
export function integerContent(magnitude: Uint8Array): Uint8Array {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  const m = magnitude.subarray(i);
  return (m[0] ?? 0) & 0x80 ? concat(Uint8Array.of(0), m) : Uint8Array.from(m);
}

export function bigintToBytes(v: bigint): Uint8Array {
  if (v < 0n) throw new RangeError("negative");
  const hex = v.toString(16);
  return Uint8Array.from(Buffer.from(hex.length % 2 ? `0${hex}` : hex, "hex"));
}

export const integer = (v: bigint) => tlv(0x02, integerContent(bigintToBytes(v)));

/** Two's-complement INTEGER content -> bigint. */
export function integerValue(content: Uint8Array): bigint {
  if (content.length === 0) return 0n;
  let v = BigInt(`0x${Buffer.from(content).toString("hex")}`);
  if ((content[0] ?? 0) & 0x80) v -= 1n << BigInt(content.length * 8);
  return v;
}

/** Parses a DER INTEGER (the whole TLV) to bigint; throws on anything else. */
export function parseInteger(der: Uint8Array): bigint {
  if (der[0] !== 0x02) throw new Error("not an INTEGER");
  const first = der[1] ?? 0;
  let off = 2;
  let n = first;
  if (first & 0x80) {
    n = 0;
    for (let i = 0; i < (first & 0x7f); i++) n = n * 256 + (der[2 + i] ?? 0);
    off = 2 + (first & 0x7f);
  }
  return integerValue(der.subarray(off, off + n));
}

export const toBytes = (b: ArrayBuffer | ArrayBufferView): Uint8Array =>
  b instanceof Uint8Array
    ? b
    : ArrayBuffer.isView(b)
      ? new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
      : new Uint8Array(b);

export const toArrayBuffer = (b: Uint8Array): ArrayBuffer =>
  b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;

export const hex = (b: ArrayBuffer | Uint8Array) => Buffer.from(toBytes(b)).toString("hex");

export function equalBytes(a: ArrayBuffer | Uint8Array | undefined, b: ArrayBuffer | Uint8Array | undefined): boolean {
  if (!a || !b) return false;
  return Buffer.from(toBytes(a)).equals(Buffer.from(toBytes(b)));
}

function readTlv(b: Uint8Array, off: number): { start: number; end: number; contentStart: number } {
  const first = b[off + 1] ?? 0;
  let len = first;
  let hdr = 2;
  if (first & 0x80) {
    len = 0;
    for (let i = 0; i < (first & 0x7f); i++) len = len * 256 + (b[off + 2 + i] ?? 0);
    hdr = 2 + (first & 0x7f);
  }
  return { start: off, contentStart: off + hdr, end: off + hdr + len };
}

/** Splits a signed X.509 object (certificate, CRL, CSR) into its exact to-be-signed bytes and signature. */
export function splitSigned(der: Uint8Array): { tbs: Uint8Array; algorithm: Uint8Array; signature: Uint8Array } {
  const outer = readTlv(der, 0);
  const tbs = readTlv(der, outer.contentStart);
  const alg = readTlv(der, tbs.end);
  const sig = readTlv(der, alg.end);
  return {
    tbs: der.subarray(tbs.start, tbs.end),
    algorithm: der.subarray(alg.start, alg.end),
    signature: der.subarray(sig.contentStart + 1, sig.end),
  };
}
