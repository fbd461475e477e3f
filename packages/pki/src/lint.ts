// Annex B linter. Rules are data: id, description, CP/CPS clause, profiles, check. The same rules run
// before every signature (sign.ts) and on any file (`iaca lint`).

import {
  ALGORITHMS,
  addDuration,
  algorithmBy,
  type Clause,
  type Control,
  clause,
  IacaError,
  type Policy,
  revocationGenOf,
  revocationUrl,
} from "@iaca/policy";
import { AsnConvert } from "@peculiar/asn1-schema";
import {
  AuthorityKeyIdentifier,
  BasicConstraints,
  Certificate,
  CertificateList,
  CRLDistributionPoints,
  ExtendedKeyUsage,
  type Extension,
  GeneralNames,
  KeyUsage,
  KeyUsageFlags,
  SubjectKeyIdentifier,
  type TBSCertificate,
  type TBSCertList,
  type Time,
  Version,
} from "@peculiar/asn1-x509";
import { CONTROLS } from "./controls.ts";
import { equalBytes, parseInteger, toBytes } from "./der.ts";
import { OID } from "./oids.ts";
import {
  attrText,
  type CertProfile,
  type CrlProfile,
  findExtension,
  type IssuerInfo,
  issuerInfo,
  nameAttr,
  type Profile,
  publicKeyInfo,
} from "./profiles.ts";

export type LintStatus = "PASS" | "FAIL" | "SKIP";

export interface LintContext {
  profile: Profile;
  policy: Policy;
  /** The certificate of the signing key (for a self-signed root: absent, the root itself is used). */
  issuer?: IssuerInfo | undefined;
  /** Highest CRL number already issued on this list (crl.number.increasing). */
  previousCrlNumber?: bigint | undefined;
}

/** A check returns true (pass), a string (fail: why), or null (not applicable / context missing). */
type Check<T> = (subject: T, ctx: LintContext) => true | string | null;

export interface LintRule<T = unknown> {
  id: string;
  description: string;
  clause: Clause;
  control: Control;
  profiles: readonly Profile[];
  check: Check<T>;
}

export interface LintResult {
  rule: string;
  status: LintStatus;
  description: string;
  clause: string;
  detail?: string;
}

const CERT: readonly CertProfile[] = ["iaca", "link", "ds", "tsl-signer", "status-signer"];
const CA: readonly CertProfile[] = ["iaca", "link"];
const EE: readonly CertProfile[] = ["ds", "tsl-signer", "status-signer"];
const LISTS: readonly CrlProfile[] = ["crl", "arl"];
const C71 = clause("7.1");
const C72 = clause("7.2");
const P = CONTROLS.profile;
const NAME_TYPES: Record<string, string> = { [OID.C]: "C", [OID.ST]: "ST", [OID.O]: "O", [OID.CN]: "CN" };

const der = (v: unknown) => new Uint8Array(AsnConvert.serialize(v));
const ext = (t: TBSCertificate, oid: string) => findExtension(t.extensions, oid);
const parseExt = <T>(e: Extension, type: new () => T): T => AsnConvert.parse(e.extnValue.buffer, type);
const timeOf = (t: Time) => t.getTime();
const issuerOf = (t: TBSCertificate, ctx: LintContext): IssuerInfo | undefined =>
  ctx.issuer ?? (ctx.profile === "iaca" ? issuerInfo(new Certificate({ tbsCertificate: t })) : undefined);

function keyUsageFlags(t: TBSCertificate): number | undefined {
  const e = ext(t, OID.keyUsage);
  return e ? parseExt(e, KeyUsage).toNumber() : undefined;
}
function kuText(flags: number): string {
  return Object.entries(KeyUsageFlags)
    .filter(([k, v]) => typeof v === "number" && flags & v && Number.isNaN(Number(k)))
    .map(([k]) => k)
    .join("+");
}
function skiOf(t: TBSCertificate): Uint8Array | undefined {
  const e = ext(t, OID.ski);
  return e ? toBytes(parseExt(e, SubjectKeyIdentifier).buffer) : undefined;
}
function akiOf(exts: Iterable<Extension> | undefined): Uint8Array | undefined {
  const e = findExtension(exts, OID.aki);
  const id = e ? parseExt(e, AuthorityKeyIdentifier).keyIdentifier : undefined;
  return id ? toBytes(id.buffer) : undefined;
}
function ekuOf(t: TBSCertificate): Extension | undefined {
  return ext(t, OID.extKeyUsage);
}

