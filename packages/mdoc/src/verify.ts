/**
 * Reference verifier for IssuerSigned / Document / DeviceResponse: COSE signature, DS chain to a
 * trusted IACA (link certificates included), DS EKU, CRL, MSO validity at a time, signed within
 * the DS validity, element digests, docType, and the mdoc tag/format rules. Device
 * authentication (deviceSigned) is out of scope: this checks issuer data authentication.
 */
import "reflect-metadata";
import { digest } from "@iaca/hsm";
import { type CertificateInfo, type CrlInfo, parseCertificate, parseCrl } from "@iaca/pki";
import { type Algorithm, algorithmBy } from "@iaca/policy";
import { KeyUsageFlags, KeyUsagesExtension } from "@peculiar/x509";
import { type CborValue, decodeCbor, EmbeddedCbor, FullDate, get, Tagged, TDate } from "./cbor.ts";
import { buildPath } from "./cert-path.ts";
import { VERIFIER_REVOCATION_CHECK, VERIFIER_VALIDITY_CHECK } from "./controls.ts";
import {
  type CoseSign1,
  checkCoseKey,
  HEADER_ALG,
  HEADER_X5CHAIN,
  parseSign1,
  sign1Algorithm,
  sign1X5Chain,
  verifySign1,
} from "./cose.ts";
import { MDOC_DS_EKU } from "./issue.ts";
import { profileFor, restoreElement } from "./profiles.ts";
import { checkMsoStatus, type StatusSource } from "./verify-status.ts";

export type CheckStatus = "PASS" | "FAIL" | "SKIP";

export interface Check {
  name: string;
  status: CheckStatus;
  reason: string;
  /** Index of the document the check is about (DeviceResponse with several documents). */
  document?: number;
}

export interface VerifiedDocument {
  docType: string;
  /** Profile recognised from docType and element names (leading zeros restored through it). */
  profile?: string;
  validityInfo?: { signed?: string; validFrom?: string; validUntil?: string; expectedUpdate?: string };
  dsSubject?: string;
  dsSerial?: string;
  /** namespace → element identifier → value (only elements whose digest verified). */
  elements: Record<string, Record<string, unknown>>;
}

export interface VerifyResult {
  ok: boolean;
  format?: "IssuerSigned" | "Document" | "DeviceResponse";
  checks: Check[];
  documents: VerifiedDocument[];
}

export type CertInput = Uint8Array | string;

export interface VerifyOptions {
  /** Trusted IACA certificates (DER or PEM; a PEM may hold several). */
  trustAnchors: CertInput[];
  /** Untrusted certificates that may complete a path: link certificates, older roots. */
  untrusted?: CertInput[];
  /** CRLs (DER or PEM) of the IACA(s). When given, the DS must be covered and not listed. */
  crls?: CertInput[];
  /** Verification time (default now). */
  at?: Date;
  /** Expected docType; otherwise the Document's docType (or the MSO's for bare IssuerSigned). */
  docType?: string;
  /** Where Status List Tokens come from; without it the MSO's status is reported, not checked. */
  status?: StatusSource;
}

/** Reads binary CBOR, hex or base64/base64url text. */
export function readMdocInput(input: Uint8Array | string): Uint8Array {
  const bytes = typeof input === "string" ? new TextEncoder().encode(input) : input;
  const printable =
    bytes.length > 0 && bytes.every((b) => b === 0x0a || b === 0x0d || b === 0x20 || (b >= 0x21 && b < 0x7f));
  if (!printable) return bytes;
  const text = new TextDecoder().decode(bytes).replace(/\s+/g, "");
  if (/^([0-9a-fA-F]{2})+$/.test(text)) return new Uint8Array(Buffer.from(text, "hex"));
  if (/^[A-Za-z0-9_+/-]+=*$/.test(text))
    return new Uint8Array(Buffer.from(text, /[-_]/.test(text) ? "base64url" : "base64"));
  return bytes;
}

/** Splits PEM text (possibly several blocks) or returns DER as is. */
export function readDerList(input: CertInput, label = "CERTIFICATE|X509 CRL|CRL"): Uint8Array[] {
  const text = typeof input === "string" ? input : Buffer.from(input).toString("latin1");
  if (!text.includes("-----BEGIN"))
    return [typeof input === "string" ? new Uint8Array(Buffer.from(input, "base64")) : input];
  const re = new RegExp(`-----BEGIN (?:${label})-----([\\s\\S]*?)-----END`, "g");
  return [...text.matchAll(re)].map((m) => new Uint8Array(Buffer.from((m[1] as string).replace(/\s/g, ""), "base64")));
}

