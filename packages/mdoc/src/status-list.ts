/**
 * Token Status List (draft-ietf-oauth-status-list, CWT form): the bit array, its ZLIB/DEFLATE
 * compression, the Status List Token (a tag-18 COSE_Sign1 over a CWT claims set) and the MSO's
 * `status` reference ({"status_list": {"idx", "uri"}}, ISO/IEC 18013-5 second edition MSO `status`).
 * Sources and the field-by-field encoding are in docs/mdoc.md "Status list".
 */
import { deflateSync, inflateSync } from "node:zlib";
import type { Signer } from "@iaca/hsm";
import { type CborValue, decodeCbor, encodeCbor, Tagged } from "./cbor.ts";
import { type CoseSign1, parseSign1, signSign1 } from "./cose.ts";
import { MdocError } from "./errors.ts";

/** Status Types (draft section 7.1). 3 and 0x0C..0x0F are application specific; none used here. */
export const STATUS = { VALID: 0, INVALID: 1, SUSPENDED: 2 } as const;
export type StatusName = keyof typeof STATUS;
export const STATUS_LIST_MEDIA_TYPE = "application/statuslist+cwt";

/** CWT claim keys (RFC 8392, draft section 5.2). */
export const CWT = { sub: 2, exp: 4, iat: 6, statusList: 65533, ttl: 65534 } as const;
/** COSE header parameter typ (RFC 9596). */
const HEADER_TYP = 16;
/** Decompressed lists larger than this are refused (a verifier's bound, 16 Mi entries at 8 bits). */
export const MAX_LIST_BYTES = 16 * 1024 * 1024;

export type StatusBits = 1 | 2 | 4 | 8;

/** A status list in memory: `size` entries of `bits` bits, packed LSB first (draft section 4.1). */
export class StatusList {
  readonly bits: StatusBits;
  readonly bytes: Uint8Array;
  constructor(bits: StatusBits, sizeOrBytes: number | Uint8Array) {
    if (![1, 2, 4, 8].includes(bits)) throw new MdocError("MDOC_STATUS_LIST", `bits must be 1, 2, 4 or 8, not ${bits}`);
    this.bits = bits;
    this.bytes = typeof sizeOrBytes === "number" ? new Uint8Array(Math.ceil((sizeOrBytes * bits) / 8)) : sizeOrBytes;
  }
  /** Number of entries the byte array holds. */
  get size(): number {
    return (this.bytes.length * 8) / this.bits;
  }
  get(idx: number): number {
    if (!Number.isInteger(idx) || idx < 0 || idx >= this.size)
      throw new MdocError("MDOC_STATUS_LIST", `index ${idx} is outside the list (0..${this.size - 1})`);
    const bit = idx * this.bits;
    return (this.bytes[bit >> 3]! >> (bit & 7)) & ((1 << this.bits) - 1);
  }
  set(idx: number, value: number): void {
    const mask = (1 << this.bits) - 1;
    if (!Number.isInteger(value) || value < 0 || value > mask)
      throw new MdocError("MDOC_STATUS_LIST", `status ${value} does not fit in ${this.bits} bits`);
    this.get(idx); // bounds
    const bit = idx * this.bits;
    const i = bit >> 3;
    this.bytes[i] = (this.bytes[i]! & ~(mask << (bit & 7))) | (value << (bit & 7));
  }
  /** ZLIB (RFC 1950) around DEFLATE at the highest level, as the draft recommends. */
  compress(): Uint8Array {
    return new Uint8Array(deflateSync(this.bytes, { level: 9 }));
  }
  static decompress(bits: StatusBits, lst: Uint8Array): StatusList {
    let bytes: Buffer;
    try {
      bytes = inflateSync(lst, { maxOutputLength: MAX_LIST_BYTES });
    } catch (e) {
      throw new MdocError(
        "MDOC_STATUS_LIST",
        `lst is not a ZLIB stream within ${MAX_LIST_BYTES} bytes: ${(e as Error).message}`,
      );
    }
    return new StatusList(bits, new Uint8Array(bytes));
  }
  /** The CBOR StatusList map {bits, lst}. */
  toCbor(): Map<CborValue, CborValue> {
    return new Map<CborValue, CborValue>([
      ["bits", this.bits],
      ["lst", this.compress()],
    ]);
  }
  static fromCbor(v: CborValue): StatusList {
    if (!(v instanceof Map)) throw new MdocError("MDOC_STATUS_LIST", "status_list is not a map");
    const bits = v.get("bits");
    const lst = v.get("lst");
    if (bits !== 1 && bits !== 2 && bits !== 4 && bits !== 8)
      throw new MdocError("MDOC_STATUS_LIST", "status_list bits is not 1, 2, 4 or 8");
    if (!(lst instanceof Uint8Array)) throw new MdocError("MDOC_STATUS_LIST", "status_list lst is not a bstr");
    return StatusList.decompress(bits, lst);
  }
}

/** What an MSO carries: the list's URI and this mdoc's index in it. */
export interface StatusRef {
  uri: string;
  idx: number;
}

/** A status entry handed out by the issuer: the reference plus the number of its list. */
export interface AllocatedStatus extends StatusRef {
  listNo: number;
}

