// The trust list uses @iaca/mdoc's deterministic CBOR (ISO 18013-5 9.1.2 rules, RFC 8949 4.2.1)
// and its COSE_Sign1 helpers, so the VICAL and the MSO are encoded by one implementation.
import { type CborValue, decodeCbor, encodeCbor, Tagged, TDate } from "@iaca/mdoc";

export { type CborValue, decodeCbor, encodeCbor, Tagged };

/** tdate (tag 0): RFC 3339 without fractional seconds. */
export const tdate = (d: Date): TDate => TDate.of(d);
/** biguint (tag 2) from lower-case hex. */
export const biguint = (hex: string): Tagged =>
  new Tagged(2, new Uint8Array(Buffer.from(hex.length % 2 ? `0${hex}` : hex, "hex")));