const ALLOWED_EXT: Record<CertProfile, string[]> = {
  iaca: [OID.ski, OID.aki, OID.keyUsage, OID.basicConstraints, OID.issuerAltName, OID.crlDistributionPoints],
  link: [OID.ski, OID.aki, OID.keyUsage, OID.basicConstraints, OID.issuerAltName, OID.crlDistributionPoints],
  ds: [OID.ski, OID.aki, OID.keyUsage, OID.extKeyUsage, OID.issuerAltName, OID.crlDistributionPoints],
  "tsl-signer": [OID.ski, OID.aki, OID.keyUsage, OID.extKeyUsage, OID.issuerAltName, OID.crlDistributionPoints],
  "status-signer": [OID.ski, OID.aki, OID.keyUsage, OID.issuerAltName, OID.crlDistributionPoints],
};
const CRITICAL_OK = new Set<string>([OID.keyUsage, OID.basicConstraints, OID.extKeyUsage]);
const ANNEX_B_MAX_DS_DAYS = 457;

function certRule(
  id: string,
  description: string,
  profiles: readonly CertProfile[],
  check: Check<TBSCertificate>,
  opts: { clause?: Clause; control?: Control } = {},
): LintRule<TBSCertificate> {
  const control = opts.control ?? P;
  return { id, description, clause: opts.clause ?? control.clause, control, profiles, check };
}