const TDATE_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

class Checks {
  readonly list: Check[] = [];
  private readonly doc?: number;
  constructor(doc?: number) {
    this.doc = doc;
  }
  add(name: string, ok: boolean | "skip", reason: string): boolean {
    const c: Check = { name, status: ok === "skip" ? "SKIP" : ok ? "PASS" : "FAIL", reason };
    if (this.doc !== undefined) c.document = this.doc;
    this.list.push(c);
    return ok === true;
  }
}

/** Verifies an mdoc; never throws for bad input, every problem is a FAIL check. */
export async function verifyMdoc(input: Uint8Array | string, opts: VerifyOptions): Promise<VerifyResult> {
  const at = opts.at ?? new Date();
  const top = new Checks();
  let root: CborValue;
  try {
    root = decodeCbor(readMdocInput(input));
    top.add("cbor.decode", true, "well-formed CBOR");
  } catch (e) {
    top.add("cbor.decode", false, (e as Error).message);
    return { ok: false, checks: top.list, documents: [] };
  }
  let format: VerifyResult["format"];
  let docs: { docType?: string; issuerSigned: CborValue }[] = [];
  if (root instanceof Map && root.has("documents")) {
    format = "DeviceResponse";
    const d = root.get("documents");
    if (Array.isArray(d))
      docs = d.map((x) => ({ docType: get(x, "docType") as string, issuerSigned: get(x, "issuerSigned") }));
  } else if (root instanceof Map && root.has("issuerSigned")) {
    format = "Document";
    docs = [{ docType: root.get("docType") as string, issuerSigned: root.get("issuerSigned") }];
  } else if (root instanceof Map && root.has("issuerAuth")) {
    format = "IssuerSigned";
    docs = [{ issuerSigned: root }];
  }
  if (!format || docs.length === 0) {
    top.add("format.structure", false, "not an IssuerSigned, Document or DeviceResponse (or no documents)");
    return { ok: false, checks: top.list, documents: [] };
  }
  let anchors: CertificateInfo[];
  let pool: CertificateInfo[];
  let crls: CrlInfo[];
  try {
    anchors = loadCerts(opts.trustAnchors);
    pool = loadCerts(opts.untrusted ?? []);
    crls = (opts.crls ?? []).flatMap((c) => readDerList(c)).map((d) => parseCrl(d));
    if ((opts.crls ?? []).length > 0 && crls.length === 0) throw new Error("no CRL in the given CRL input");
  } catch (e) {
    top.add("inputs", false, `unreadable trust anchor, certificate or CRL: ${(e as Error).message}`);
    return { ok: false, format, checks: top.list, documents: [] };
  }
  const documents: VerifiedDocument[] = [];
  const checks = [...top.list];
  for (const [i, d] of docs.entries()) {
    const c = new Checks(docs.length > 1 ? i : undefined);
    documents.push(
      await verifyDocument(d.docType ?? opts.docType, d.docType !== undefined, d.issuerSigned, c, {
        anchors,
        pool,
        crls,
        at,
        expected: opts.docType,
        status: opts.status,
      }),
    );
    checks.push(...c.list);
  }
  return { ok: checks.every((c) => c.status !== "FAIL"), format, checks, documents };
}

function loadCerts(list: CertInput[]): CertificateInfo[] {
  return list.flatMap((c) => readDerList(c, "CERTIFICATE")).map((d) => parseCertificate(d));
}

interface Ctx {
  anchors: CertificateInfo[];
  pool: CertificateInfo[];
  crls: CrlInfo[];
  at: Date;
  expected?: string;
  status?: StatusSource | undefined;
}

