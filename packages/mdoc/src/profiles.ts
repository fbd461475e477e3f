/**
 * Doctype profiles as data. A profile says which structured input it takes (with validation
 * rules) and how each data element of each namespace is derived from that input. A new doctype
 * (a licence, a qualification certificate ...) is a new data object, loadable from JSON, using
 * the rule and derivation names below; no code change.
 */

import { type CborValue, FullDate, TDate } from "./cbor.ts";
import {
  ageAt,
  birthdayInstant,
  type CivilDate,
  type ImageFormat,
  imageFormat,
  isValidJisX0402,
  isValidMyNumber,
  japaneseDate,
  jisX0402CheckDigit,
  nextBirthday,
  parseCivilDate,
} from "./checks.ts";
import { INPUT_VALIDATED, NO_PII_IN_ERRORS } from "./controls.ts";
import { MdocError } from "./errors.ts";
import { isKnownLocalGovCode, LOCAL_GOV_CODES_EDITION } from "./local-gov-codes.ts";

/** One field of the structured issuance input. */
export interface InputFieldSpec {
  /**
   * text: non-empty string without control characters; date: YYYY-MM-DD (a real date, not in the
   * future); digits: ASCII digits; enum: one of `values`; bytes: base64 string or Uint8Array.
   */
  type: "text" | "date" | "digits" | "enum" | "bytes";
  optional?: boolean;
  maxLength?: number;
  /** digits: allowed lengths. */
  lengths?: number[];
  /** digits: check-digit rule. "jis-x0402" accepts 5 digits (check digit added) or 6 (checked). */
  check?: "my-number" | "jis-x0402";
  values?: string[];
  /** bytes: allowed image formats and size limit. */
  image?: { formats: ImageFormat[]; maxBytes: number };
}

/** How an element's value is made from the validated input (names are a closed registry). */
export type Derivation =
  | { from: string }
  | { join: string[]; separator: string }
  | { fn: "japanese_date"; from: string }
  | { fn: "full_date"; from: string }
  | { fn: "age_over"; from: string; years: number }
  | { fn: "age_in_years"; from: string }
  | { fn: "map"; from: string; table: Record<string, string | number | boolean> }
  | { fn: "issuance_date" }
  | { fn: "issuance_plus_years"; years: number };

export type ElementType = "tstr" | "uint" | "int" | "bool" | "bstr" | "full-date" | "tdate";

export interface ElementSpec {
  type: ElementType;
  source: Derivation;
  /** uint only: decimal width restored on decoding (leading zeros), e.g. 6 for local_gov_code. */
  width?: number;
  /** Omitted when its input is absent. */
  optional?: boolean;
}

export interface DoctypeProfile {
  id: string;
  docType: string;
  description?: string;
  input: Record<string, InputFieldSpec>;
  namespaces: Record<string, Record<string, ElementSpec>>;
}

// ---------------------------------------------------------------- built-in profiles

const JP = "org.iso.23220.1.jp";
const COMMON = "org.iso.23220.1";
export const MNC_DOCTYPE = "org.iso.23220.1.jp.mnc";

/** Structured input of both My Number Card profiles. */
const PERSON_INPUT: Record<string, InputFieldSpec> = {
  familyName: { type: "text", maxLength: 100 },
  givenName: { type: "text", maxLength: 100 },
  birthDate: { type: "date" },
  address: { type: "text", maxLength: 300 },
  sex: { type: "enum", values: ["male", "female"] },
  localGovCode: { type: "digits", lengths: [5, 6], check: "jis-x0402" },
  individualNumber: { type: "digits", lengths: [12], check: "my-number" },
  portrait: { type: "bytes", image: { formats: ["jp2", "j2k"], maxBytes: 100_000 } },
};

const FULL_NAME: Derivation = { join: ["familyName", "givenName"], separator: " " };
const SEX_JA: Derivation = { fn: "map", from: "sex", table: { male: "男", female: "女" } };

