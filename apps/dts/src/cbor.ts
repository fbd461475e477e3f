import { Decoder, Encoder, Tag } from "cbor-x";

// Deterministic CBOR (RFC 8949 §4.2.1) for the trust list: minimal lengths, map keys sorted by
// their encoded bytes, byte strings untagged. Kept local until @iaca/mdoc exports its encoder.
const encoder = new Encoder({
  useRecords: false,
  mapsAsObjects: false,
  tagUint8Array: false,
  variableMapSize: true,
});
const decoder = new Decoder({ useRecords: false, mapsAsObjects: false });

function canonical(value: unknown): unknown {
  if (value instanceof Map) {
    const entries = [...value.entries()].map(([k, v]) => [canonical(k), canonical(v)] as const);
    entries.sort((a, b) => Buffer.compare(Buffer.from(encoder.encode(a[0])), Buffer.from(encoder.encode(b[0]))));
    return new Map(entries);
  }
  if (Array.isArray(value)) return value.map(canonical);
  if (value instanceof Tag) return new Tag(canonical(value.value), value.tag);
  if (value instanceof Uint8Array && !Buffer.isBuffer(value)) return Buffer.from(value);
  return value;
}

export function encodeCbor(value: unknown): Uint8Array {
  return new Uint8Array(encoder.encode(canonical(value)));
}

export function decodeCbor(bytes: Uint8Array): unknown {
  return decoder.decode(Buffer.from(bytes));
}

/** tdate (tag 0): RFC 3339 without fractional seconds. */
export const tdate = (d: Date): Tag => new Tag(`${d.toISOString().slice(0, 19)}Z`, 0);
/** biguint (tag 2) from lower-case hex. */
export const biguint = (hex: string): Tag => new Tag(Buffer.from(hex.length % 2 ? `0${hex}` : hex, "hex"), 2);

export { Tag };