export const CERT_RULES: readonly LintRule<TBSCertificate>[] = [
  certRule(
    "cert.version.v3",
    "X.509 version is v3",
    CERT,
    (t) => t.version === Version.v3 || `version ${t.version + 1}`,
    { control: CONTROLS.profileVersion },
  ),
  certRule(
    "cert.serial.positive",
    "serial number is a positive INTEGER",
    CERT,
    (t) => {
      const s = toBytes(t.serialNumber);
      if ((s[0] ?? 0) & 0x80) return "serial is negative";
      return s.some((b) => b !== 0) || "serial is zero";
    },
    { clause: C71, control: CONTROLS.serialRandom },
  ),
  certRule(
    "cert.serial.length",
    "serial number is at most 20 octets",
    CERT,
    (t) => t.serialNumber.byteLength <= 20 || `${t.serialNumber.byteLength} octets`,
    { clause: C71, control: CONTROLS.serialRandom },
  ),
  certRule(
    "cert.serial.entropy",
    "serial number has room for >= 63 random bits (>= 8 octets)",
    CERT,
    (t) => t.serialNumber.byteLength >= 8 || `${t.serialNumber.byteLength} octets`,
    { clause: C71, control: CONTROLS.serialRandom },
  ),
  certRule(
    "cert.signature.ecdsa",
    "signature is ecdsa-with-SHA256/384/512 without parameters",
    CERT,
    (t) => {
      if (!hashOfSignature(t.signature.algorithm)) return `signature algorithm ${t.signature.algorithm}`;
      return t.signature.parameters == null || "parameters present";
    },
    { control: CONTROLS.algorithms },
  ),
  certRule(
    "cert.signature.matches-key",
    "signature hash matches the signing key's curve",
    CERT,
    (t, ctx) => {
      const iss = issuerOf(t, ctx);
      if (!iss) return null;
      const want = ALGORITHMS[iss.key.curve].hash;
      const got = hashOfSignature(t.signature.algorithm);
      return got === want || `${iss.key.curve} key signs with ${want}, TBS says ${got ?? t.signature.algorithm}`;
    },
    { control: CONTROLS.algorithms },
  ),
  certRule(
    "cert.spki.ec",
    "subject public key is EC on P-256, P-384 or P-521",
    CERT,
    (t) => {
      try {
        publicKeyInfo(der(t.subjectPublicKeyInfo));
        return true;
      } catch (e) {
        return (e as Error).message;
      }
    },
    { control: CONTROLS.algorithms },
  ),
  certRule(
    "cert.name.country",
    "subject C is present once, an upper-case PrintableString",
    CERT,
    (t) => {
      const cs = [...t.subject].flatMap((r) => [...r]).filter((a) => a.type === OID.C);
      if (cs.length !== 1) return `${cs.length} C attributes`;
      const v = cs[0]!.value;
      if (v.printableString === undefined) return "C is not a PrintableString";
      return /^[A-Z]{2}$/.test(v.printableString) || `C="${v.printableString}"`;
    },
    { control: CONTROLS.nameTypes },
  ),
  certRule("cert.name.cn", "subject CN is present", CERT, (t) => !!attrText(nameAttr(t.subject, OID.CN)) || "no CN", {
    control: CONTROLS.nameTypes,
  }),
  certRule(
    "cert.name.attributes",
    "subject is C, ST?, O?, CN in this order, one single-valued RDN each, no other attribute types",
    CERT,
    (t) => {
      const got: string[] = [];
      for (const rdn of t.subject) {
        if (rdn.length !== 1) return "multi-valued RDN";
        const label = NAME_TYPES[rdn[0]!.type];
        if (!label) return `attribute ${rdn[0]!.type} is not C, ST, O or CN`;
        got.push(label);
      }
      const order = ["C", "ST", "O", "CN"].filter((x) => got.includes(x));
      return got.join(",") === order.join(",") || `order ${got.join(",")}`;
    },
    { control: CONTROLS.nameTypes },
  ),
  certRule(
    "cert.validity.order",
    "notBefore is before notAfter",
    CERT,
    (t) => (timeOf(t.validity.notBefore) < timeOf(t.validity.notAfter) ? true : "notAfter <= notBefore"),
    { control: CONTROLS.validityPlan },
  ),
  certRule(
    "cert.validity.time-encoding",
    "UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280)",
    CERT,
    (t) => {
      for (const x of [t.validity.notBefore, t.validity.notAfter]) {
        const y = x.getTime().getUTCFullYear();
        if (y < 2050 && !x.utcTime) return `${y} encoded as GeneralizedTime`;
        if (y >= 2050 && !x.generalTime) return `${y} encoded as UTCTime`;
      }
      return true;
    },
    { clause: C71 },
  ),
  certRule("cert.ext.unique", "no extension appears twice", CERT, (t) => {
    const ids = [...(t.extensions ?? [])].map((e) => e.extnID);
    const dup = ids.find((id, i) => ids.indexOf(id) !== i);
    return dup ? `${dup} repeated` : true;
  }),
  certRule("cert.ext.allowed", "only the profile's extensions are present", CERT, (t, ctx) => {
    const allowed = ALLOWED_EXT[ctx.profile as CertProfile];
    const extra = [...(t.extensions ?? [])].map((e) => e.extnID).filter((id) => !allowed.includes(id));
    return extra.length === 0 || `unexpected ${extra.join(", ")}`;
  }),
  certRule("cert.ext.critical", "only keyUsage, basicConstraints (and EKU for DS) are critical", CERT, (t) => {
    const bad = [...(t.extensions ?? [])].filter((e) => e.critical && !CRITICAL_OK.has(e.extnID));
    return bad.length === 0 || `critical ${bad.map((e) => e.extnID).join(", ")}`;
  }),
  certRule("cert.ski.present", "subjectKeyIdentifier present, non-critical, matches the key", CERT, (t) => {
    const e = ext(t, OID.ski);
    if (!e) return "missing";
    if (e.critical) return "critical";
    const want = publicKeyInfo(der(t.subjectPublicKeyInfo)).ski;
    return equalBytes(skiOf(t), want) || "SKI is not SHA-1 of the subject key";
  }),
  certRule("cert.ku.critical", "keyUsage present and critical", CERT, (t) => {
    const e = ext(t, OID.keyUsage);
    return !e ? "missing" : e.critical || "not critical";
  }),
  certRule("cert.ku.bits", "keyUsage is keyCertSign+cRLSign (CA) or digitalSignature (DS)", CERT, (t, ctx) => {
    const got = keyUsageFlags(t);
    if (got === undefined) return "missing";
    const want = (CA as readonly string[]).includes(ctx.profile)
      ? KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign
      : KeyUsageFlags.digitalSignature;
    return got === want || `${kuText(got)} (want ${kuText(want)})`;
  }),
  certRule("cert.ian.present", "issuerAlternativeName non-critical with a URI or e-mail", CERT, (t) => {
    const e = ext(t, OID.issuerAltName);
    if (!e) return "missing";
    if (e.critical) return "critical";
    const names = [...parseExt(e, GeneralNames)];
    return (
      (names.length > 0 && names.every((n) => n.uniformResourceIdentifier || n.rfc822Name)) || "not a URI / e-mail"
    );
  }),
  certRule("cert.cdp.uri-only", "CRL distribution point: one URI, no reasons, no cRLIssuer", CERT, (t) => {
    const e = ext(t, OID.crlDistributionPoints);
    if (!e) return "missing";
    if (e.critical) return "critical";
    const dps = [...parseExt(e, CRLDistributionPoints)];
    if (dps.length !== 1) return `${dps.length} distribution points`;
    const dp = dps[0]!;
    if (dp.reasons) return "reasons present";
    if (dp.cRLIssuer) return "cRLIssuer present";
    const full = dp.distributionPoint?.fullName;
    return (full?.length === 1 && !!full[0]?.uniformResourceIdentifier) || "not a single URI";
  }),
  certRule(
    "cert.cdp.policy-url",
    "CDP URI is the ARL (CA) / CRL (DS) URL of a root key generation (policy.revocation)",
    CERT,
    (t, ctx) => {
      const e = ext(t, OID.crlDistributionPoints);
      if (!e) return null;
      const uri = [...parseExt(e, CRLDistributionPoints)][0]?.distributionPoint?.fullName?.[0]
        ?.uniformResourceIdentifier;
      const kind = (CA as readonly string[]).includes(ctx.profile) ? "arl" : "crl";
      return (
        (uri !== undefined && revocationGenOf(ctx.policy, kind, uri) !== undefined) ||
        `${uri} (policy: ${revocationUrl(ctx.policy, kind, 1)}, or its -gN form for root generation N)`
      );
    },
    { clause: clause("2.2") },
  ),
  certRule("ca.bc.ca", "basicConstraints present, critical, cA=TRUE", CA, (t) => {
    const e = ext(t, OID.basicConstraints);
    if (!e) return "missing";
    if (!e.critical) return "not critical";
    return parseExt(e, BasicConstraints).cA || "cA=FALSE";
  }),
  certRule("ca.bc.pathlen-zero", "basicConstraints pathLenConstraint = 0", CA, (t) => {
    const e = ext(t, OID.basicConstraints);
    if (!e) return "missing";
    const n = parseExt(e, BasicConstraints).pathLenConstraint;
    return n === 0 || `pathLen=${n ?? "absent"}`;
  }),
  certRule(
    "ca.self-issued",
    "subject and issuer names are byte-identical",
    CA,
    (t) => (equalBytes(der(t.subject), der(t.issuer)) ? true : "subject != issuer"),
    { control: CONTROLS.nameForms },
  ),
  certRule("iaca.self-signed", "root: AKI absent or equal to SKI", ["iaca"], (t) => {
    const aki = akiOf(t.extensions);
    return !aki || equalBytes(aki, skiOf(t)) || "AKI != SKI (a link certificate?)";
  }),
  certRule(
    "iaca.validity.policy",
    "root validity within policy.iaca.validity",
    ["iaca"],
    (t, ctx) => {
      const max = addDuration(timeOf(t.validity.notBefore), ctx.policy.iaca.validity);
      return timeOf(t.validity.notAfter) <= max || `longer than ${ctx.policy.iaca.validity}`;
    },
    { control: CONTROLS.validityPlan },
  ),
  certRule(
    "link.aki.issuer",
    "link: AKI is the certifying root key's SKI and differs from the SKI",
    ["link"],
    (t, ctx) => {
      const aki = akiOf(t.extensions);
      if (!aki) return "AKI missing";
      if (equalBytes(aki, skiOf(t))) return "AKI == SKI (self-signed, not a link)";
      if (!ctx.issuer) return null;
      return equalBytes(aki, ctx.issuer.key.ski) || "AKI is not the certifying key's SKI";
    },
    { control: CONTROLS.linkOnRekey },
  ),
  certRule(
    "cert.issuer.name",
    "issuer name is byte-identical to the issuing certificate's subject",
    ["link", ...EE],
    (t, ctx) =>
      !ctx.issuer
        ? null
        : equalBytes(der(t.issuer), der(ctx.issuer.cert.tbsCertificate.subject)) || "issuer != CA subject",
    { control: CONTROLS.nameForms },
  ),
  certRule(
    "cert.validity.within-issuer",
    "validity inside the issuing certificate's validity",
    ["link", ...EE],
    (t, ctx) => {
      if (!ctx.issuer) return null;
      const v = ctx.issuer.cert.tbsCertificate.validity;
      if (timeOf(t.validity.notAfter) > timeOf(v.notAfter))
        return `notAfter ${timeOf(t.validity.notAfter).toISOString()} beyond the IACA's ${timeOf(v.notAfter).toISOString()}`;
      return timeOf(t.validity.notBefore) >= timeOf(v.notBefore) || "notBefore before the IACA's";
    },
    { control: CONTROLS.validityPlan },
  ),
  certRule("ee.aki.issuer", "AKI present and equal to the IACA SKI", EE, (t, ctx) => {
    const aki = akiOf(t.extensions);
    if (!aki) return "missing";
    return !ctx.issuer ? null : equalBytes(aki, ctx.issuer.key.ski) || "AKI != IACA SKI";
  }),
  certRule("ee.ian.issuer", "issuerAlternativeName equal to the IACA's", EE, (t, ctx) => {
    if (!ctx.issuer) return null;
    const a = ext(t, OID.issuerAltName);
    const b = findExtension(ctx.issuer.cert.tbsCertificate.extensions, OID.issuerAltName);
    if (!a || !b) return "missing";
    return equalBytes(a.extnValue.buffer, b.extnValue.buffer) || "differs from the IACA's";
  }),
  certRule(
    "ee.name.country-issuer",
    "subject C (and ST) equal to the IACA's",
    EE,
    (t, ctx) => {
      if (!ctx.issuer) return null;
      const s = ctx.issuer.cert.tbsCertificate.subject;
      for (const [oid, label] of [
        [OID.C, "C"],
        [OID.ST, "ST"],
      ] as const) {
        const mine = attrText(nameAttr(t.subject, oid));
        const theirs = attrText(nameAttr(s, oid));
        if (mine !== theirs) return `${label}=${mine ?? "(none)"} but the IACA has ${theirs ?? "(none)"}`;
      }
      return true;
    },
    { control: CONTROLS.nameForms },
  ),
  certRule("ee.bc.absent", "no basicConstraints CA=TRUE on a DS", EE, (t) => {
    const e = ext(t, OID.basicConstraints);
    return !e || !parseExt(e, BasicConstraints).cA || "cA=TRUE";
  }),
  certRule(
    "ds.eku.present",
    "EKU contains only 1.0.18013.5.1.2 (mdlDS)",
    ["ds"],
    (t) => {
      const e = ekuOf(t);
      if (!e) return "EKU missing";
      const ids = [...parseExt(e, ExtendedKeyUsage)];
      return (ids.length === 1 && ids[0] === OID.ekuMdlDs) || `EKU ${ids.join(", ")}`;
    },
    { control: CONTROLS.dsKeyUsage },
  ),
  certRule(
    "ds.eku.critical",
    "EKU is critical",
    ["ds", "tsl-signer"],
    (t) => {
      const e = ekuOf(t);
      return !e ? "EKU missing" : e.critical || "EKU not critical";
    },
    { control: CONTROLS.dsKeyUsage },
  ),
  certRule(
    "status.eku.absent",
    "no EKU (18013-5 Table B.9; id-kp-oauthStatusSigning has no number yet)",
    ["status-signer"],
    (t) => !ekuOf(t) || "EKU present",
  ),
  certRule("tsl.eku.present", "EKU contains only 1.0.18013.5.1.8 (trust-list signer)", ["tsl-signer"], (t) => {
    const e = ekuOf(t);
    if (!e) return "EKU missing";
    const ids = [...parseExt(e, ExtendedKeyUsage)];
    return (ids.length === 1 && ids[0] === OID.ekuTrustListSigner) || `EKU ${ids.join(", ")}`;
  }),
  certRule(
    "ds.validity.policy",
    "DS validity within policy.ds.validity and Annex B's 457 days",
    EE,
    (t, ctx) => {
      const nb = timeOf(t.validity.notBefore);
      const na = timeOf(t.validity.notAfter);
      if (na > addDuration(nb, ctx.policy.ds.validity)) return `longer than ${ctx.policy.ds.validity}`;
      return na.getTime() - nb.getTime() <= ANNEX_B_MAX_DS_DAYS * 86_400_000 || "longer than 457 days";
    },
    { clause: clause("6.3.2"), control: CONTROLS.validityPlan },
  ),
];

