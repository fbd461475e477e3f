import { HsmError } from "./errors.ts";

/**
 * An RFC 7512 PKCS#11 URI, e.g. `pkcs11:token=iaca-ds;object=ds-2025-001;id=%01%a2;type=private`.
 * Path attribute values are text (UTF-8) except `id`, which is bytes.
 */
export interface Pkcs11Uri {
  token?: string;
  manufacturer?: string;
  serial?: string;
  model?: string;
  object?: string;
  id?: Buffer;
  type?: "private" | "public" | "secret-key" | "cert" | "data";
  "library-manufacturer"?: string;
  "library-description"?: string;
  "library-version"?: string;
  "slot-description"?: string;
  "slot-manufacturer"?: string;
  "slot-id"?: string;
  /** Query attributes (`?pin-source=...&module-path=...`), decoded. */
  query?: Record<string, string>;
}

const PATH_ORDER = [
  "library-manufacturer",
  "library-description",
  "library-version",
  "slot-manufacturer",
  "slot-description",
  "slot-id",
  "manufacturer",
  "model",
  "serial",
  "token",
  "object",
  "type",
  "id",
] as const;
type PathAttr = (typeof PATH_ORDER)[number];
const PATH_ATTRS = new Set<string>(PATH_ORDER);
const TYPES = new Set(["private", "public", "secret-key", "cert", "data"]);

// RFC 7512 2.3: pk11-pchar = unreserved / pk11-res-avail / pct-encoded
const PCHAR = /^[A-Za-z0-9\-._~:[\]@!$'()*+,=&]$/;
// pk11-qchar = unreserved / pk11-qres-avail / pct-encoded
const QCHAR = /^[A-Za-z0-9\-._~:[\]@!$'()*+,=/?|]$/;

function encode(bytes: Buffer, allowed: RegExp): string {
  let out = "";
  for (const b of bytes) {
    const ch = String.fromCharCode(b);
    out += b < 0x80 && allowed.test(ch) ? ch : `%${b.toString(16).padStart(2, "0").toUpperCase()}`;
  }
  return out;
}

/** Every byte percent-encoded: the customary form for `id`. */
function encodeAll(bytes: Buffer): string {
  return [...bytes].map((b) => `%${b.toString(16).padStart(2, "0").toUpperCase()}`).join("");
}

function decode(text: string, allowed: RegExp, uri: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === "%") {
      const hex = text.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw invalid(uri, `bad percent-encoding "%${hex}"`);
      out.push(Number.parseInt(hex, 16));
      i += 2;
    } else if (allowed.test(ch)) {
      out.push(ch.charCodeAt(0));
    } else {
      throw invalid(uri, `character "${ch}" must be percent-encoded`);
    }
  }
  return Buffer.from(out);
}

function invalid(uri: string, why: string): HsmError {
  return new HsmError("HSM_URI_INVALID", `not a valid PKCS#11 URI (${why}): ${uri.slice(0, 200)}`);
}

/** Parses an RFC 7512 `pkcs11:` URI. Unknown path attributes are rejected (RFC 7512 2.3 allows vendor `x-` ones). */
export function parsePkcs11Uri(uri: string): Pkcs11Uri {
  if (!/^pkcs11:/i.test(uri)) throw invalid(uri, "missing pkcs11: scheme");
  const rest = uri.slice("pkcs11:".length);
  const q = rest.indexOf("?");
  const path = q < 0 ? rest : rest.slice(0, q);
  const query = q < 0 ? undefined : rest.slice(q + 1);
  const out: Pkcs11Uri = {};
  const target = out as Record<string, unknown>;
  if (path.length > 0) {
    for (const part of path.split(";")) {
      const eq = part.indexOf("=");
      if (eq <= 0) throw invalid(uri, `attribute without value "${part}"`);
      const name = part.slice(0, eq).toLowerCase();
      const raw = decode(part.slice(eq + 1), PCHAR, uri);
      if (name.startsWith("x-")) continue;
      if (!PATH_ATTRS.has(name)) throw invalid(uri, `unknown attribute "${name}"`);
      if (name in target) throw invalid(uri, `duplicate attribute "${name}"`);
      if (name === "id") target.id = raw;
      else if (name === "type") {
        const t = raw.toString("utf8");
        if (!TYPES.has(t)) throw invalid(uri, `unknown type "${t}"`);
        target.type = t;
      } else target[name] = raw.toString("utf8");
    }
  }
  if (query !== undefined && query.length > 0) {
    out.query = {};
    for (const part of query.split("&")) {
      const eq = part.indexOf("=");
      if (eq <= 0) throw invalid(uri, `query attribute without value "${part}"`);
      out.query[part.slice(0, eq).toLowerCase()] = decode(part.slice(eq + 1), QCHAR, uri).toString("utf8");
    }
  }
  return out;
}

/** Formats a PKCS#11 URI in RFC 7512 order, percent-encoding as required (`id` always fully encoded). */
export function formatPkcs11Uri(u: Pkcs11Uri): string {
  const parts: string[] = [];
  for (const name of PATH_ORDER) {
    const v = (u as Record<PathAttr, string | Buffer | undefined>)[name];
    if (v === undefined) continue;
    parts.push(`${name}=${name === "id" ? encodeAll(v as Buffer) : encode(Buffer.from(v as string, "utf8"), PCHAR)}`);
  }
  let out = `pkcs11:${parts.join(";")}`;
  if (u.query && Object.keys(u.query).length > 0) {
    out += `?${Object.entries(u.query)
      .map(([k, v]) => `${k}=${encode(Buffer.from(v, "utf8"), QCHAR)}`)
      .join("&")}`;
  }
  return out;
}

/** A key reference: a `pkcs11:` URI string or a parsed one. */
export type KeyRef = string | Pkcs11Uri;

export function toUri(ref: KeyRef): Pkcs11Uri {
  return typeof ref === "string" ? parsePkcs11Uri(ref) : ref;
}

/** The URI of a key by label (and CKA_ID, hex or bytes), on `token` or, for a cluster, on any token. */
export function keyUri(label: string, id?: Buffer | string, token?: string): string {
  return formatPkcs11Uri({
    ...(token !== undefined ? { token } : {}),
    object: label,
    ...(id !== undefined ? { id: typeof id === "string" ? Buffer.from(id, "hex") : id } : {}),
  });
}
