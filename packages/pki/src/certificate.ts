// The one certificate and CRL model: every workspace reads a certificate or CRL through
// parseCertificate / parseCrl, parsed by @peculiar/x509 and @peculiar/asn1-x509.
import "reflect-metadata";
import { algorithmBy, type Curve } from "@iaca/policy";
import { AsnConvert } from "@peculiar/asn1-schema";
import {
  Certificate,
  CertificateList,
  IssuingDistributionPoint,
  id_ce_cRLNumber,
  id_ce_issuingDistributionPoint,
} from "@peculiar/asn1-x509";
import {
  AuthorityKeyIdentifierExtension,
  BasicConstraintsExtension,
  CRLDistributionPointsExtension,
  ExtendedKeyUsageExtension,
  SubjectKeyIdentifierExtension,
  X509Certificate,
  X509Crl,
} from "@peculiar/x509";
import { toBytes } from "./der.ts";
import { detectCertProfile } from "./lint.ts";
import type { CertProfile } from "./profiles.ts";
import { sha256 } from "./profiles.ts";

/** What any component needs to know about a certificate; everything derived from its DER bytes. */
export interface CertificateInfo {
  der: Uint8Array;
  /** Lower-case hex SHA-256 over the DER encoding. */
  sha256: string;
  /** Lower-case hex serial number without leading zero bytes (as in the URL). */
  serial: string;
  /** Lower-case hex subjectKeyIdentifier ("" when absent). */
  ski: string;
  /** Lower-case hex authorityKeyIdentifier keyIdentifier ("" when absent). */
  aki: string;
  /** Subject and issuer as @peculiar/x509 prints them ("C=JP, O=..., CN=..."). */
  subject: string;
  issuer: string;
  /** DER of the subject and issuer Names. */
  subjectDer: Uint8Array;
  issuerDer: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  /** SubjectPublicKeyInfo DER. */
  spki: Uint8Array;
  /** Curve of an EC key in the algorithm registry; undefined for any other key. */
  curve: Curve | undefined;
  isCa: boolean;
  /** basicConstraints pathLenConstraint, when present. */
  pathLen: number | undefined;
  selfIssued: boolean;
  ekus: string[];
  crlDistributionPoints: string[];
  /** Country (C) of the subject, "" when absent. */
  country: string;
  /** stateOrProvinceName (ST) of the subject, if any. */
  state: string | undefined;
  /** Annex B profile the certificate matches by its extensions (iaca, link, ds, tsl-signer). */
  kind: CertProfile;
  /** The parsed forms, for signature checks and extensions not listed above. */
  x509: X509Certificate;
  asn1: Certificate;
}

export interface CrlInfo {
  der: Uint8Array;
  sha256: string;
  issuer: string;
  aki: string;
  number: bigint | undefined;
  thisUpdate: Date;
  nextUpdate: Date | undefined;
  /** Lower-case hex serials (no leading zeros) of the revoked certificates. */
  revokedSerials: string[];
  /** Each entry's serial (lower-case hex) and revocation date. */
  revoked: { serial: string; at: Date }[];
  /** Distribution point URIs from the IssuingDistributionPoint extension, if present. */
  idpUris: string[];
  onlyCaCerts: boolean;
  onlyUserCerts: boolean;
  x509: X509Crl;
  asn1: CertificateList;
}

/** Hex without leading zero octets, lower case ("00a1" -> "a1"; "00" stays "00"). */
export function normaliseHex(hex: string): string {
  const h = hex.toLowerCase().replace(/[^0-9a-f]/g, "");
  const t = h.replace(/^(00)+(?=..)/, "");
  return t.length % 2 ? `0${t}` : t;
}

const u8 = (b: ArrayBuffer | Uint8Array): Uint8Array => (b instanceof Uint8Array ? b : new Uint8Array(b));

