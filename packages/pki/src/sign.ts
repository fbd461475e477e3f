// Lint before sign: serialize the TBS, lint exactly those bytes (parsed back), sign them with a
// WebCrypto key (software or the PKCS#11 bridge), and assemble the signed object byte for byte.
import { createPublicKey, verify as cryptoVerify, type webcrypto } from "node:crypto";
import { AsnConvert } from "@peculiar/asn1-schema";
import { AlgorithmIdentifier, Certificate, CertificateList, TBSCertificate, TBSCertList } from "@peculiar/asn1-x509";
import { CONTROLS } from "./controls.ts";
import { bitString, ecdsaRawToDer, sequence, splitSigned, toBytes } from "./der.ts";
import { failures, type LintContext, LintError, type LintResult, lintTbsCertificate, lintTbsCertList } from "./lint.ts";
import { HASH_BY_SIG_OID, type Hash } from "./oids.ts";
import { sha256 } from "./profiles.ts";

/**
 * A signing key: a WebCrypto private key with its SubtleCrypto (node:crypto or the HSM's WebCrypto
 * bridge), or any function returning an r||s ECDSA signature (e.g. @iaca/hsm KeyStore.sign).
 */
export type SigningKey =
  | { privateKey: webcrypto.CryptoKey; crypto: { subtle: webcrypto.SubtleCrypto } }
  | { signRaw(data: Uint8Array, hash: Hash): Promise<Uint8Array> };

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
  const raw =
    "signRaw" in key
      ? await key.signRaw(tbsDer, hash)
      : toBytes(await key.crypto.subtle.sign({ name: "ECDSA", hash }, key.privateKey, tbsDer));
  return ecdsaRawToDer(raw);
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

/** Verifies the signature of a certificate, CRL or CSR over its exact TBS bytes with `spkiDer`. */
export function verifySigned(der: Uint8Array, spkiDer: Uint8Array): boolean {
  const parts = splitSigned(der);
  const alg = AsnConvert.parse(parts.algorithm, AlgorithmIdentifier).algorithm;
  const hash = HASH_BY_SIG_OID[alg];
  if (!hash) return false;
  const key = createPublicKey({ key: Buffer.from(spkiDer), format: "der", type: "spki" });
  return cryptoVerify(hash.replace("-", "").toLowerCase(), parts.tbs, { key, dsaEncoding: "der" }, parts.signature);
}

/** The signed object's own assembly, for callers that signed the TBS elsewhere. */
export function assemble(tbsDer: Uint8Array, algorithm: AlgorithmIdentifier, sigDer: Uint8Array): Uint8Array {
  return sequence(tbsDer, new Uint8Array(AsnConvert.serialize(algorithm)), bitString(sigDer));
}

export { signBytes };
