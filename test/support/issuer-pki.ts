/**
 * Test PKI for the issuance services: an IACA key on the SoftHSM root token and DS keys on the DS
 * token, certificates made with @iaca/pki's Annex B profiles (lint before sign). Used until/unless
 * a test wants pki's full ceremony.
 */
import type { KeyStore } from "@iaca/hsm";
import type { SigningDs } from "@iaca/issuance";
import { dsState } from "@iaca/mdoc";
import {
  dsTbs,
  iacaTbs,
  issuerInfo,
  parseCertificate,
  period,
  publicKeyInfo,
  signCertificate,
  statusSignerTbs,
} from "@iaca/pki";
import { addDuration, type Policy } from "@iaca/policy";

export interface TestPki {
  iacaDer: Uint8Array;
  iacaPem: string;
  makeDs(o?: { seq?: number; notBefore?: Date; notAfter?: Date; label?: string }): Promise<SigningDs>;
  /** A status-list signer (profile status-signer) with its key on the DS token. */
  makeStatusSigner(): Promise<{ certificate: Uint8Array; keyRef: string }>;
}

export async function makeTestPki(
  rootKs: KeyStore,
  dsKs: KeyStore,
  policy: Policy,
  now = new Date(),
): Promise<TestPki> {
  const iacaKey = await rootKs.generateEcKey(`iaca-${Date.now()}`, { curve: policy.iaca.key.curve });
  const rootSigner = await rootKs.signer(iacaKey.uri);
  const iacaPub = publicKeyInfo((await rootKs.getPublicKey(iacaKey.uri)).spki);
  const nb = new Date(now.getTime() - 365 * 86_400_000);
  const iaca = await signCertificate(
    iacaTbs({ policy, key: iacaPub, period: period(nb, addDuration(nb, policy.iaca.validity)) }),
    rootSigner,
    { profile: "iaca", policy },
  );
  const issuer = issuerInfo(parseCertificate(iaca.der).asn1);
  let seq = 0;
  return {
    iacaDer: iaca.der,
    iacaPem: iaca.pem,
    async makeDs(o = {}) {
      const n = o.seq ?? ++seq;
      const label = o.label ?? `ds-${n}-${Date.now()}`;
      const k = await dsKs.generateEcKey(label, { curve: policy.ds.key.curve });
      const pub = publicKeyInfo((await dsKs.getPublicKey(k.uri)).spki);
      const notBefore = o.notBefore ?? new Date(now.getTime() - 3600_000);
      const notAfter = o.notAfter ?? addDuration(notBefore, policy.ds.validity);
      const ds = await signCertificate(
        dsTbs({ policy, issuer, key: pub, period: period(notBefore, notAfter), seq: n }),
        rootSigner,
        {
          profile: "ds",
          policy,
          issuer,
        },
      );
      return {
        certificate: ds.der,
        keyRef: k.uri,
        record: { serial: dsState(ds.der).serialNumber, notBefore, notAfter },
      };
    },
    async makeStatusSigner() {
      const k = await dsKs.generateEcKey(`status-${Date.now()}`, { curve: "P-256" });
      const pub = publicKeyInfo((await dsKs.getPublicKey(k.uri)).spki);
      const notBefore = new Date(now.getTime() - 3600_000);
      const tbs = statusSignerTbs({
        policy,
        issuer,
        key: pub,
        period: period(notBefore, addDuration(notBefore, policy.ds.validity)),
        commonName: "Test Status List Signer",
      });
      const cert = await signCertificate(tbs, rootSigner, { profile: "status-signer", policy, issuer });
      return { certificate: cert.der, keyRef: k.uri };
    },
  };
}
