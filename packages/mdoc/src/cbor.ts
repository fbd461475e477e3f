/**
 * CBOR for ISO/IEC 18013-5 clause 9.1.2 (mdoc CBOR rules): the project's own codec, used for
 * every CBOR item (MSO, IssuerSigned, COSE, trust list); docs/mdoc.md "CBOR codec" says why.
 *
 * Encoding: one pass into a scratch buffer giving RFC 8949 4.2.1 core deterministic encoding:
 * map keys sorted by the bytes of their encoding, integers in shortest form (integers above 2^32
 * become 8-byte uints, which is the shortest form for them), no floats.
 *
 * Decoding: strict and bounded (nesting depth, lengths within the input). It keeps the exact
 * bytes of every tag-24 item (`EmbeddedCbor.raw`) so digests are computed over what was
 * received, and keeps tag 0 / tag 1 / tag 1004 apart so the verifier can enforce the tag rules.
 */
import { MdocError } from "./errors.ts";

/** tdate: tag 0 with an RFC 3339 date-time; written as YYYY-MM-DDTHH:MM:SSZ (no fraction). */
export class TDate {
  readonly value: string;
  constructor(value: string) {
    this.value = value;
  }
  static of(date: Date): TDate {
    return new TDate(`${date.toISOString().slice(0, 19)}Z`);
  }
  get date(): Date {
    return new Date(this.value);
  }
  toJSON(): string {
    return this.value;
  }
}

/** full-date: tag 1004 with an RFC 3339 full-date "YYYY-MM-DD". */
export class FullDate {
  readonly value: string;
  constructor(value: string) {
    this.value = value;
  }
  toJSON(): string {
    return this.value;
  }
}

/** Tag 24: bstr .cbor. `raw` is the whole encoded tag-24 item (as received when decoded). */
export class EmbeddedCbor {
  #decoded: CborValue | undefined;
  #done = false;
  /** The embedded CBOR bytes (content of the bstr). */
  readonly bytes: Uint8Array;
  /** The encoding of the tag-24 data item itself: what digests are computed over. */
  readonly raw: Uint8Array;
  constructor(bytes: Uint8Array, raw: Uint8Array = tag24Bytes(bytes)) {
    this.bytes = bytes;
    this.raw = raw;
  }
  static wrap(value: CborValue): EmbeddedCbor {
    const { raw, bytes } = encodeTag24(value);
    return new EmbeddedCbor(bytes, raw);
  }
  /**
   * Several tag-24 items (the IssuerSignedItems of one MSO) in one allocation, each `raw` a view
   * of it: an off-heap buffer costs ~1-2 us to allocate and collect whatever its size, more than
   * encoding a small item.
   */
  static wrapAll(values: readonly CborValue[]): EmbeddedCbor[] {
    return withWriter((w) => {
      const spans: number[] = [];
      let total = 0;
      for (const v of values) {
        const start = w.pos;
        write(w, v, 0);
        spans.push(start, w.pos);
        total += tag24Size(w.pos - start);
      }
      const out = new Uint8Array(total);
      const items: EmbeddedCbor[] = [];
      let p = 0;
      for (let i = 0; i < spans.length; i += 2) {
        const start = spans[i] as number;
        const n = (spans[i + 1] as number) - start;
        const h = writeTag24Head(out, p, n);
        out.set(w.buf.subarray(start, start + n), p + h);
        const raw = out.subarray(p, p + h + n);
        items.push(new EmbeddedCbor(raw.subarray(h), raw));
        p += h + n;
      }
      return items;
    });
  }
  decode(): CborValue {
    if (!this.#done) {
      this.#decoded = decodeCbor(this.bytes);
      this.#done = true;
    }
    return this.#decoded as CborValue;
  }
}

/** Size of #6.24(bstr) around n bytes in shortest form: d8 18, the bstr head, the bytes. */
function tag24Size(n: number): number {
  return 2 + (n < 24 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : n <= 0xffffffff ? 5 : 9) + n;
}