/** The seed's figures 4 and 5, exactly. */
export const SEED_2024: DoctypeProfile = {
  id: "seed-2024",
  docType: MNC_DOCTYPE,
  description: "デジタル庁 調達仕様書 (令和6年2月) 図表4・5",
  input: PERSON_INPUT,
  namespaces: {
    [JP]: {
      full_name: { type: "tstr", source: FULL_NAME },
      birth_date_unicode: { type: "tstr", source: { fn: "japanese_date", from: "birthDate" } },
      resident_address_unicode: { type: "tstr", source: { from: "address" } },
      sex_unicode: { type: "tstr", source: SEX_JA },
      local_gov_code: { type: "uint", width: 6, source: { from: "localGovCode" } },
      individual_number: { type: "uint", width: 12, source: { from: "individualNumber" } },
      Portrait: { type: "bstr", source: { from: "portrait" } },
    },
    [COMMON]: {
      age_over_20: { type: "bool", source: { fn: "age_over", from: "birthDate", years: 20 } },
      age_in_years: { type: "uint", source: { fn: "age_in_years", from: "birthDate" } },
    },
  },
};

/** What deployed wallets and verifiers read for org.iso.23220.1.jp.mnc. */
export const INTEROP: DoctypeProfile = {
  id: "interop",
  docType: MNC_DOCTYPE,
  description: "element names read by deployed wallets and verifiers",
  input: {
    ...PERSON_INPUT,
    portrait: { type: "bytes", image: { formats: ["jpeg", "jp2", "j2k"], maxBytes: 100_000 } },
  },
  namespaces: {
    [JP]: {
      full_name_unicode: { type: "tstr", source: FULL_NAME },
      birth_date_unicode: { type: "tstr", source: { fn: "japanese_date", from: "birthDate" } },
      resident_address_unicode: { type: "tstr", source: { from: "address" } },
      sex_unicode: { type: "tstr", source: SEX_JA },
      local_gov_code_unicode: { type: "tstr", source: { from: "localGovCode" } },
      individual_number_unicode: { type: "tstr", source: { from: "individualNumber" } },
      portrait: { type: "bstr", source: { from: "portrait" } },
    },
    [COMMON]: {
      age_over_20: { type: "bool", source: { fn: "age_over", from: "birthDate", years: 20 } },
      age_in_years: { type: "uint", source: { fn: "age_in_years", from: "birthDate" } },
      sex: { type: "uint", source: { fn: "map", from: "sex", table: { male: 1, female: 2 } } },
      birth_date: { type: "full-date", source: { fn: "full_date", from: "birthDate" } },
    },
  },
};

/**
 * Display names of the built-in profiles' elements (Japanese, English), for wallets: the
 * OpenID4VCI issuer metadata's claims (apps/ra/src/openid4vci/metadata.ts). Keyed by element id.
 */
export const ELEMENT_NAMES: Readonly<Record<string, { ja: string; en: string }>> = {
  full_name: { ja: "氏名", en: "Full name" },
  full_name_unicode: { ja: "氏名", en: "Full name" },
  birth_date_unicode: { ja: "生年月日", en: "Date of birth (Japanese calendar)" },
  birth_date: { ja: "生年月日", en: "Date of birth" },
  resident_address_unicode: { ja: "住所", en: "Address" },
  sex_unicode: { ja: "性別", en: "Sex" },
  sex: { ja: "性別", en: "Sex" },
  local_gov_code: { ja: "地方公共団体コード", en: "Local government code" },
  local_gov_code_unicode: { ja: "地方公共団体コード", en: "Local government code" },
  individual_number: { ja: "個人番号", en: "My Number" },
  individual_number_unicode: { ja: "個人番号", en: "My Number" },
  Portrait: { ja: "顔写真", en: "Portrait" },
  portrait: { ja: "顔写真", en: "Portrait" },
  age_over_20: { ja: "20歳以上", en: "Aged 20 or over" },
  age_in_years: { ja: "年齢", en: "Age" },
};

const registry = new Map<string, DoctypeProfile>([
  [SEED_2024.id, SEED_2024],
  [INTEROP.id, INTEROP],
]);

/** Registers a profile (validated); e.g. a licence doctype loaded from JSON. */
export function registerProfile(p: DoctypeProfile): DoctypeProfile {
  validateProfile(p);
  registry.set(p.id, p);
  return p;
}

export function getProfile(id: string): DoctypeProfile {
  const p = registry.get(id);
  if (!p)
    throw new MdocError(
      "MDOC_PROFILE_INVALID",
      `unknown doctype profile "${id}" (known: ${[...registry.keys()].join(", ")})`,
    );
  return p;
}

export function allProfiles(): DoctypeProfile[] {
  return [...registry.values()];
}

const TYPES = new Set<ElementType>(["tstr", "uint", "int", "bool", "bstr", "full-date", "tdate"]);