function crlRule(
  id: string,
  description: string,
  check: Check<TBSCertList>,
  opts: { clause?: Clause; control?: Control } = {},
): LintRule<TBSCertList> {
  const control = opts.control ?? P;
  return { id, description, clause: opts.clause ?? control.clause, control, profiles: LISTS, check };
}

function crlNumberOf(t: TBSCertList): bigint | undefined {
  const e = findExtension(t.crlExtensions, OID.crlNumber);
  return e ? parseInteger(toBytes(e.extnValue.buffer)) : undefined;
}

export const CRL_RULES: readonly LintRule<TBSCertList>[] = [
  crlRule("crl.version.v2", "CRL version is v2", (t) => t.version === Version.v2 || "not v2", {
    control: CONTROLS.crlVersion,
  }),
  crlRule(
    "crl.signature.ecdsa",
    "signature is ecdsa-with-SHA256/384/512 matching the IACA key",
    (t, ctx) => {
      const got = hashOfSignature(t.signature.algorithm);
      if (!got) return `signature algorithm ${t.signature.algorithm}`;
      if (!ctx.issuer) return true;
      return got === ALGORITHMS[ctx.issuer.key.curve].hash || `${ctx.issuer.key.curve} key with ${got}`;
    },
    { control: CONTROLS.algorithms },
  ),
  crlRule(
    "crl.issuer.name",
    "issuer is byte-identical to the IACA subject",
    (t, ctx) =>
      !ctx.issuer ? null : equalBytes(der(t.issuer), der(ctx.issuer.cert.tbsCertificate.subject)) || "issuer != IACA",
    { control: CONTROLS.nameForms },
  ),
  crlRule(
    "crl.next-update",
    "nextUpdate present, after thisUpdate, and no later than thisUpdate + policy revocation.nextUpdate",
    (t, ctx) => {
      if (!t.nextUpdate) return "nextUpdate missing";
      const thisUpdate = timeOf(t.thisUpdate).getTime();
      const nextUpdate = timeOf(t.nextUpdate).getTime();
      if (nextUpdate <= thisUpdate) return "nextUpdate <= thisUpdate";
      // CP/CPS 4.9.7: a list may promise freshness for at most the policy's interval (shorter is fine)
      const limit = addDuration(new Date(thisUpdate), ctx.policy.revocation.nextUpdate).getTime();
      return (
        nextUpdate <= limit ||
        `nextUpdate is later than thisUpdate + ${ctx.policy.revocation.nextUpdate} (policy revocation.nextUpdate)`
      );
    },
    { clause: C72 },
  ),
  crlRule(
    "crl.ext.exact",
    "extensions are exactly AKI and CRL number, non-critical",
    (t) => {
      const ids = (t.crlExtensions ?? []).map((e) => e.extnID).sort();
      const want = [OID.aki, OID.crlNumber].sort();
      if (ids.join() !== want.join()) return `extensions ${ids.join(", ") || "(none)"}`;
      return (t.crlExtensions ?? []).every((e) => !e.critical) || "critical extension";
    },
    { control: CONTROLS.crlExtensions },
  ),
  crlRule(
    "crl.ext.no-idp",
    "no IssuingDistributionPoint (Annex B Table B.10)",
    (t) => (findExtension(t.crlExtensions, OID.issuingDistributionPoint) ? "IssuingDistributionPoint present" : true),
    { control: CONTROLS.crlExtensions },
  ),
  crlRule(
    "crl.entry.no-extensions",
    "no CRL entry extensions (no reason codes)",
    (t) => {
      const bad = (t.revokedCertificates ?? []).filter((r) => r.crlEntryExtensions?.length);
      return bad.length === 0 || `${bad.length} entries with extensions`;
    },
    { control: CONTROLS.crlExtensions },
  ),
  crlRule(
    "crl.aki.issuer",
    "AKI equal to the IACA SKI",
    (t, ctx) => {
      const aki = akiOf(t.crlExtensions);
      if (!aki) return "AKI missing";
      return !ctx.issuer ? null : equalBytes(aki, ctx.issuer.key.ski) || "AKI != IACA SKI";
    },
    { control: CONTROLS.crlExtensions },
  ),
  crlRule(
    "crl.number.present",
    "CRL number present, non-negative, at most 20 octets",
    (t) => {
      const e = findExtension(t.crlExtensions, OID.crlNumber);
      if (!e) return "missing";
      const n = crlNumberOf(t)!;
      return (n >= 0n && e.extnValue.byteLength <= 22) || `CRL number ${n}`;
    },
    { control: CONTROLS.crlNumberIncreasing },
  ),
  crlRule(
    "crl.number.increasing",
    "CRL number strictly greater than the previous CRL or ARL of this issuer",
    (t, ctx) => {
      if (ctx.previousCrlNumber === undefined) return null;
      const n = crlNumberOf(t);
      return (n !== undefined && n > ctx.previousCrlNumber) || `${n} <= previous ${ctx.previousCrlNumber}`;
    },
    { control: CONTROLS.crlNumberIncreasing },
  ),
  crlRule(
    "crl.entry.serial",
    "revoked serials are positive and at most 20 octets",
    (t) => {
      for (const r of t.revokedCertificates ?? []) {
        const s = toBytes(r.userCertificate);
        if (s.length > 20 || (s[0] ?? 0) & 0x80) return "bad serial";
      }
      return true;
    },
    { clause: C72, control: CONTROLS.serialRandom },
  ),
];