/** Writes d8 18 and the shortest bstr head for n bytes at out[p]; returns the header length. */
function writeTag24Head(out: Uint8Array, p: number, n: number): number {
  out[p] = 0xd8;
  out[p + 1] = 0x18;
  if (n < 24) {
    out[p + 2] = 0x40 | n;
    return 3;
  }
  if (n < 0x100) {
    out[p + 2] = 0x58;
    out[p + 3] = n;
    return 4;
  }
  if (n < 0x10000) {
    out[p + 2] = 0x59;
    out[p + 3] = n >> 8;
    out[p + 4] = n & 0xff;
    return 5;
  }
  if (n > 0xffffffff) throw new MdocError("MDOC_ENCODING", "embedded CBOR larger than 4 GB");
  out[p + 2] = 0x5a;
  out[p + 3] = (n >>> 24) & 0xff;
  out[p + 4] = (n >> 16) & 0xff;
  out[p + 5] = (n >> 8) & 0xff;
  out[p + 6] = n & 0xff;
  return 7;
}

/** #6.24(bstr) encoded directly: tag header d8 18, shortest bstr length header, the bytes. */
function tag24Bytes(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(tag24Size(bytes.length));
  out.set(bytes, writeTag24Head(out, 0, bytes.length));
  return out;
}

/** Any other tag (including tag 1 epoch dates, which mdoc does not allow for tdate). */
export class Tagged {
  readonly tag: number;
  readonly value: CborValue;
  constructor(tag: number, value: CborValue) {
    this.tag = tag;
    this.value = value;
  }
}

export type CborValue =
  | number
  | bigint
  | string
  | boolean
  | null
  | undefined
  | Uint8Array
  | CborValue[]
  | Map<CborValue, CborValue>
  | TDate
  | FullDate
  | EmbeddedCbor
  | Tagged;

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  return a.length - b.length;
}

/**
 * A direct deterministic encoder: one pass into a reusable scratch buffer, map keys sorted by
 * their encoded bytes, integers in shortest form (beyond 32 bits: the 8-byte form), no floats.
 * Produces the same bytes as the former cbor-x path (after its canonicalisation pass) without its copies.
 */
class Writer {
  buf: Uint8Array;
  view: DataView;
  pos = 0;
  constructor(size: number) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
  }
  room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  /** Major type + argument, shortest form (n a non-negative safe integer). */
  head(major: number, n: number): void {
    this.room(9);
    const m = major << 5;
    const b = this.buf;
    if (n < 24) b[this.pos++] = m | n;
    else if (n < 0x100) {
      b[this.pos++] = m | 24;
      b[this.pos++] = n;
    } else if (n < 0x10000) {
      b[this.pos++] = m | 25;
      b[this.pos++] = n >> 8;
      b[this.pos++] = n & 0xff;
    } else if (n <= 0xffffffff) {
      b[this.pos++] = m | 26;
      this.view.setUint32(this.pos, n);
      this.pos += 4;
    } else {
      b[this.pos++] = m | 27;
      this.view.setBigUint64(this.pos, BigInt(n));
      this.pos += 8;
    }
  }
  headBig(major: number, n: bigint): void {
    this.room(9);
    this.buf[this.pos++] = (major << 5) | 27;
    this.view.setBigUint64(this.pos, n);
    this.pos += 8;
  }
  text(s: string): void {
    // ASCII fast path (the mdoc vocabulary); otherwise UTF-8 via Buffer
    const n = s.length;
    let ascii = n < 256;
    if (ascii)
      for (let i = 0; i < n; i++)
        if (s.charCodeAt(i) > 0x7f) {
          ascii = false;
          break;
        }
    if (ascii) {
      this.head(3, n);
      this.room(n);
      const b = this.buf;
      let p = this.pos;
      for (let i = 0; i < n; i++) b[p++] = s.charCodeAt(i);
      this.pos = p;
      return;
    }
    const enc = Buffer.from(s, "utf8");
    this.head(3, enc.length);
    this.bytes(enc);
  }
}

const keyCache = new Map<unknown, Uint8Array>();
const keyWriter = new Writer(256);

/** Encoded map key for sorting; text and small-integer keys (the mdoc vocabulary) are cached. */
function encodedKey(k: unknown): Uint8Array {
  const cacheable = (typeof k === "string" && k.length <= 64) || typeof k === "number";
  if (cacheable) {
    const hit = keyCache.get(k);
    if (hit) return hit;
  }
  const w = keyWriter; // stack-like: a nested key is written after the current position
  const start = w.pos;
  let e: Uint8Array;
  try {
    write(w, k, 0);
    e = w.buf.slice(start, w.pos);
  } finally {
    w.pos = start;
  }
  if (cacheable && keyCache.size < 4096) keyCache.set(k, e);
  return e;
}