/** Checks that a profile (e.g. from JSON) is consistent: derivations name known functions and inputs. */
export function validateProfile(p: DoctypeProfile): void {
  const bad: string[] = [];
  if (!p.id || !p.docType) bad.push("id and docType are required");
  for (const [name, f] of Object.entries(p.input ?? {})) {
    if (!["text", "date", "digits", "enum", "bytes"].includes(f.type))
      bad.push(`input ${name}: unknown type ${f.type}`);
    if (f.type === "enum" && !f.values?.length) bad.push(`input ${name}: enum needs values`);
    if (f.check && !["my-number", "jis-x0402"].includes(f.check)) bad.push(`input ${name}: unknown check ${f.check}`);
  }
  const needInput = (where: string, field: string) => {
    if (!(field in (p.input ?? {}))) bad.push(`${where}: input "${field}" not declared`);
  };
  for (const [ns, elements] of Object.entries(p.namespaces ?? {})) {
    for (const [id, e] of Object.entries(elements)) {
      const where = `${ns}/${id}`;
      if (!TYPES.has(e.type)) bad.push(`${where}: unknown type ${e.type}`);
      const s = e.source as Record<string, unknown>;
      if ("join" in s) for (const f of s.join as string[]) needInput(where, f);
      else if ("fn" in s) {
        if (
          ![
            "japanese_date",
            "full_date",
            "age_over",
            "age_in_years",
            "map",
            "issuance_date",
            "issuance_plus_years",
          ].includes(s.fn as string)
        )
          bad.push(`${where}: unknown derivation ${s.fn}`);
        if (typeof s.from === "string") needInput(where, s.from);
      } else if (typeof s.from === "string") needInput(where, s.from);
      else bad.push(`${where}: source needs from, join or fn`);
    }
  }
  if (bad.length) throw new MdocError("MDOC_PROFILE_INVALID", `profile ${p.id}: ${bad.join("; ")}`);
}

// ---------------------------------------------------------------- input validation

export type ValidatedInput = Record<string, string | Uint8Array>;

export interface InputIssue {
  element: string;
  rule: string;
}

/** Keeps caller-chosen names printable without echoing anything long (they are names, not values). */
function safeName(k: string): string {
  return k.replace(/[^\w.-]/g, "?").slice(0, 64);
}

function addIssue(issues: InputIssue[], element: string, rule: string): void {
  issues.push({ element, rule });
}

/** One field's verdict: the value to keep (normalised), or the rule it breaks. */
type Checked = { value: string | Uint8Array } | { rule: string };

/**
 * The character policy of text elements (names, addresses; docs/api.md, CP/CPS 3.1.2): well-formed
 * Unicode in NFC, no C0/C1 controls, no bidirectional or zero-width format characters, no
 * noncharacters. Each is refused by name, so the wallet backend knows what to fix.
 */