async function verifyDocument(
  docType: string | undefined,
  fromDocument: boolean,
  issuerSigned: CborValue,
  c: Checks,
  ctx: Ctx,
): Promise<VerifiedDocument> {
  const out: VerifiedDocument = { docType: docType ?? "", elements: {} };
  const items = readItems(issuerSigned, c);
  const auth = readIssuerAuth(issuerSigned, c);
  const mso = auth.sign1 ? readMso(auth.sign1, c) : undefined;
  checkSignature(auth, c);
  if (auth.ds) await checkDs(auth.ds, auth.extra, c, ctx, out);
  else c.add("ds.chain", false, "no DS certificate");
  if (!mso) return out;
  checkValidity(mso, auth.ds, c, ctx, out);
  const msoType = mso.get("docType") as string;
  const want = ctx.expected ?? (fromDocument ? docType : msoType);
  if (!docType) out.docType = msoType;
  const ok = msoType === want && (!fromDocument || docType === msoType);
  c.add(
    "mso.doctype",
    ok,
    ok
      ? `docType ${msoType}`
      : `MSO docType ${msoType} differs from ${fromDocument ? `Document docType ${docType}` : `expected ${want}`}`,
  );
  checkDigests(mso, items, c, out);
  c.add("mso.status", ...(await checkMsoStatus(mso, ctx)));
  return out;
}

type Item = { ns: string; raw: Uint8Array; digestID: number; id: string; value: CborValue };

/** Structure of IssuerSigned and its items (format.issuer-signed). */
function readItems(issuerSigned: CborValue, c: Checks): Item[] {
  const nameSpaces = get(issuerSigned, "nameSpaces");
  const items: Item[] = [];
  const structural: string[] = [];
  if (nameSpaces !== undefined && !(nameSpaces instanceof Map)) structural.push("nameSpaces is not a map");
  if (nameSpaces instanceof Map) {
    for (const [ns, arr] of nameSpaces) {
      if (typeof ns !== "string" || !Array.isArray(arr) || arr.length === 0) {
        structural.push("a namespace is not a non-empty array");
        continue;
      }
      const seen = new Set<number>();
      for (const it of arr) {
        if (!(it instanceof EmbeddedCbor)) {
          structural.push(`${ns}: an item is not tag 24 (IssuerSignedItemBytes)`);
          continue;
        }
        let m: CborValue;
        try {
          m = it.decode();
        } catch {
          structural.push(`${ns}: an item is not well-formed CBOR`);
          continue;
        }
        const id = get(m, "elementIdentifier");
        const digestID = get(m, "digestID");
        const salt = get(m, "random");
        if (
          typeof id !== "string" ||
          typeof digestID !== "number" ||
          digestID < 0 ||
          !(m instanceof Map) ||
          !m.has("elementValue")
        ) {
          structural.push(`${ns}: an item lacks digestID/elementIdentifier/elementValue`);
          continue;
        }
        if (!(salt instanceof Uint8Array) || salt.length < 16)
          structural.push(`${ns}/${id}: random (salt) shorter than 16 bytes`);
        if (seen.has(digestID)) structural.push(`${ns}/${id}: duplicate digestID`);
        seen.add(digestID);
        items.push({ ns, raw: it.raw, digestID, id, value: m.get("elementValue") });
      }
    }
  }
  c.add(
    "format.issuer-signed",
    structural.length === 0,
    structural.length ? structural.join("; ") : `${items.length} IssuerSignedItems, all tag 24 with >= 16-byte salts`,
  );

  return items;
}

interface IssuerAuth {
  sign1: CoseSign1 | undefined;
  alg: Algorithm | undefined;
  ds: CertificateInfo | undefined;
  extra: CertificateInfo[];
}

/** The COSE_Sign1 headers: alg and the DS certificate chain (cose.header). */
function readIssuerAuth(issuerSigned: CborValue, c: Checks): IssuerAuth {
  let sign1: CoseSign1 | undefined;
  let alg: ReturnType<typeof sign1Algorithm>;
  let ds: CertificateInfo | undefined;
  let extra: CertificateInfo[] = [];
  try {
    sign1 = parseSign1(get(issuerSigned, "issuerAuth"));
    if (!sign1.payload) throw new Error("COSE_Sign1 payload is not a bstr");
    alg = sign1Algorithm(sign1);
    const x5 = sign1.unprotected.get(HEADER_X5CHAIN) ?? sign1.protectedHeaders.get(HEADER_X5CHAIN);
    const chain = sign1X5Chain(sign1) ?? [];
    if (!alg)
      throw new Error(`protected alg ${String(sign1.protectedHeaders.get(HEADER_ALG))} is not ES256/ES384/ES512`);
    if (chain.length === 0) throw new Error("x5chain (33) missing or not bstr");
    [ds, ...extra] = chain.map((d) => parseCertificate(d));
    c.add(
      "cose.header",
      true,
      `alg ${alg.jose} in protected header; x5chain ${x5 instanceof Uint8Array ? "single bstr" : `array of ${chain.length}`}`,
    );
  } catch (e) {
    c.add("cose.header", false, (e as Error).message);
  }

  return { sign1, alg, ds, extra };
}