export function parseCertificate(der: Uint8Array | ArrayBuffer): CertificateInfo {
  const bytes = toBytes(der);
  const cert = new X509Certificate(Buffer.from(bytes));
  const asn1 = AsnConvert.parse(bytes, Certificate);
  const skiExt = cert.getExtension(SubjectKeyIdentifierExtension);
  const akiExt = cert.getExtension(AuthorityKeyIdentifierExtension);
  const bc = cert.getExtension(BasicConstraintsExtension);
  const eku = cert.getExtension(ExtendedKeyUsageExtension);
  const subjectName = cert.subjectName;
  const spki = u8(cert.publicKey.rawData);
  const namedCurve = (cert.publicKey.algorithm as { namedCurve?: string }).namedCurve;
  return {
    der: bytes,
    sha256: sha256(bytes),
    serial: normaliseHex(cert.serialNumber),
    ski: skiExt ? skiExt.keyId.toLowerCase() : "",
    aki: akiExt?.keyId ? akiExt.keyId.toLowerCase() : "",
    subject: cert.subject,
    issuer: cert.issuer,
    subjectDer: u8(subjectName.toArrayBuffer()),
    issuerDer: u8(cert.issuerName.toArrayBuffer()),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    spki,
    curve: algorithmBy("curve", namedCurve)?.curve,
    isCa: bc?.ca ?? false,
    pathLen: bc?.pathLength,
    selfIssued: cert.subject === cert.issuer,
    ekus: (eku?.usages ?? []).map(String),
    crlDistributionPoints: distributionPoints(cert),
    country: subjectName.getField("C")[0] ?? "",
    state: subjectName.getField("ST")[0],
    kind: detectCertProfile(asn1.tbsCertificate),
    x509: cert,
    asn1,
  };
}

function distributionPoints(cert: X509Certificate): string[] {
  const uris: string[] = [];
  for (const dp of cert.getExtension(CRLDistributionPointsExtension)?.distributionPoints ?? [])
    for (const gn of dp.distributionPoint?.fullName ?? [])
      if (gn.uniformResourceIdentifier) uris.push(gn.uniformResourceIdentifier);
  return uris;
}

export function parseCrl(der: Uint8Array | ArrayBuffer): CrlInfo {
  const bytes = toBytes(der);
  const crl = new X509Crl(Buffer.from(bytes));
  const numberExt = crl.extensions.find((e) => e.type === id_ce_cRLNumber);
  const akiExt = crl.getExtension(AuthorityKeyIdentifierExtension);
  const idpExt = crl.extensions.find((e) => e.type === id_ce_issuingDistributionPoint);
  const idp = idpExt ? AsnConvert.parse(idpExt.value, IssuingDistributionPoint) : undefined;
  const idpUris: string[] = [];
  for (const gn of idp?.distributionPoint?.fullName ?? [])
    if (gn.uniformResourceIdentifier) idpUris.push(gn.uniformResourceIdentifier);
  return {
    der: bytes,
    sha256: sha256(bytes),
    issuer: crl.issuer,
    aki: akiExt?.keyId ? akiExt.keyId.toLowerCase() : "",
    number: numberExt ? derIntegerToBigInt(u8(numberExt.value)) : undefined,
    thisUpdate: crl.thisUpdate,
    nextUpdate: crl.nextUpdate,
    revokedSerials: crl.entries.map((e) => normaliseHex(e.serialNumber)),
    revoked: crl.entries.map((e) => ({ serial: normaliseHex(e.serialNumber), at: e.revocationDate })),
    idpUris,
    onlyCaCerts: idp?.onlyContainsCACerts ?? false,
    onlyUserCerts: idp?.onlyContainsUserCerts ?? false,
    x509: crl,
    asn1: AsnConvert.parse(bytes, CertificateList),
  };
}

/** DER bytes from PEM text (every block) or raw DER. */
export function fromPemOrDer(bytes: Uint8Array): Uint8Array[] {
  const text = Buffer.from(bytes).toString("latin1");
  if (!text.includes("-----BEGIN")) return [u8(bytes)];
  const out: Uint8Array[] = [];
  for (const m of text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g))
    out.push(new Uint8Array(Buffer.from((m[2] ?? "").replace(/\s+/g, ""), "base64")));
  return out;
}

/** A DER INTEGER (tag 2, short or long length form) as an unsigned bigint. */
function derIntegerToBigInt(b: Uint8Array): bigint {
  if (b[0] !== 0x02) throw new Error("CRL number is not an INTEGER");
  let len = b[1] ?? 0;
  let off = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = (len << 8) | (b[2 + i] ?? 0);
    off = 2 + n;
  }
  return BigInt(`0x${Buffer.from(b.subarray(off, off + len)).toString("hex") || "0"}`);
}