export const ALL_RULES: readonly LintRule<never>[] = [...CERT_RULES, ...CRL_RULES] as LintRule<never>[];

function run<T>(rules: readonly LintRule<T>[], subject: T, ctx: LintContext): LintResult[] {
  return rules
    .filter((r) => r.profiles.includes(ctx.profile))
    .map((r) => {
      let out: true | string | null;
      try {
        out = r.check(subject, ctx);
      } catch (e) {
        out = `unreadable: ${(e as Error).message}`;
      }
      return {
        rule: r.id,
        description: r.description,
        clause: r.clause.id,
        status: out === true ? "PASS" : out === null ? "SKIP" : "FAIL",
        ...(typeof out === "string" ? { detail: out } : {}),
      };
    });
}

export const lintTbsCertificate = (t: TBSCertificate, ctx: LintContext) => run(CERT_RULES, t, ctx);
export const lintTbsCertList = (t: TBSCertList, ctx: LintContext) => run(CRL_RULES, t, ctx);
export const failures = (r: LintResult[]) => r.filter((x) => x.status === "FAIL");

export class LintError extends IacaError {
  readonly results: LintResult[];
  constructor(results: LintResult[]) {
    const f = failures(results);
    super("LINT_FAILED", `refusing to sign: ${f.map((x) => `${x.rule} (${x.detail})`).join("; ")}`, {
      rules: f.map((x) => x.rule),
    });
    this.results = results;
  }
}