/** The MSO in the COSE payload (mso.encoding). */
function readMso(sign1: CoseSign1, c: Checks): Map<CborValue, CborValue> | undefined {
  try {
    const payload = decodeCbor(sign1.payload as Uint8Array);
    if (!(payload instanceof EmbeddedCbor)) throw new Error("payload is not tag 24 (MobileSecurityObjectBytes)");
    const m = payload.decode();
    if (!(m instanceof Map)) throw new Error("MSO is not a map");
    if (m.get("version") !== "1.0") throw new Error('MSO version is not "1.0"');
    if (!algorithmBy("hash", m.get("digestAlgorithm"))) throw new Error("unsupported digestAlgorithm");
    if (typeof m.get("docType") !== "string") throw new Error("MSO docType missing");
    if (!(m.get("valueDigests") instanceof Map)) throw new Error("valueDigests missing");
    checkCoseKey(get(m.get("deviceKeyInfo") as CborValue, "deviceKey"));
    c.add("mso.encoding", true, `tag-24 MSO version 1.0, ${m.get("digestAlgorithm")}, device key COSE_Key`);
    return m;
  } catch (e) {
    c.add("mso.encoding", false, (e as Error).message);
  }
  return undefined;
}

/** The issuerAuth signature with the DS key (cose.signature). */
function checkSignature({ sign1, alg, ds }: IssuerAuth, c: Checks): void {
  if (sign1 && ds && alg) {
    try {
      if (ds.curve !== alg.curve)
        c.add("cose.signature", false, `alg ${alg.cose} does not match the DS key curve ${ds.curve}`);
      else {
        const ok = verifySign1(sign1, ds);
        c.add(
          "cose.signature",
          ok,
          ok ? "issuerAuth signature verifies with the DS key" : "issuerAuth signature does not verify with the DS key",
        );
      }
    } catch (e) {
      c.add("cose.signature", false, (e as Error).message);
    }
  } else c.add("cose.signature", false, "no usable COSE_Sign1 / DS certificate");
}

/** The DS certificate: path to a trust anchor, EKU/key usage, CRL (ds.chain, ds.eku, ds.crl). */
async function checkDs(
  ds: CertificateInfo,
  extra: CertificateInfo[],
  c: Checks,
  ctx: Ctx,
  out: VerifiedDocument,
): Promise<void> {
  let issuerCa: CertificateInfo | undefined;
  out.dsSubject = ds.subject;
  out.dsSerial = ds.serial;
  const path = await buildPath(ds, ctx.anchors, [...extra, ...ctx.pool], ctx.at);
  if ("error" in path) c.add("ds.chain", false, path.error);
  else {
    issuerCa = path.path[1];
    c.add(
      "ds.chain",
      true,
      `${path.path.map((p) => p.subject).join(" <- ")} (trusted anchor), valid at ${ctx.at.toISOString()}`,
    );
  }
  const ku = ds.x509.getExtension(KeyUsagesExtension);
  const ekuOk = ds.ekus.includes(MDOC_DS_EKU);
  const kuOk = !ku || (ku.usages & KeyUsageFlags.digitalSignature) !== 0;
  c.add(
    "ds.eku",
    ekuOk && kuOk,
    ekuOk
      ? kuOk
        ? `EKU ${MDOC_DS_EKU} (mdoc DS) present`
        : "keyUsage lacks digitalSignature"
      : `EKU ${MDOC_DS_EKU} (mdoc DS) missing`,
  );
  // control mdoc.verifier.revocation-check
  if (ctx.crls.length === 0) c.add("ds.crl", "skip", `no CRL given (${VERIFIER_REVOCATION_CHECK.id} not applied)`);
  else c.add("ds.crl", ...(await checkCrl(ds, issuerCa, ctx.crls, ctx.at, ctx.anchors, [...extra, ...ctx.pool])));
}