const TEXT_POLICY: readonly [RegExp, string][] = [
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  [/[\u0000-\u001f\u007f-\u009f]/u, "must not contain control characters"],
  [/[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u, "must not contain bidirectional controls"],
  [/[\u200b-\u200d\u2060\ufeff]/u, "must not contain zero-width characters"],
  [
    /[\u{fdd0}-\u{fdef}]|[\u{fffe}\u{ffff}\u{1fffe}\u{1ffff}\u{2fffe}\u{2ffff}\u{3fffe}\u{3ffff}\u{effff}\u{ffffe}\u{fffff}\u{10fffe}\u{10ffff}]/u,
    "must not contain noncharacters",
  ],
];

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function checkText(spec: InputFieldSpec, v: unknown): Checked {
  if (typeof v !== "string") return { rule: "must be a string" };
  // a lone surrogate would become U+FFFD in the signed CBOR: refused instead of altered
  if (LONE_SURROGATE.test(v)) return { rule: "must not contain lone surrogates" };
  const t = v.normalize("NFC").trim();
  if (!t) return { rule: "must not be blank" };
  for (const [re, rule] of TEXT_POLICY) if (re.test(t)) return { rule };
  if (spec.maxLength && [...t].length > spec.maxLength) return { rule: `longer than ${spec.maxLength} characters` };
  return { value: t };
}

function checkDate(v: unknown, now: Date): Checked {
  const d = typeof v === "string" ? parseCivilDate(v) : undefined;
  if (!d) return { rule: "must be a real date YYYY-MM-DD" };
  // no living holder was born before 1900 (the oldest verified lifespan is 122 years)
  if (d.year < 1900) return { rule: "date too early (before 1900-01-01)" };
  if (`${v}` > new Date(now.getTime() + 9 * 3600_000).toISOString().slice(0, 10))
    return { rule: "must not be in the future" };
  return { value: v as string };
}

function checkDigits(spec: InputFieldSpec, v: unknown): Checked {
  if (typeof v !== "string" || !/^\d+$/.test(v)) return { rule: "must be a string of ASCII digits" };
  if (spec.lengths && !spec.lengths.includes(v.length))
    return { rule: `must have ${spec.lengths.join(" or ")} digits` };
  if (spec.check === "my-number") {
    if (!isValidMyNumber(v)) return { rule: "check digit mismatch (施行令第八条)" };
    // a base of eleven zeros is no assigned number (a placeholder a backend sends by mistake)
    if (v.startsWith("00000000000")) return { rule: "not an assignable individual number" };
  }
  if (spec.check === "jis-x0402") {
    const code = v.length === 5 ? v + jisX0402CheckDigit(v) : v;
    if (!isValidJisX0402(code)) return { rule: "check digit mismatch (JIS X 0402)" };
    if (!isKnownLocalGovCode(code))
      return { rule: `not a local public body code (list of ${LOCAL_GOV_CODES_EDITION})` };
    return { value: code };
  }
  return { value: v };
}

function checkBytes(spec: InputFieldSpec, v: unknown): Checked {
  let b: Uint8Array | undefined;
  if (v instanceof Uint8Array) b = v;
  else if (typeof v === "string" && /^[A-Za-z0-9+/_-]+=*$/.test(v.replace(/\s/g, "")))
    b = new Uint8Array(Buffer.from(v.replace(/\s/g, ""), v.includes("-") || v.includes("_") ? "base64url" : "base64"));
  if (!b || b.length === 0) return { rule: "must be non-empty bytes (base64)" };
  if (!spec.image) return { value: b };
  const f = imageFormat(b);
  if (!f || !spec.image.formats.includes(f))
    return { rule: `must be an image of format ${spec.image.formats.join("/")}` };
  if (b.length > spec.image.maxBytes) return { rule: `larger than ${spec.image.maxBytes} bytes` };
  return { value: b };
}

function checkField(spec: InputFieldSpec, v: unknown, now: Date): Checked {
  switch (spec.type) {
    case "text":
      return checkText(spec, v);
    case "date":
      return checkDate(v, now);
    case "digits":
      return checkDigits(spec, v);
    case "enum":
      return typeof v === "string" && spec.values?.includes(v)
        ? { value: v }
        : { rule: `must be one of ${spec.values?.join(", ")}` };
    case "bytes":
      return checkBytes(spec, v);
  }
}

/**
 * Validates structured input against a profile. Unknown and missing fields are named; values
 * never appear in the error (controls mdoc.input.validated, mdoc.no-pii-in-errors).
 */
export function validateInput(profile: DoctypeProfile, input: unknown, now: Date): ValidatedInput {
  const issues: InputIssue[] = [];
  if (!input || typeof input !== "object" || Array.isArray(input))
    throw new MdocError("MDOC_INPUT_INVALID", "input must be an object of named fields");
  const rec = input as Record<string, unknown>;
  const out: ValidatedInput = {};
  // own properties only: `constructor`, `toString`, `__proto__` are names like any other, not inherited members
  for (const k of Object.keys(rec))
    if (!Object.hasOwn(profile.input, k)) issues.push({ element: safeName(k), rule: "unknown field" });
  for (const [name, spec] of Object.entries(profile.input)) {
    const v = Object.hasOwn(rec, name) ? rec[name] : undefined;
    if (v === undefined || v === null || v === "") {
      if (!spec.optional) issues.push({ element: name, rule: "missing" });
      continue;
    }
    const c = checkField(spec, v, now);
    if ("rule" in c) addIssue(issues, name, c.rule);
    else out[name] = c.value;
  }
  if (issues.length)
    throw new MdocError(
      "MDOC_INPUT_INVALID",
      `invalid input for profile ${profile.id}: ${issues.map((i) => `${i.element}: ${i.rule}`).join("; ")}`,
      { control: INPUT_VALIDATED.id, piiFree: NO_PII_IN_ERRORS.id, issues },
    );
  return out;
}

// ---------------------------------------------------------------- derivation

export interface DerivedElement {
  namespace: string;
  identifier: string;
  value: CborValue;
  /** For age-derived elements: the next instant the value changes (if within reach). */
  changesAt?: Date;
}

function civil(input: ValidatedInput, field: string): CivilDate {
  return parseCivilDate(input[field] as string) as CivilDate;
}

function failType(where: string, type: ElementType): never {
  throw new MdocError("MDOC_PROFILE_INVALID", `${where}: derived value does not fit type ${type}`);
}

function coerce(where: string, type: ElementType, v: unknown): CborValue {
  switch (type) {
    case "tstr":
      return typeof v === "string" ? v : failType(where, type);
    case "bool":
      return typeof v === "boolean" ? v : failType(where, type);
    case "bstr":
      return v instanceof Uint8Array ? v : failType(where, type);
    case "uint":
    case "int": {
      if (typeof v === "number" && Number.isInteger(v) && (type === "int" || v >= 0)) return v;
      if (typeof v === "string" && /^\d+$/.test(v)) {
        const n = BigInt(v);
        return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
      }
      return failType(where, type);
    }
    case "full-date":
      return typeof v === "string" && parseCivilDate(v) ? new FullDate(v) : failType(where, type);
    case "tdate":
      return v instanceof Date ? TDate.of(v) : failType(where, type);
  }
}

/** Maps validated input to the profile's elements, deriving ages at `now` (never from the caller). */
export function deriveElements(profile: DoctypeProfile, input: ValidatedInput, now: Date): DerivedElement[] {
  const out: DerivedElement[] = [];
  for (const [ns, elements] of Object.entries(profile.namespaces)) {
    for (const [id, spec] of Object.entries(elements)) {
      const s = spec.source;
      let value: unknown;
      let changesAt: Date | undefined;
      if ("join" in s) {
        const parts = s.join.map((f) => input[f]).filter((x) => x !== undefined);
        value = parts.length ? parts.join(s.separator) : undefined;
      } else if (!("fn" in s)) value = input[s.from];
      else if (s.fn === "issuance_date") value = now.toISOString().slice(0, 10);
      else if (s.fn === "issuance_plus_years") {
        const d = new Date(now);
        d.setUTCFullYear(d.getUTCFullYear() + s.years);
        value = d.toISOString().slice(0, 10);
      } else if (input[s.from] === undefined) value = undefined;
      else if (s.fn === "japanese_date") value = japaneseDate(civil(input, s.from));
      else if (s.fn === "full_date") value = input[s.from];
      else if (s.fn === "map") value = s.table[input[s.from] as string];
      else if (s.fn === "age_in_years") {
        const b = civil(input, s.from);
        value = ageAt(b, now);
        changesAt = nextBirthday(b, now);
      } else if (s.fn === "age_over") {
        const b = civil(input, s.from);
        const age = ageAt(b, now);
        value = age >= s.years;
        if (age < s.years) changesAt = nextBirthdayOfAge(b, s.years);
      }
      if (value === undefined) {
        if (spec.optional) continue;
        throw new MdocError(
          "MDOC_INPUT_INVALID",
          `invalid input for profile ${profile.id}: ${ns}/${id}: missing source`,
          {
            issues: [{ element: id, rule: "missing" }],
          },
        );
      }
      out.push({ namespace: ns, identifier: id, value: coerce(`${ns}/${id}`, spec.type, value), changesAt });
    }
  }
  return out;
}

/** The instant the holder turns `years`: the birthday in year birth.year + years. */
function nextBirthdayOfAge(b: CivilDate, years: number): Date {
  return birthdayInstant(b, b.year + years);
}

/**
 * Restores an element decoded from CBOR to its profile form: uint elements with a `width`
 * (seed-2024 local_gov_code, individual_number) become zero-padded decimal strings, since the
 * CBOR uint drops leading zeros (011002 札幌市 is encoded as 11002).
 */
export function restoreElement(profile: DoctypeProfile | undefined, ns: string, id: string, value: CborValue): unknown {
  const spec = profile?.namespaces[ns]?.[id];
  if (spec?.type === "uint" && spec.width && (typeof value === "number" || typeof value === "bigint"))
    return value.toString().padStart(spec.width, "0");
  return value;
}

/** The profile for a docType whose namespaces contain all these element ids (for decoding). */
export function profileFor(docType: string, elements: Record<string, string[]>): DoctypeProfile | undefined {
  return allProfiles().find(
    (p) =>
      p.docType === docType &&
      Object.entries(elements).every(([ns, ids]) =>
        ids.every((id) => p.namespaces[ns] && id in (p.namespaces[ns] ?? {})),
      ),
  );
}
