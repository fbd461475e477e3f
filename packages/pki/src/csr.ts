// PKCS#10 for DS keys: built and signed in the operations room, checked (proof of possession) in the root room.

import type { Signer } from "@iaca/hsm";
import { IacaError } from "@iaca/policy";
import { CertificationRequest, CertificationRequestInfo } from "@peculiar/asn1-csr";
import { AsnConvert } from "@peculiar/asn1-schema";
import { AlgorithmIdentifier, type Name } from "@peculiar/asn1-x509";
import { CONTROLS } from "./controls.ts";
import { toBytes } from "./der.ts";
import { buildName, type DnInput, type PublicKeyInfo, publicKeyInfo } from "./profiles.ts";
import { assemble, signBytes, toPem, verifySigned } from "./sign.ts";

export async function createCsr(p: { subject: DnInput; key: PublicKeyInfo; signer: Signer }): Promise<Uint8Array> {
  const info = new CertificationRequestInfo({
    version: 0,
    subject: buildName(p.subject),
    subjectPKInfo: p.key.spki,
  });
  const infoDer = new Uint8Array(AsnConvert.serialize(info));
  const alg = new AlgorithmIdentifier({ algorithm: p.signer.algorithm.signatureOid });
  const sig = await signBytes(infoDer, alg.algorithm, p.signer);
  return assemble(infoDer, alg, sig);
}

export interface CheckedCsr {
  key: PublicKeyInfo;
  subject: Name;
  der: Uint8Array;
}

/** Parses a PEM/DER CSR and checks its signature with its own key (pki.csr.proof-of-possession). */
export function checkCsr(data: Uint8Array): CheckedCsr {
  void CONTROLS.csrProofOfPossession;
  const text = Buffer.from(data).toString("latin1");
  const m = /-----BEGIN (?:NEW )?CERTIFICATE REQUEST-----([\s\S]*?)-----END/.exec(text);
  const der = m ? Uint8Array.from(Buffer.from(m[1]!.replace(/\s+/g, ""), "base64")) : toBytes(data);
  let req: CertificationRequest;
  try {
    req = AsnConvert.parse(der, CertificationRequest);
  } catch {
    throw new IacaError("CSR_UNREADABLE", "not a PKCS#10 certificate request");
  }
  const spkiDer = new Uint8Array(AsnConvert.serialize(req.certificationRequestInfo.subjectPKInfo));
  const key = publicKeyInfo(spkiDer);
  if (!verifySigned(der, spkiDer))
    throw new IacaError(
      "CSR_SIGNATURE_INVALID",
      "the CSR signature does not verify with its public key (no proof of possession)",
      {
        control: CONTROLS.csrProofOfPossession.id,
      },
    );
  return { key, subject: req.certificationRequestInfo.subject, der };
}

export const csrPem = (der: Uint8Array) => toPem(der, "CERTIFICATE REQUEST");
