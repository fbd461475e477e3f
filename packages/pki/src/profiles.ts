// ISO/IEC 18013-5:2021 Annex B profiles as TBS structures (built, not signed: sign.ts lints then signs).
import { createHash, randomBytes, type webcrypto } from "node:crypto";
import { ALGORITHMS, algorithmBy, type Curve, EC_PUBLIC_KEY_OID, type Policy, revocationUrl } from "@iaca/policy";
import { ECParameters } from "@peculiar/asn1-ecc";
import { AsnConvert, OctetString } from "@peculiar/asn1-schema";
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  AuthorityKeyIdentifier,
  BasicConstraints,
  type Certificate,
  CRLDistributionPoints,
  DistributionPoint,
  DistributionPointName,
  ExtendedKeyUsage,
  Extension,
  Extensions,
  GeneralName,
  IssueAlternativeName,
  KeyIdentifier,
  KeyUsage,
  KeyUsageFlags,
  Name,
  RelativeDistinguishedName,
  RevokedCertificate,
  SubjectKeyIdentifier,
  SubjectPublicKeyInfo,
  TBSCertificate,
  TBSCertList,
  Time,
  Validity,
  Version,
} from "@peculiar/asn1-x509";
import { CONTROLS } from "./controls.ts";
import { integer, toArrayBuffer, toBytes } from "./der.ts";
import { OID } from "./oids.ts";

export type CertProfile = "iaca" | "link" | "ds" | "tsl-signer" | "status-signer";
export type CrlProfile = "crl" | "arl";
export type Profile = CertProfile | CrlProfile;

export interface DnInput {
  C: string;
  ST?: string | undefined;
  O?: string | undefined;
  CN: string;
}

/** C as PrintableString (Annex B), the other attributes as UTF8String, in the order C, ST, O, CN. */
export function buildName(dn: DnInput): Name {
  const rdn = (type: string, value: AttributeValue) =>
    new RelativeDistinguishedName([new AttributeTypeAndValue({ type, value })]);
  const rdns = [rdn(OID.C, new AttributeValue({ printableString: dn.C }))];
  if (dn.ST) rdns.push(rdn(OID.ST, new AttributeValue({ utf8String: dn.ST })));
  if (dn.O) rdns.push(rdn(OID.O, new AttributeValue({ utf8String: dn.O })));
  rdns.push(rdn(OID.CN, new AttributeValue({ utf8String: dn.CN })));
  return new Name(rdns);
}

/** The value of the first attribute of this type in a Name (undefined when absent). */
export function nameAttr(name: Name, type: string): AttributeValue | undefined {
  for (const rdn of name) for (const atv of rdn) if (atv.type === type) return atv.value;
  return undefined;
}

export function attrText(v: AttributeValue | undefined): string | undefined {
  if (!v) return undefined;
  return v.printableString ?? v.utf8String ?? v.teletexString ?? v.bmpString ?? v.universalString ?? v.ia5String;
}

/** One-line RFC 4514-ish rendering for people and logs. */
export function nameText(name: Name): string {
  const label: Record<string, string> = { [OID.C]: "C", [OID.ST]: "ST", [OID.O]: "O", [OID.CN]: "CN" };
  return [...name].flatMap((rdn) => [...rdn].map((a) => `${label[a.type] ?? a.type}=${attrText(a.value)}`)).join(", ");
}

/**
 * A positive serial of 16 octets: 126 bits from the CSPRNG (>= 63 required), top bit clear so the
 * DER INTEGER needs no leading zero, second bit set so it never shrinks below 16 octets.
 */
export function randomSerial(): Uint8Array {
  void CONTROLS.serialRandom;
  const b = randomBytes(16);
  b[0] = ((b[0] ?? 0) & 0x3f) | 0x40;
  return Uint8Array.from(b);
}

export interface PublicKeyInfo {
  spki: SubjectPublicKeyInfo;
  spkiDer: Uint8Array;
  curve: Curve;
  /** RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING value. */
  ski: Uint8Array;
  /** SHA-256 of the DER SubjectPublicKeyInfo: the fingerprint compared out of band. */
  fingerprint: string;
}

