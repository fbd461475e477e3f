import "reflect-metadata";
import { createHash } from "node:crypto";
import { AsnConvert } from "@peculiar/asn1-schema";
import { IssuingDistributionPoint, id_ce_cRLNumber, id_ce_issuingDistributionPoint } from "@peculiar/asn1-x509";
import {
  AuthorityKeyIdentifierExtension,
  BasicConstraintsExtension,
  CRLDistributionPointsExtension,
  ExtendedKeyUsageExtension,
  SubjectKeyIdentifierExtension,
  X509Certificate,
  X509Crl,
} from "@peculiar/x509";

/** What the DTS needs to know about a certificate; everything derived from its DER bytes. */
export interface CertInfo {
  der: Uint8Array;
  /** Lower-case hex SHA-256 over the DER encoding. */
  sha256: string;
  /** Lower-case hex serial number without leading zero bytes (as in the URL). */
  serial: string;
  /** Lower-case hex subjectKeyIdentifier ("" when absent). */
  ski: string;
  /** Lower-case hex authorityKeyIdentifier keyIdentifier ("" when absent). */
  aki: string;
  subject: string;
  issuer: string;
  /** DER of the subject and issuer Names (for the VICAL). */
  subjectDer: Uint8Array;
  issuerDer: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  isCa: boolean;
  selfIssued: boolean;
  ekus: string[];
  crlDistributionPoints: string[];
  /** Country (C) of the subject, "" when absent. */
  country: string;
  /** stateOrProvinceName (ST) of the subject, if any. */
  state: string | undefined;
  cert: X509Certificate;
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
  crl: X509Crl;
}

export const sha256Hex = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

/** Hex without leading zero octets, lower case ("00a1" -> "a1"; "00" stays "00"). */
export function normaliseHex(hex: string): string {
  const h = hex.toLowerCase().replace(/[^0-9a-f]/g, "");
  const t = h.replace(/^(00)+(?=..)/, "");
  return t.length % 2 ? `0${t}` : t;
}

const u8 = (b: ArrayBuffer | Uint8Array): Uint8Array => (b instanceof Uint8Array ? b : new Uint8Array(b));
const hex = (b: ArrayBuffer | Uint8Array): string => Buffer.from(u8(b)).toString("hex");

export function parseCertificate(der: Uint8Array): CertInfo {
  const cert = new X509Certificate(Buffer.from(der));
  const skiExt = cert.getExtension(SubjectKeyIdentifierExtension);
  const akiExt = cert.getExtension(AuthorityKeyIdentifierExtension);
  const bc = cert.getExtension(BasicConstraintsExtension);
  const eku = cert.getExtension(ExtendedKeyUsageExtension);
  const cdp = cert.getExtension(CRLDistributionPointsExtension);
  const cdpUris: string[] = [];
  for (const dp of cdp?.distributionPoints ?? []) {
    for (const gn of dp.distributionPoint?.fullName ?? [])
      if (gn.uniformResourceIdentifier) cdpUris.push(gn.uniformResourceIdentifier);
  }
  const subjectName = cert.subjectName;
  const c = subjectName.getField("C")[0] ?? "";
  const st = subjectName.getField("ST")[0];
  return {
    der: u8(der),
    sha256: sha256Hex(der),
    serial: normaliseHex(cert.serialNumber),
    ski: skiExt ? skiExt.keyId.toLowerCase() : "",
    aki: akiExt?.keyId ? akiExt.keyId.toLowerCase() : "",
    subject: cert.subject,
    issuer: cert.issuer,
    subjectDer: u8(subjectName.toArrayBuffer()),
    issuerDer: u8(cert.issuerName.toArrayBuffer()),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    isCa: bc?.ca ?? false,
    selfIssued: cert.subject === cert.issuer,
    ekus: (eku?.usages ?? []).map(String),
    crlDistributionPoints: cdpUris,
    country: c,
    state: st,
    cert,
  };
}

export function parseCrl(der: Uint8Array): CrlInfo {
  const crl = new X509Crl(Buffer.from(der));
  const numberExt = crl.extensions.find((e) => e.type === id_ce_cRLNumber);
  const akiExt = crl.getExtension(AuthorityKeyIdentifierExtension);
  const idpExt = crl.extensions.find((e) => e.type === id_ce_issuingDistributionPoint);
  let number: bigint | undefined;
  if (numberExt) {
    number = derIntegerToBigInt(u8(numberExt.value));
  }
  const idpUris: string[] = [];
  let onlyCaCerts = false;
  let onlyUserCerts = false;
  if (idpExt) {
    const idp = AsnConvert.parse(idpExt.value, IssuingDistributionPoint);
    for (const gn of idp.distributionPoint?.fullName ?? [])
      if (gn.uniformResourceIdentifier) idpUris.push(gn.uniformResourceIdentifier);
    onlyCaCerts = idp.onlyContainsCACerts;
    onlyUserCerts = idp.onlyContainsUserCerts;
  }
  return {
    der: u8(der),
    sha256: sha256Hex(der),
    issuer: crl.issuer,
    aki: akiExt?.keyId ? akiExt.keyId.toLowerCase() : "",
    number,
    thisUpdate: crl.thisUpdate,
    nextUpdate: crl.nextUpdate,
    revokedSerials: crl.entries.map((e) => normaliseHex(e.serialNumber)),
    revoked: crl.entries.map((e) => ({ serial: normaliseHex(e.serialNumber), at: e.revocationDate })),
    idpUris,
    onlyCaCerts,
    onlyUserCerts,
    crl,
  };
}

/** PEM text for DER bytes ("CERTIFICATE" or "X509 CRL"), 64-column base64 with a final newline. */
export function toPem(der: Uint8Array, label: "CERTIFICATE" | "X509 CRL"): string {
  const b64 = Buffer.from(der).toString("base64");
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/** DER bytes from PEM text or raw DER. */
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
  return BigInt(`0x${hex(b.subarray(off, off + len)) || "0"}`);
}