/**
 * Guesses the profile of a certificate from its content (EKU, basicConstraints, AKI/SKI). An
 * extension too malformed to read guesses nothing: the rules then report it as unreadable.
 */
export function detectCertProfile(t: TBSCertificate): CertProfile {
  try {
    return guessCertProfile(t);
  } catch {
    return "ds";
  }
}

function guessCertProfile(t: TBSCertificate): CertProfile {
  const e = ekuOf(t);
  if (e) {
    const ids = [...parseExt(e, ExtendedKeyUsage)];
    if (ids.includes(OID.ekuTrustListSigner)) return "tsl-signer";
    return "ds";
  }
  const bc = ext(t, OID.basicConstraints);
  if (bc && parseExt(bc, BasicConstraints).cA) {
    const aki = akiOf(t.extensions);
    return aki && !equalBytes(aki, skiOf(t)) ? "link" : "iaca";
  }
  return "ds";
}

export type Parsed =
  | { kind: "certificate"; cert: Certificate; der: Uint8Array }
  | { kind: "crl"; crl: CertificateList; der: Uint8Array };

/** PEM or DER, certificate or CRL. */
export function parseArtifact(data: Uint8Array): Parsed {
  const text = Buffer.from(data).toString("latin1");
  const m = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/.exec(text);
  const bytes = m ? Uint8Array.from(Buffer.from(m[2]!.replace(/\s+/g, ""), "base64")) : data;
  try {
    const cert = AsnConvert.parse(bytes, Certificate);
    if (cert.tbsCertificate.subjectPublicKeyInfo) return { kind: "certificate", cert, der: bytes };
  } catch {
    // not a certificate: try a CRL
  }
  try {
    return { kind: "crl", crl: AsnConvert.parse(bytes, CertificateList), der: bytes };
  } catch {
    throw new IacaError("ARTIFACT_UNREADABLE", "neither an X.509 certificate nor a CRL (PEM or DER)");
  }
}

/** Lints a whole file (ours or anyone's). */
export function lintArtifact(
  data: Uint8Array,
  opts: { policy: Policy; issuer?: Certificate; profile?: Profile; previousCrlNumber?: bigint },
): { profile: Profile; results: LintResult[] } {
  const a = parseArtifact(data);
  const issuer = opts.issuer ? issuerInfo(opts.issuer) : undefined;
  if (a.kind === "certificate") {
    const profile = opts.profile ?? detectCertProfile(a.cert.tbsCertificate);
    const ctx: LintContext = { profile, policy: opts.policy, issuer };
    return { profile, results: lintTbsCertificate(a.cert.tbsCertificate, ctx) };
  }
  const profile = opts.profile ?? "crl";
  const ctx = { profile, policy: opts.policy, issuer, previousCrlNumber: opts.previousCrlNumber };
  return { profile, results: lintTbsCertList(a.crl.tbsCertList, ctx) };
}

export { crlNumberOf };

/** The hash of an ecdsa-with-SHA* signature algorithm OID; undefined for any other algorithm. */
export function hashOfSignature(oid: string) {
  return algorithmBy("signatureOid", oid)?.hash;
}