/** validityInfo: tdate form, validity at ctx.at, signed within the DS validity (mdoc.verifier.validity-check). */
function checkValidity(
  mso: Map<CborValue, CborValue>,
  ds: CertificateInfo | undefined,
  c: Checks,
  ctx: Ctx,
  out: VerifiedDocument,
): void {
  const vi = mso.get("validityInfo");
  const names = ["signed", "validFrom", "validUntil", "expectedUpdate"] as const;
  const dates: Partial<Record<(typeof names)[number], Date>> = {};
  const bad: string[] = [];
  for (const n of names) {
    const v = get(vi as CborValue, n);
    if (v === undefined) {
      if (n !== "expectedUpdate") bad.push(`${n} missing`);
      continue;
    }
    if (v instanceof Tagged && v.tag === 1) bad.push(`${n} is tag 1 (epoch); tdate must be tag 0`);
    else if (!(v instanceof TDate)) bad.push(`${n} is not a tag-0 tdate`);
    else if (!TDATE_RE.test(v.value) || Number.isNaN(v.date.getTime())) bad.push(`${n} is not YYYY-MM-DDTHH:MM:SSZ`);
    else dates[n] = v.date;
  }
  c.add(
    "mso.tdate",
    bad.length === 0,
    bad.length ? bad.join("; ") : "validityInfo dates are tag 0, YYYY-MM-DDTHH:MM:SSZ",
  );
  out.validityInfo = Object.fromEntries(
    Object.entries(dates).map(([k, v]) => [k, v.toISOString().replace(".000", "")]),
  );
  const { signed, validFrom, validUntil, expectedUpdate } = dates;
  if (signed && validFrom && validUntil) {
    const rules: string[] = [];
    if (validFrom < signed) rules.push("validFrom is before signed");
    if (validUntil <= validFrom) rules.push("validUntil is not after validFrom");
    if (expectedUpdate && (expectedUpdate < validFrom || expectedUpdate > validUntil))
      rules.push("expectedUpdate outside validFrom..validUntil");
    if (ctx.at < validFrom)
      rules.push(`not yet valid at ${ctx.at.toISOString()} (validFrom ${validFrom.toISOString()})`);
    if (ctx.at > validUntil) rules.push(`expired at ${ctx.at.toISOString()} (validUntil ${validUntil.toISOString()})`);
    c.add(
      "mso.validity",
      rules.length === 0,
      rules.length
        ? rules.join("; ")
        : `validFrom <= ${ctx.at.toISOString()} <= validUntil (${VERIFIER_VALIDITY_CHECK.id})`,
    );
    if (ds) {
      const inDs = signed >= ds.notBefore && signed <= ds.notAfter;
      c.add(
        "mso.signed-in-ds-validity",
        inDs,
        inDs
          ? "signed within the DS certificate validity"
          : `signed ${signed.toISOString()} outside the DS validity ${ds.notBefore.toISOString()} .. ${ds.notAfter.toISOString()}`,
      );
    }
  } else c.add("mso.validity", false, "validityInfo incomplete");
}

/** Element digests against the MSO (mso.digests); the verified elements go to `out`. */
function checkDigests(mso: Map<CborValue, CborValue>, items: Item[], c: Checks, out: VerifiedDocument): void {
  const alg2 = algorithmBy("hash", mso.get("digestAlgorithm"))!.hash;
  const vd = mso.get("valueDigests") as Map<CborValue, CborValue>;
  const failed: string[] = [];
  const verified: Item[] = [];
  for (const it of items) {
    const expected = get(vd.get(it.ns) as CborValue, it.digestID);
    if (!(expected instanceof Uint8Array)) failed.push(`${it.ns}/${it.id}: digestID not in MSO`);
    else if (!Buffer.from(expected).equals(digest(alg2, it.raw))) failed.push(`${it.ns}/${it.id}: digest mismatch`);
    else verified.push(it);
  }
  c.add(
    "mso.digests",
    failed.length === 0 && items.length > 0,
    failed.length ? failed.join("; ") : items.length ? `${items.length} element digests match` : "no elements",
  );
  const byNs: Record<string, string[]> = {};
  for (const it of verified) {
    byNs[it.ns] ??= [];
    byNs[it.ns]!.push(it.id);
  }
  const profile = profileFor(out.docType, byNs);
  if (profile) out.profile = profile.id;
  for (const it of verified) {
    out.elements[it.ns] ??= {};
    out.elements[it.ns]![it.id] = restoreElement(profile, it.ns, it.id, it.value);
  }
  checkElementFormats(verified, profile, c);
}