/** MSO `status` (18013-5 second edition; draft section 6.3): {"status_list": {"idx": uint, "uri": tstr}}. */
export function msoStatus(ref: StatusRef): Map<CborValue, CborValue> {
  return new Map<CborValue, CborValue>([
    [
      "status_list",
      new Map<CborValue, CborValue>([
        ["idx", ref.idx],
        ["uri", ref.uri],
      ]),
    ],
  ]);
}

/** The status reference of an MSO; undefined when it has none, an error when it is malformed. */
export function readMsoStatus(mso: Map<CborValue, CborValue>): StatusRef | undefined {
  const status = mso.get("status");
  if (status === undefined) return undefined;
  const sl = status instanceof Map ? status.get("status_list") : undefined;
  if (!(sl instanceof Map)) throw new MdocError("MDOC_FORMAT", "MSO status has no status_list map");
  const idx = sl.get("idx");
  const uri = sl.get("uri");
  if (typeof idx !== "number" || !Number.isInteger(idx) || idx < 0)
    throw new MdocError("MDOC_FORMAT", "MSO status_list idx is not an unsigned integer");
  if (typeof uri !== "string" || !URL.canParse(uri))
    throw new MdocError("MDOC_FORMAT", "MSO status_list uri is not a URI");
  return { idx, uri };
}

export interface StatusListTokenInput {
  /** The list's URI: the `sub` claim, equal to the `uri` in the MSOs that point here. */
  uri: string;
  list: StatusList;
  iat: Date;
  exp: Date;
  /** Seconds a consumer may cache the token before fetching again. */
  ttl: number;
}

const seconds = (d: Date) => Math.floor(d.getTime() / 1000);

/**
 * Signs a Status List Token: COSE_Sign1_Tagged (18), protected {alg, typ
 * "application/statuslist+cwt"}, x5chain (33) of the signer's certificate in the unprotected header,
 * payload the CWT claims set {2 sub, 6 iat, 4 exp, 65534 ttl, 65533 status_list}. Not CWT-tagged.
 */
export async function signStatusListToken(
  t: StatusListTokenInput,
  signer: Signer,
  certificate: Uint8Array,
): Promise<Uint8Array> {
  const claims = new Map<CborValue, CborValue>([
    [CWT.sub, t.uri],
    [CWT.iat, seconds(t.iat)],
    [CWT.exp, seconds(t.exp)],
    [CWT.ttl, t.ttl],
    [CWT.statusList, t.list.toCbor()],
  ]);
  const sign1 = await signSign1(
    {
      payload: encodeCbor(claims),
      protectedHeaders: new Map<CborValue, CborValue>([[HEADER_TYP, STATUS_LIST_MEDIA_TYPE]]),
      x5chain: [certificate],
    },
    signer,
  );
  return encodeCbor(new Tagged(18, sign1));
}

export interface ParsedStatusListToken {
  sign1: CoseSign1;
  sub: string;
  iat: Date;
  exp?: Date;
  ttl?: number;
  list: StatusList;
}

/** Parses a Status List Token's structure and claims (no signature or chain check: checkMsoStatus does those). */
export function parseStatusListToken(bytes: Uint8Array): ParsedStatusListToken {
  const top = decodeCbor(bytes);
  if (!(top instanceof Tagged) || top.tag !== 18)
    throw new MdocError("MDOC_STATUS_LIST", "a Status List Token is a COSE_Sign1_Tagged (tag 18)");
  const sign1 = parseSign1(top.value);
  if (sign1.protectedHeaders.get(HEADER_TYP) !== STATUS_LIST_MEDIA_TYPE)
    throw new MdocError("MDOC_STATUS_LIST", `protected typ (16) is not ${STATUS_LIST_MEDIA_TYPE}`);
  const claims = sign1.payload ? decodeCbor(sign1.payload) : undefined;
  if (!(claims instanceof Map)) throw new MdocError("MDOC_STATUS_LIST", "the CWT claims set is not a map");
  const sub = claims.get(CWT.sub);
  const iat = claims.get(CWT.iat);
  const exp = claims.get(CWT.exp);
  const ttl = claims.get(CWT.ttl);
  if (typeof sub !== "string") throw new MdocError("MDOC_STATUS_LIST", "sub (2) missing or not a text string");
  if (typeof iat !== "number") throw new MdocError("MDOC_STATUS_LIST", "iat (6) missing or not a number");
  if (exp !== undefined && typeof exp !== "number") throw new MdocError("MDOC_STATUS_LIST", "exp (4) is not a number");
  if (ttl !== undefined && !(typeof ttl === "number" && Number.isInteger(ttl) && ttl > 0))
    throw new MdocError("MDOC_STATUS_LIST", "ttl (65534) is not a positive integer");
  const parsed: ParsedStatusListToken = {
    sign1,
    sub,
    iat: new Date(iat * 1000),
    list: StatusList.fromCbor(claims.get(CWT.statusList)),
  };
  if (typeof exp === "number") parsed.exp = new Date(exp * 1000);
  if (typeof ttl === "number") parsed.ttl = ttl;
  return parsed;
}