function writeInt(w: Writer, v: number): void {
  if (!Number.isInteger(v)) throw new MdocError("MDOC_ENCODING", "floating-point values are not used in mdoc CBOR");
  if (!Number.isSafeInteger(v)) throw new MdocError("MDOC_ENCODING", "integer outside the safe range; use bigint");
  if (v >= 0) w.head(0, v);
  else w.head(1, -1 - v);
}

function writeBigInt(w: Writer, v: bigint): void {
  if (v >= -0x100000000n && v <= 0xffffffffn) {
    writeInt(w, Number(v));
    return;
  }
  if (v > 0xffffffffffffffffn || v < -0x10000000000000000n)
    throw new MdocError("MDOC_ENCODING", "integer does not fit 64 bits");
  if (v >= 0n) w.headBig(0, v);
  else w.headBig(1, -1n - v);
}

function writeMap(w: Writer, entries: Iterable<[unknown, unknown]>, depth: number): void {
  const keys: Uint8Array[] = [];
  const values: unknown[] = [];
  for (const [k, value] of entries) {
    keys.push(encodedKey(k));
    values.push(value);
  }
  const n = keys.length;
  if (n <= 32) {
    // insertion sort (the mdoc maps are small); an equal neighbour is a duplicate key
    for (let i = 1; i < n; i++) {
      const key = keys[i] as Uint8Array;
      const value = values[i];
      let j = i;
      for (; j > 0; j--) {
        const c = compareBytes(keys[j - 1] as Uint8Array, key);
        if (c === 0) throw new MdocError("MDOC_ENCODING", "duplicate map key");
        if (c < 0) break;
        keys[j] = keys[j - 1] as Uint8Array;
        values[j] = values[j - 1];
      }
      keys[j] = key;
      values[j] = value;
    }
    w.head(5, n);
    for (let i = 0; i < n; i++) {
      w.bytes(keys[i] as Uint8Array);
      write(w, values[i], depth + 1);
    }
    return;
  }
  const list = keys.map((key, i) => ({ key, value: values[i] }));
  list.sort((x, y) => compareBytes(x.key, y.key));
  for (let i = 1; i < list.length; i++)
    if (compareBytes(list[i - 1]!.key, list[i]!.key) === 0) throw new MdocError("MDOC_ENCODING", "duplicate map key");
  w.head(5, list.length);
  for (const e of list) {
    w.bytes(e.key);
    write(w, e.value, depth + 1);
  }
}

function write(w: Writer, v: unknown, depth: number): void {
  if (depth > 512) throw new MdocError("MDOC_ENCODING", "nesting too deep");
  switch (typeof v) {
    case "string":
      w.text(v);
      return;
    case "number":
      writeInt(w, v);
      return;
    case "bigint":
      writeBigInt(w, v);
      return;
    case "boolean":
      w.room(1);
      w.buf[w.pos++] = v ? 0xf5 : 0xf4;
      return;
    case "undefined":
      w.room(1);
      w.buf[w.pos++] = 0xf7;
      return;
    case "object":
      break;
    default:
      throw new MdocError("MDOC_ENCODING", `cannot encode a ${typeof v} as CBOR`);
  }
  if (v === null) {
    w.room(1);
    w.buf[w.pos++] = 0xf6;
    return;
  }
  if (v instanceof Uint8Array) {
    w.head(2, v.length);
    w.bytes(v);
    return;
  }
  if (Array.isArray(v)) {
    w.head(4, v.length);
    for (let i = 0; i < v.length; i++) write(w, v[i], depth + 1);
    return;
  }
  if (v instanceof Map) {
    writeMap(w, v.entries(), depth);
    return;
  }
  if (v instanceof EmbeddedCbor) {
    // a raw built here (or received in shortest form) is exactly the deterministic tag-24 item
    const b = v.bytes;
    const n = b.length;
    if (v.raw.length === tag24Size(n)) {
      w.bytes(v.raw);
      return;
    }
    w.head(6, 24);
    w.head(2, n);
    w.bytes(b);
    return;
  }
  if (v instanceof TDate) {
    w.head(6, 0);
    w.text(v.value);
    return;
  }
  if (v instanceof FullDate) {
    w.head(6, 1004);
    w.text(v.value);
    return;
  }
  if (v instanceof Tagged) {
    const t = v;
    if (typeof t.tag === "number" && Number.isSafeInteger(t.tag) && t.tag >= 0) w.head(6, t.tag);
    else throw new MdocError("MDOC_ENCODING", "bad tag number");
    write(w, t.value, depth + 1);
    return;
  }
  writeMap(w, Object.entries(v as Record<string, unknown>), depth);
  return;
}

