/**
 * Reading an IssuerSigned this package produced, for a refresh: the MSO payload (whose hash the
 * issuance record keys on) and the element values as CBOR, before and independent of verification.
 */
import { type CborValue, decodeCbor, EmbeddedCbor, get } from "./cbor.ts";
import { MdocError } from "./errors.ts";
import { readMdocInput } from "./verify.ts";

export interface DecodedIssuerSigned {
  /** MobileSecurityObjectBytes: the COSE_Sign1 payload of issuerAuth. */
  msoPayload: Uint8Array;
  /** Element values keyed `${namespace}/${elementIdentifier}`. */
  elements: Map<string, CborValue>;
}

/** MDOC_FORMAT when the input is not an IssuerSigned (hex, base64url or raw CBOR). */
export function decodeIssuerSigned(input: Uint8Array | string): DecodedIssuerSigned {
  let root: CborValue;
  try {
    root = decodeCbor(readMdocInput(input));
  } catch {
    throw new MdocError("MDOC_FORMAT", "not well-formed CBOR");
  }
  const issuerAuth = get(root, "issuerAuth");
  const msoPayload = Array.isArray(issuerAuth) ? issuerAuth[2] : undefined;
  if (!(msoPayload instanceof Uint8Array)) throw new MdocError("MDOC_FORMAT", "issuerAuth carries no MSO payload");
  const elements = new Map<string, CborValue>();
  const nameSpaces = get(root, "nameSpaces");
  if (nameSpaces instanceof Map)
    for (const [ns, items] of nameSpaces) {
      if (typeof ns !== "string" || !Array.isArray(items)) continue;
      for (const item of items) {
        const m = decodeItem(item);
        const id = get(m, "elementIdentifier");
        if (typeof id === "string" && m instanceof Map) elements.set(`${ns}/${id}`, m.get("elementValue") as CborValue);
      }
    }
  return { msoPayload, elements };
}

function decodeItem(item: CborValue): CborValue {
  try {
    return item instanceof EmbeddedCbor ? item.decode() : item;
  } catch {
    throw new MdocError("MDOC_FORMAT", "an IssuerSignedItem is not well-formed CBOR");
  }
}
