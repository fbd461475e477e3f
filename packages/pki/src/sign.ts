// Lint before sign: serialize the TBS, lint exactly those bytes (parsed back), sign them with a
// Signer (an HSM key from KeyStore.signer), and assemble the signed object byte for byte.
import { createPublicKey, verify as cryptoVerify } from "node:crypto";
import { rawToDer, type Signer } from "@iaca/hsm";
import { algorithmBy } from "@iaca/policy";
import { AsnConvert } from "@peculiar/asn1-schema";
import { AlgorithmIdentifier, Certificate, CertificateList, TBSCertificate, TBSCertList } from "@peculiar/asn1-x509";
import { CONTROLS } from "./controls.ts";
import { bitString, sequence, splitSigned } from "./der.ts";
import { failures, type LintContext, LintError, type LintResult, lintTbsCertificate, lintTbsCertList } from "./lint.ts";
import { sha256 } from "./profiles.ts";

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

/** The DER ECDSA signature over `tbsDer`; refuses a signer whose key does not match the TBS's algorithm. */
export async function signBytes(tbsDer: Uint8Array, signatureOid: string, signer: Signer): Promise<Uint8Array> {
  if (signer.algorithm.signatureOid !== signatureOid)
    throw new Error(
      `the TBS names signature algorithm ${signatureOid}; the ${signer.algorithm.curve} key signs with ${signer.algorithm.signatureOid}`,
    );
  return new Uint8Array(rawToDer(await signer.sign(tbsDer)));
}

/** Lints `tbs` as it will be encoded; refuses (LintError naming the rules) on any FAIL; then signs. */
export async function signCertificate(tbs: TBSCertificate, key: Signer, ctx: LintContext): Promise<Signed> {
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

export async function signCrl(tbs: TBSCertList, key: Signer, ctx: LintContext): Promise<Signed> {
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

/** Verifies the signature of a certificate, CRL or CSR over its exact TBS bytes with `spkiDer`. */
export function verifySigned(der: Uint8Array, spkiDer: Uint8Array): boolean {
  const parts = splitSigned(der);
  const alg = AsnConvert.parse(parts.algorithm, AlgorithmIdentifier).algorithm;
  const a = algorithmBy("signatureOid", alg);
  if (!a) return false;
  const key = createPublicKey({ key: Buffer.from(spkiDer), format: "der", type: "spki" });
  return cryptoVerify(a.nodeHash, parts.tbs, { key, dsaEncoding: "der" }, parts.signature);
}

/** The signed object's own assembly, for callers that signed the TBS elsewhere. */
export function assemble(tbsDer: Uint8Array, algorithm: AlgorithmIdentifier, sigDer: Uint8Array): Uint8Array {
  return sequence(tbsDer, new Uint8Array(AsnConvert.serialize(algorithm)), bitString(sigDer));
}