/** Tag-1 dates and element types per the recognised profile (elements.format). */
function checkElementFormats(verified: Item[], profile: ReturnType<typeof profileFor>, c: Checks): void {
  const fmt: string[] = [];
  for (const it of verified) {
    const spec = profile?.namespaces[it.ns]?.[it.id];
    const v = it.value;
    if (v instanceof Tagged && v.tag === 1) fmt.push(`${it.ns}/${it.id}: tag 1 date; use tag 0 or 1004`);
    if (!spec) continue;
    const okType =
      spec.type === "tstr"
        ? typeof v === "string"
        : spec.type === "uint"
          ? (typeof v === "number" && v >= 0) || (typeof v === "bigint" && v >= 0n)
          : spec.type === "int"
            ? typeof v === "number" || typeof v === "bigint"
            : spec.type === "bool"
              ? typeof v === "boolean"
              : spec.type === "bstr"
                ? v instanceof Uint8Array
                : spec.type === "full-date"
                  ? v instanceof FullDate && /^\d{4}-\d{2}-\d{2}$/.test(v.value)
                  : v instanceof TDate && TDATE_RE.test(v.value);
    if (!okType) fmt.push(`${it.ns}/${it.id}: not ${spec.type}`);
  }
  c.add(
    "elements.format",
    fmt.length === 0,
    fmt.length
      ? fmt.join("; ")
      : profile
        ? `element types match profile ${profile.id}`
        : "no tag-1 dates (docType profile unknown; types not checked)",
  );
}

async function checkCrl(
  ds: CertificateInfo,
  issuer: CertificateInfo | undefined,
  crls: CrlInfo[],
  at: Date,
  anchors: CertificateInfo[] = [],
  pool: CertificateInfo[] = [],
): Promise<[boolean, string]> {
  const candidates = crls.filter((c) => c.issuer === ds.issuer);
  if (!issuer) return [false, "no trusted issuer to check the CRL signature against"];
  const signedBy = async (crl: CrlInfo, cert: CertificateInfo) => {
    try {
      return await crl.x509.verify({ publicKey: cert.x509.publicKey });
    } catch {
      return false;
    }
  };
  // After a root re-key the CRL (scope: the issuer name, RFC 5280 5.) is signed by the new key of the
  // same CA: accept a key of that name which itself chains to a trust anchor (the anchor, or a link).
  const sameCaKey = async (crl: CrlInfo) => {
    for (const k of [...anchors, ...pool]) {
      if (k.subject !== ds.issuer || k.sha256 === issuer.sha256 || !(await signedBy(crl, k))) continue;
      if (!("error" in (await buildPath(k, anchors, pool, at)))) return true;
    }
    return false;
  };
  // the newest list first (RFC 5280 5.2.3: a higher CRL number is a later list of the same scope)
  const order = (a: bigint, b: bigint) => (a > b ? -1 : a < b ? 1 : 0);
  const newestFirst = [...candidates].sort(
    (a, b) => order(a.number ?? -1n, b.number ?? -1n) || b.thisUpdate.getTime() - a.thisUpdate.getTime(),
  );
  for (const crl of newestFirst) {
    const ok = (await signedBy(crl, issuer)) || (await sameCaKey(crl));
    if (!ok) continue;
    if (crl.nextUpdate && crl.nextUpdate < at)
      return [false, `CRL expired (nextUpdate ${crl.nextUpdate.toISOString()})`];
    const entry = crl.x509.findRevoked(ds.x509);
    if (entry) return [false, `DS certificate ${ds.serial} is revoked (since ${entry.revocationDate.toISOString()})`];
    return [true, `DS not listed in the CRL of ${crl.issuer} (thisUpdate ${crl.thisUpdate.toISOString()})`];
  }
  return [
    false,
    candidates.length
      ? "CRL signature does not verify with the DS issuer's key"
      : `no CRL from the DS issuer "${ds.issuer}"`,
  ];
}