const scratch = new Writer(64 * 1024);
let busy = false;

function withWriter<T>(fn: (w: Writer) => T): T {
  if (busy) return fn(new Writer(1024));
  busy = true;
  scratch.pos = 0;
  try {
    return fn(scratch);
  } finally {
    busy = false;
    if (scratch.buf.length > 4 * 1024 * 1024) {
      scratch.buf = new Uint8Array(64 * 1024);
      scratch.view = new DataView(scratch.buf.buffer);
    }
  }
}

/** Deterministic CBOR (RFC 8949 4.2.1) with the mdoc tags. */
export function encodeCbor(value: CborValue | Record<string, unknown>): Uint8Array {
  return withWriter((w) => {
    write(w, value, 0);
    return w.buf.slice(0, w.pos);
  });
}

/** The tag-24 item #6.24(bstr .cbor value) in one pass: the item and a view of its embedded bytes. */
function encodeTag24(value: CborValue): { raw: Uint8Array; bytes: Uint8Array } {
  return withWriter((w) => {
    w.pos = 7; // room for d8 18 and the longest bstr head in front
    write(w, value, 0);
    const n = w.pos - 7;
    const h = tag24Size(n) - n;
    writeTag24Head(w.buf, 7 - h, n);
    const raw = w.buf.slice(7 - h, w.pos);
    return { raw, bytes: raw.subarray(h) };
  });
}

// ---------------------------------------------------------------- decoding

const utf8 = new TextDecoder("utf-8", { fatal: true });

class Reader {
  pos = 0;
  readonly buf: Uint8Array;
  constructor(buf: Uint8Array) {
    this.buf = buf;
  }
  fail(msg: string): never {
    throw new MdocError("MDOC_CBOR_MALFORMED", `malformed CBOR at byte ${this.pos}: ${msg}`);
  }
  byte(): number {
    if (this.pos >= this.buf.length) this.fail("unexpected end of data");
    return this.buf[this.pos++] as number;
  }
  take(n: number): Uint8Array {
    if (n > this.buf.length - this.pos) this.fail("length beyond end of data");
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  /** Argument of the initial byte; undefined for indefinite length (ai 31). */
  arg(ai: number): number | bigint | undefined {
    if (ai < 24) return ai;
    if (ai === 24) return this.byte();
    if (ai === 25) {
      const b = this.take(2);
      return ((b[0] as number) << 8) | (b[1] as number);
    }
    if (ai === 26) {
      const b = this.take(4);
      return new DataView(b.buffer, b.byteOffset, 4).getUint32(0);
    }
    if (ai === 27) {
      const b = this.take(8);
      const big = new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0);
      return big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
    }
    if (ai === 31) return undefined;
    return this.fail(`reserved additional information ${ai}`);
  }
  length(ai: number): number | undefined {
    const n = this.arg(ai);
    if (typeof n === "bigint") this.fail("length too large");
    return n;
  }
}

const MAX_DEPTH = 64;

function readItem(r: Reader, depth: number): CborValue {
  if (depth > MAX_DEPTH) r.fail("nesting too deep");
  const start = r.pos;
  const ib = r.byte();
  const major = ib >> 5;
  const ai = ib & 0x1f;
  switch (major) {
    case 0: {
      const n = r.arg(ai);
      if (n === undefined) return r.fail("indefinite integer");
      return n;
    }
    case 1: {
      const n = r.arg(ai);
      if (n === undefined) return r.fail("indefinite integer");
      const neg = -1n - BigInt(n);
      return neg >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(neg) : neg;
    }
    case 2:
    case 3:
      return readString(r, major, ai);
    case 4:
      return readArray(r, ai, depth);
    case 5:
      return readMap(r, ai, depth);
    case 6:
      return readTag(r, ai, depth, start);
    default:
      return readSimple(r, ib, ai);
  }
}

/** Byte string (major 2) or text string (major 3), definite or chunked. */
function readString(r: Reader, major: number, ai: number): Uint8Array | string {
  const len = r.length(ai);
  let bytes: Uint8Array;
  if (len === undefined) {
    const parts: Uint8Array[] = [];
    for (;;) {
      if (r.buf[r.pos] === 0xff) {
        r.pos++;
        break;
      }
      const chunkIb = r.byte();
      if (chunkIb >> 5 !== major) r.fail("bad chunk in indefinite string");
      const cl = r.length(chunkIb & 0x1f);
      if (cl === undefined) r.fail("nested indefinite string");
      parts.push(r.take(cl));
    }
    bytes = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
    let o = 0;
    for (const p of parts) {
      bytes.set(p, o);
      o += p.length;
    }
  } else bytes = r.take(len);
  if (major === 2) return bytes;
  try {
    return utf8.decode(bytes);
  } catch {
    return r.fail("invalid UTF-8 in text string");
  }
}

