// Lint before sign: serialize the TBS, lint exactly those bytes (parsed back), sign them with a
// WebCrypto key (software or the PKCS#11 bridge), and assemble the signed object byte for byte.
import type { webcrypto } from "node:crypto";
import { AsnConvert } from "@peculiar/asn1-schema";
import { Certificate, CertificateList, TBSCertificate, TBSCertList } from "@peculiar/asn1-x509";
import { CONTROLS } from "./controls.ts";
import { bitString, ecdsaRawToDer, sequence, toBytes } from "./der.ts";
import { failures, type LintContext, LintError, type LintResult, lintTbsCertificate, lintTbsCertList } from "./lint.ts";
import { HASH_BY_SIG_OID } from "./oids.ts";
import { sha256 } from "./profiles.ts";

/** What the HSM bridge (or node:crypto) provides: a private key handle and its SubtleCrypto. */
export interface SigningKey {
  privateKey: webcrypto.CryptoKey;
  crypto: { subtle: webcrypto.SubtleCrypto };
}

export interface Signed {
  der: Uint8Array;
  pem: string;
  sha256: string;
  lint: LintResult[];
}

export function toPem(der: Uint8Array, label: "CERTIFICATE" | "X509 CRL" | "CERTIFICATE REQUEST"): string {
  const b64 = Buffer.from(der)
    .toString("base64")
    .replace(/.{1,64}/g, "$&\n");
  return `-----BEGIN ${label}-----\n${b64}-----END ${label}-----\n`;
}

async function signBytes(tbsDer: Uint8Array, algorithm: string, key: SigningKey): Promise<Uint8Array> {
  const hash = HASH_BY_SIG_OID[algorithm];
  if (!hash) throw new Error(`unsupported signature algorithm ${algorithm}`);
  const raw = await key.crypto.subtle.sign({ name: "ECDSA", hash }, key.privateKey, tbsDer);
  return ecdsaRawToDer(toBytes(raw));
}

/** Lints `tbs` as it will be encoded; refuses (LintError naming the rules) on any FAIL; then signs. */
export async function signCertificate(tbs: TBSCertificate, key: SigningKey, ctx: LintContext): Promise<Signed> {
  void CONTROLS.lintBeforeSign;
  const tbsDer = new Uint8Array(AsnConvert.serialize(tbs));
  const lint = lintTbsCertificate(AsnConvert.parse(tbsDer, TBSCertificate), ctx);
  if (failures(lint).length) throw new LintError(lint);
  const algDer = new Uint8Array(AsnConvert.serialize(tbs.signature));
  const sig = await signBytes(tbsDer, tbs.signature.algorithm, key);
  const der = sequence(tbsDer, algDer, bitString(sig));
  AsnConvert.parse(der, Certificate); // sanity: well-formed
  return { der, pem: toPem(der, "CERTIFICATE"), sha256: sha256(der), lint };
}

export async function signCrl(tbs: TBSCertList, key: SigningKey, ctx: LintContext): Promise<Signed> {
  void CONTROLS.lintBeforeSign;
  const tbsDer = new Uint8Array(AsnConvert.serialize(tbs));
  const lint = lintTbsCertList(AsnConvert.parse(tbsDer, TBSCertList), ctx);
  if (failures(lint).length) throw new LintError(lint);
  const algDer = new Uint8Array(AsnConvert.serialize(tbs.signature));
  const sig = await signBytes(tbsDer, tbs.signature.algorithm, key);
  const der = sequence(tbsDer, algDer, bitString(sig));
  AsnConvert.parse(der, CertificateList);
  return { der, pem: toPem(der, "X509 CRL"), sha256: sha256(der), lint };
}

export const parseCertificate = (der: Uint8Array | ArrayBuffer) => AsnConvert.parse(toBytes(der), Certificate);
export const parseCrl = (der: Uint8Array | ArrayBuffer) => AsnConvert.parse(toBytes(der), CertificateList);