export function publicKeyInfo(spkiDer: ArrayBuffer | Uint8Array): PublicKeyInfo {
  const der = toBytes(spkiDer);
  const spki = AsnConvert.parse(der, SubjectPublicKeyInfo);
  if (spki.algorithm.algorithm !== EC_PUBLIC_KEY_OID || !spki.algorithm.parameters)
    throw new Error("not an EC public key");
  const curveOid = AsnConvert.parse(spki.algorithm.parameters, ECParameters).namedCurve ?? "";
  const curve = algorithmBy("curveOid", curveOid)?.curve;
  if (!curve) throw new Error(`unsupported curve ${curveOid}`);
  return {
    spki,
    spkiDer: der,
    curve,
    ski: Uint8Array.from(createHash("sha1").update(toBytes(spki.subjectPublicKey)).digest()),
    fingerprint: createHash("sha256").update(der).digest("hex"),
  };
}

export async function exportPublicKey(
  key: webcrypto.CryptoKey,
  crypto: { subtle: webcrypto.SubtleCrypto },
): Promise<PublicKeyInfo> {
  return publicKeyInfo(new Uint8Array(await crypto.subtle.exportKey("spki", key)));
}

export function signatureAlgorithm(signerCurve: Curve): AlgorithmIdentifier {
  // RFC 5758: ecdsa-with-SHA* has absent parameters.
  return new AlgorithmIdentifier({ algorithm: ALGORITHMS[signerCurve].signatureOid });
}

const ext = (extnID: string, value: unknown, critical = false) =>
  new Extension({ extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });

export const extensions = {
  ski: (ski: Uint8Array) => ext(OID.ski, new SubjectKeyIdentifier(toArrayBuffer(ski))),
  aki: (keyId: Uint8Array) =>
    ext(OID.aki, new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(toArrayBuffer(keyId)) })),
  keyUsage: (flags: number) => ext(OID.keyUsage, new KeyUsage(flags), true),
  basicConstraintsCa: (pathLen = 0) =>
    ext(OID.basicConstraints, new BasicConstraints({ cA: true, pathLenConstraint: pathLen }), true),
  eku: (oid: string, critical = true) => ext(OID.extKeyUsage, new ExtendedKeyUsage([oid]), critical),
  issuerAltName: (ian: Policy["iaca"]["issuerAltName"]) =>
    ext(
      OID.issuerAltName,
      new IssueAlternativeName([
        "uri" in ian
          ? new GeneralName({ uniformResourceIdentifier: ian.uri })
          : new GeneralName({ rfc822Name: ian.email }),
      ]),
    ),
  /** CRL distribution point with a URI only: no reasons, no cRLIssuer (Annex B). */
  cdp: (url: string) =>
    ext(
      OID.crlDistributionPoints,
      new CRLDistributionPoints([
        new DistributionPoint({
          distributionPoint: new DistributionPointName({
            fullName: [new GeneralName({ uniformResourceIdentifier: url })],
          }),
        }),
      ]),
    ),
  crlNumber: (n: bigint) =>
    new Extension({ extnID: OID.crlNumber, critical: false, extnValue: new OctetString(toArrayBuffer(integer(n))) }),
};

export interface Period {
  notBefore: Date;
  notAfter: Date;
}

const validity = (p: Period) => new Validity({ notBefore: p.notBefore, notAfter: p.notAfter });
const trimMs = (d: Date) => new Date(Math.floor(d.getTime() / 1000) * 1000);
export const period = (notBefore: Date, notAfter: Date): Period => ({
  notBefore: trimMs(notBefore),
  notAfter: trimMs(notAfter),
});

function tbs(p: {
  serial?: Uint8Array | undefined;
  signerCurve: Curve;
  issuer: Name;
  subject: Name;
  period: Period;
  spki: SubjectPublicKeyInfo;
  exts: Extension[];
}): TBSCertificate {
  return new TBSCertificate({
    version: Version.v3,
    serialNumber: toArrayBuffer(p.serial ?? randomSerial()),
    signature: signatureAlgorithm(p.signerCurve),
    issuer: p.issuer,
    validity: validity(p.period),
    subject: p.subject,
    subjectPublicKeyInfo: p.spki,
    extensions: new Extensions(p.exts),
  });
}

