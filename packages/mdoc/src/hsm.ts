/**
 * Production signers: the MSO signature is made by the HSM (PKCS#11 CKM_ECDSA over a digest
 * computed here), so the DS private key never leaves the token. Works with a KeyStore or a
 * ClusterKeyStore from @iaca/hsm.
 */

import { X509Certificate } from "node:crypto";
import type { KeyRef } from "@iaca/hsm";
import { assertCanSign, type DsRecordLike } from "@iaca/pki";
import type { Policy } from "@iaca/policy";
import { algForCurve, COSE_ALGS, digest } from "./cose.ts";
import { MdocError } from "./errors.ts";
import type { KeyStateCheck, MsoSigner } from "./issue.ts";

/** What the adapter needs from @iaca/hsm's KeyStore / ClusterKeyStore. */
export interface DigestSigningKeyStore {
  signDigest(ref: KeyRef, digest: Uint8Array): Promise<{ raw: Uint8Array }>;
  signDigestRaw?(ref: KeyRef, digest: Uint8Array): Promise<Uint8Array>;
}

const NODE_CURVES: Record<string, string> = { prime256v1: "P-256", secp384r1: "P-384", secp521r1: "P-521" };

/** The COSE alg matching the DS certificate's key (ES256 for P-256 ...). */
export function algForCertificate(certificate: Uint8Array) {
  const curve = new X509Certificate(certificate).publicKey.asymmetricKeyDetails?.namedCurve ?? "";
  const name = NODE_CURVES[curve];
  if (!name) throw new MdocError("MDOC_DS_KEY_STATE", `DS certificate key is not on P-256/P-384/P-521 (${curve})`);
  return algForCurve(name);
}

/** An MsoSigner over an HSM key: hash the Sig_structure in node, CKM_ECDSA on the token, raw r||s back. */
export function keyStoreSigner(keyStore: DigestSigningKeyStore, keyRef: KeyRef, certificate: Uint8Array): MsoSigner {
  const alg = algForCertificate(certificate);
  const hash = COSE_ALGS[alg].hash;
  const raw = keyStore.signDigestRaw
    ? (d: Uint8Array) => keyStore.signDigestRaw!(keyRef, d)
    : async (d: Uint8Array) => (await keyStore.signDigest(keyRef, d)).raw;
  return {
    alg,
    certificate,
    sign: async (tbs) => {
      const sig = await raw(digest(hash, tbs));
      return new Uint8Array(sig.buffer, sig.byteOffset, sig.byteLength);
    },
  };
}

/** pki's DS usage-period rule (assertCanSign: usage period, revoked, retired) as the issuer's key-state hook. */
export function pkiKeyStateCheck(record: DsRecordLike, policy: Policy): KeyStateCheck {
  return ({ at }) => {
    assertCanSign(record, at, policy);
  };
}