function readArray(r: Reader, ai: number, depth: number): CborValue[] {
  const len = r.length(ai);
  const out: CborValue[] = [];
  if (len === undefined) {
    while (r.buf[r.pos] !== 0xff) out.push(readItem(r, depth + 1));
    r.pos++;
  } else {
    if (len > r.buf.length - r.pos) r.fail("array longer than data");
    for (let i = 0; i < len; i++) out.push(readItem(r, depth + 1));
  }
  return out;
}

/** A map with scalar, unique keys (deterministic encoding forbids the rest). */
function readMap(r: Reader, ai: number, depth: number): Map<CborValue, CborValue> {
  const len = r.length(ai);
  const out = new Map<CborValue, CborValue>();
  const put = () => {
    const k = readItem(r, depth + 1);
    if (k !== null && typeof k === "object" && !(k instanceof Uint8Array)) r.fail("map key must be a scalar");
    if (out.has(k)) r.fail("duplicate map key");
    out.set(k, readItem(r, depth + 1));
  };
  if (len === undefined) {
    while (r.buf[r.pos] !== 0xff) put();
    r.pos++;
  } else {
    if (len > r.buf.length - r.pos) r.fail("map longer than data");
    for (let i = 0; i < len; i++) put();
  }
  return out;
}

/** Tags 24 (embedded CBOR, keeping its bytes), 0 and 1004 (dates); others as Tagged. */
function readTag(r: Reader, ai: number, depth: number, start: number): CborValue {
  const tag = r.arg(ai);
  if (tag === undefined || typeof tag === "bigint") return r.fail("bad tag");
  const value = readItem(r, depth + 1);
  if (tag === 24) {
    if (!(value instanceof Uint8Array)) return r.fail("tag 24 must wrap a byte string");
    return new EmbeddedCbor(value, r.buf.slice(start, r.pos));
  }
  if (tag === 0) {
    if (typeof value !== "string") return r.fail("tag 0 must wrap a text string");
    return new TDate(value);
  }
  if (tag === 1004) {
    if (typeof value !== "string") return r.fail("tag 1004 must wrap a text string");
    return new FullDate(value);
  }
  return new Tagged(tag, value);
}

/** Major 7: false, true, null, undefined and floats; other simple values and a stray break fail. */
function readSimple(r: Reader, ib: number, ai: number): CborValue {
  if (ai === 20) return false;
  if (ai === 21) return true;
  if (ai === 22) return null;
  if (ai === 23) return undefined;
  if (ai === 24) return r.fail(`simple value ${r.byte()}`);
  if (ai === 25) {
    const b = r.take(2);
    return halfToNumber(((b[0] as number) << 8) | (b[1] as number));
  }
  if (ai === 26) {
    const b = r.take(4);
    return new DataView(b.buffer, b.byteOffset, 4).getFloat32(0);
  }
  if (ai === 27) {
    const b = r.take(8);
    return new DataView(b.buffer, b.byteOffset, 8).getFloat64(0);
  }
  return r.fail(`unexpected simple/break 0x${ib.toString(16)}`);
}

function halfToNumber(h: number): number {
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  const sign = h & 0x8000 ? -1 : 1;
  if (exp === 0) return sign * 2 ** -14 * (mant / 1024);
  if (exp === 31) return mant ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exp - 15) * (1 + mant / 1024);
}

/** Decodes exactly one CBOR data item; trailing bytes are an error. */
export function decodeCbor(bytes: Uint8Array): CborValue {
  const r = new Reader(bytes);
  const v = readItem(r, 0);
  if (r.pos !== bytes.length) r.fail(`${bytes.length - r.pos} trailing bytes`);
  return v;
}

/** True when the bytes are the deterministic encoding of what they decode to. */
export function isDeterministic(bytes: Uint8Array): boolean {
  try {
    return compareBytes(encodeCbor(decodeCbor(bytes)), bytes) === 0;
  } catch {
    return false;
  }
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && compareBytes(a, b) === 0;
}

/** Map lookup helper for decoded CBOR maps. */
export function get(m: CborValue, key: string | number): CborValue {
  return m instanceof Map ? m.get(key) : undefined;
}