/** Deep copy through DER, so names reused across certificates stay byte-identical. */
export const cloneName = (n: Name): Name => AsnConvert.parse(AsnConvert.serialize(n), Name);

/** Self-signed IACA root (Annex B Table B.1). `name` defaults to policy.iaca.name; a re-key passes the old root's. */
export function iacaTbs(p: {
  policy: Policy;
  key: PublicKeyInfo;
  period: Period;
  name?: Name;
  serial?: Uint8Array;
  /** Root key generation (default 1): the root names its own key's ARL. */
  gen?: number;
}) {
  void CONTROLS.profile;
  const name = p.name ? cloneName(p.name) : buildName(p.policy.iaca.name);
  return tbs({
    serial: p.serial,
    signerCurve: p.key.curve,
    issuer: cloneName(name),
    subject: name,
    period: p.period,
    spki: p.key.spki,
    exts: [
      extensions.ski(p.key.ski),
      extensions.keyUsage(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign),
      extensions.basicConstraintsCa(0),
      extensions.issuerAltName(p.policy.iaca.issuerAltName),
      extensions.cdp(revocationUrl(p.policy, "arl", p.gen ?? 1)),
    ],
  });
}

/**
 * Link certificate across a root re-key: subject and issuer are the (identical) root name, so the
 * certificate is self-issued and pathLen=0 stays satisfiable (RFC 5280 6.1.4(l)). `subjectKey` is
 * certified by the key whose SKI is `issuerSki`.
 */
export function linkTbs(p: {
  policy: Policy;
  rootName: Name;
  subjectKey: PublicKeyInfo;
  issuerSki: Uint8Array;
  issuerCurve: Curve;
  /** Generation of the signing root key: the link names that key's ARL. */
  issuerGen: number;
  period: Period;
}) {
  void CONTROLS.linkOnRekey;
  return tbs({
    signerCurve: p.issuerCurve,
    issuer: cloneName(p.rootName),
    subject: cloneName(p.rootName),
    period: p.period,
    spki: p.subjectKey.spki,
    exts: [
      extensions.aki(p.issuerSki),
      extensions.ski(p.subjectKey.ski),
      extensions.keyUsage(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign),
      extensions.basicConstraintsCa(0),
      extensions.issuerAltName(p.policy.iaca.issuerAltName),
      extensions.cdp(revocationUrl(p.policy, "arl", p.issuerGen)),
    ],
  });
}

export interface IssuerInfo {
  cert: Certificate;
  key: PublicKeyInfo;
}

export function issuerInfo(cert: Certificate): IssuerInfo {
  return { cert, key: publicKeyInfo(AsnConvert.serialize(cert.tbsCertificate.subjectPublicKeyInfo) as ArrayBuffer) };
}

/** Extension value parsed from a certificate, or undefined. */
export function findExtension(exts: Iterable<Extension> | undefined, oid: string): Extension | undefined {
  for (const e of exts ?? []) if (e.extnID === oid) return e;
  return undefined;
}

/** The end-entity subject: C (and ST) copied from the IACA, then O, CN. */
export function eeName(issuer: Certificate, cn: string, o?: string): Name {
  const s = issuer.tbsCertificate.subject;
  return buildName({ C: attrText(nameAttr(s, OID.C)) ?? "", ST: attrText(nameAttr(s, OID.ST)), O: o, CN: cn });
}

function eeTbs(p: {
  policy: Policy;
  issuer: IssuerInfo;
  key: PublicKeyInfo;
  period: Period;
  subject: Name;
  /** undefined: no EKU extension (the status-list signer, 18013-5 second edition Table B.9). */
  eku: string | undefined;
  cdpUrl: string;
  serial?: Uint8Array | undefined;
}) {
  const ian = findExtension(p.issuer.cert.tbsCertificate.extensions, OID.issuerAltName);
  const exts = [
    extensions.aki(p.issuer.key.ski),
    extensions.ski(p.key.ski),
    extensions.keyUsage(KeyUsageFlags.digitalSignature),
    ...(p.eku ? [extensions.eku(p.eku)] : []),
    // Copied byte for byte from the IACA certificate (Annex B: same as the IACA's).
    ian
      ? new Extension({ extnID: OID.issuerAltName, critical: false, extnValue: ian.extnValue })
      : extensions.issuerAltName(p.policy.iaca.issuerAltName),
    extensions.cdp(p.cdpUrl),
  ];
  return tbs({
    serial: p.serial,
    signerCurve: p.issuer.key.curve,
    issuer: cloneName(p.issuer.cert.tbsCertificate.subject),
    subject: p.subject,
    period: p.period,
    spki: p.key.spki,
    exts,
  });
}

/** Document Signer (Annex B Table B.3). `seq` fills "{seq}" in policy.ds.commonName. */
export function dsTbs(p: {
  policy: Policy;
  issuer: IssuerInfo;
  key: PublicKeyInfo;
  period: Period;
  seq: number;
  serial?: Uint8Array;
  /** Generation of the signing root key (default 1): the certificate names that key's CRL. */
  gen?: number;
}) {
  return eeTbs({
    ...p,
    subject: eeName(p.issuer.cert, p.policy.ds.commonName.replace("{seq}", String(p.seq)), p.policy.ds.organization),
    eku: OID.ekuMdlDs,
    cdpUrl: revocationUrl(p.policy, "crl", p.gen ?? 1),
  });
}

/** A DTS-side signer: the DS shape with another EKU (or none), CN given; certified by root key `gen`. */
interface SignerTbsInput {
  policy: Policy;
  issuer: IssuerInfo;
  key: PublicKeyInfo;
  period: Period;
  commonName: string;
  /** Generation of the signing root key (default 1). */
  gen?: number;
}

function signerTbs(p: SignerTbsInput, eku: string | undefined) {
  return eeTbs({
    ...p,
    subject: eeName(p.issuer.cert, p.commonName, p.policy.ds.organization),
    eku,
    cdpUrl: revocationUrl(p.policy, "crl", p.gen ?? 1),
  });
}

/** Trust-list signer (EKU 1.0.18013.5.1.8), same shape as a DS certificate; used by the DTS. */
export function tslSignerTbs(p: SignerTbsInput) {
  return signerTbs(p, OID.ekuTrustListSigner);
}

/**
 * Status-list signer (ISO/IEC 18013-5 second edition Table B.9, "MSO revocation list signer"): a
 * DS-shaped certificate without EKU. Table B.9 makes the EKU optional, and the draft's
 * id-kp-oauthStatusSigning has no number yet (IANA: TBD); no private OID stands in for it.
 */
export function statusSignerTbs(p: SignerTbsInput) {
  return signerTbs(p, undefined);
}

export interface RevokedEntry {
  serial: Uint8Array;
  revokedAt: Date;
}

/** CRL or ARL v2 (Annex B Table B.10): extensions exactly AKI and CRL number, no entry extensions. */
export function crlTbs(p: {
  issuer: IssuerInfo;
  number: bigint;
  thisUpdate: Date;
  nextUpdate: Date;
  revoked: RevokedEntry[];
}) {
  return new TBSCertList({
    version: Version.v2,
    signature: signatureAlgorithm(p.issuer.key.curve),
    issuer: cloneName(p.issuer.cert.tbsCertificate.subject),
    thisUpdate: new Time(trimMs(p.thisUpdate)),
    nextUpdate: new Time(trimMs(p.nextUpdate)),
    revokedCertificates: p.revoked.length
      ? p.revoked.map(
          (r) =>
            new RevokedCertificate({
              userCertificate: toArrayBuffer(r.serial),
              revocationDate: new Time(trimMs(r.revokedAt)),
            }),
        )
      : undefined,
    crlExtensions: [extensions.aki(p.issuer.key.ski), extensions.crlNumber(p.number)],
  });
}

export const sha256 = (b: Uint8Array | ArrayBuffer) => createHash("sha256").update(toBytes(b)).digest("hex");
