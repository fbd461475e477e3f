// A throwaway PKI for DTS tests built with @iaca/pki's Annex B profiles and software WebCrypto keys:
// root, DS certificates (active, scheduled, revoked), the trust-list signer, CRL and ARL, and a
// re-key with both link certificates.
import { webcrypto } from "node:crypto";
import { type Signer, softwareSigner } from "@iaca/hsm";
import {
  crlTbs,
  dsTbs,
  exportPublicKey,
  type IssuerInfo,
  iacaTbs,
  issuerInfo,
  linkTbs,
  type PublicKeyInfo,
  parseCertificate,
  period,
  signCertificate,
  signCrl,
  tslSignerTbs,
} from "@iaca/pki";
import { addDuration, DEFAULT_POLICY, type Policy } from "@iaca/policy";
import type { PublishedCertificateInput, PublishedSetInput, TrustListSigner } from "@iaca/trust";

const c = webcrypto;
const gen = (namedCurve: string) =>
  c.subtle.generateKey({ name: "ECDSA", namedCurve }, false, ["sign", "verify"]) as Promise<webcrypto.CryptoKeyPair>;

export interface Root {
  der: Uint8Array;
  key: Signer;
  privateKey: webcrypto.CryptoKey;
  pub: PublicKeyInfo;
  info: IssuerInfo;
}

export interface FixturePki {
  policy: Policy;
  t0: Date;
  root: Root;
  /** The root of generation `gen` (1 = the first; a re-key adds the next). */
  rootOf(gen: number): Root;
  set: PublishedSetInput;
  /** The first CRL and ARL (numbers 1 and 2, both listing dsRevoked), also in `set.lists`. */
  crlDer: Uint8Array;
  arlDer: Uint8Array;
  dsActive: Uint8Array;
  dsScheduled: Uint8Array;
  dsRevoked: Uint8Array;
  signer: TrustListSigner;
  signerCert: Uint8Array;
  /** The signing key of a DS certificate this fixture made (to sign MSOs in verifier tests). */
  dsSigner(der: Uint8Array): Signer;
  crlNumber: bigint;
  /** Signs a CRL/ARL with the current root key, or with `by` (an older root's key after a re-key). */
  crl(
    kind: "crl" | "arl",
    opts: { number: bigint; thisUpdate: Date; nextUpdate: Date; revoked?: Uint8Array[]; by?: Root },
  ): Promise<Uint8Array>;
  rekey(at: Date): Promise<{ newRoot: Root; linkOldToNew: Uint8Array; linkNewToOld: Uint8Array; dsNew: Uint8Array }>;
}

const serialOf = (der: Uint8Array) => new Uint8Array(parseCertificate(der).asn1.tbsCertificate.serialNumber);

async function newRoot(policy: Policy, notBefore: Date, rootGen = 1): Promise<Root> {
  const kp = await gen(policy.iaca.key.curve);
  const key = softwareSigner(kp.privateKey);
  const pub = await exportPublicKey(kp.publicKey, c);
  const signed = await signCertificate(
    iacaTbs({
      policy,
      key: pub,
      period: period(notBefore, addDuration(notBefore, policy.iaca.validity)),
      gen: rootGen,
    }),
    key,
    { profile: "iaca", policy },
  );
  return { der: signed.der, key, privateKey: kp.privateKey, pub, info: issuerInfo(parseCertificate(signed.der).asn1) };
}

export async function buildFixturePki(opts: { t0?: Date; policy?: Policy } = {}): Promise<FixturePki> {
  const policy = opts.policy ?? DEFAULT_POLICY;
  const t0 = opts.t0 ?? new Date(Date.UTC(2026, 0, 1));
  let root = await newRoot(policy, t0);
  let rootGen = 1;
  const roots = [root];

  const dsKeys = new Map<string, Signer>();
  const ds = async (issuer: Root, seq: number, from: Date) => {
    const kp = await gen(policy.ds.key.curve);
    const pub = await exportPublicKey(kp.publicKey, c);
    const s = await signCertificate(
      dsTbs({
        policy,
        issuer: issuer.info,
        key: pub,
        period: period(from, addDuration(from, policy.ds.validity)),
        seq,
        gen: issuer === root ? rootGen : rootGen - 1,
      }),
      issuer.key,
      { profile: "ds", policy, issuer: issuer.info },
    );
    dsKeys.set(Buffer.from(s.der).toString("base64"), softwareSigner(kp.privateKey));
    return s.der;
  };
  const dsActive = await ds(root, 1, t0);
  const dsRevoked = await ds(root, 2, t0);
  const scheduledFrom = addDuration(t0, policy.ds.rotationInterval);
  const dsScheduled = await ds(root, 3, scheduledFrom);

  const skp = await gen("P-256");
  const spub = await exportPublicKey(skp.publicKey, c);
  const signerCert = (
    await signCertificate(
      tslSignerTbs({
        policy,
        issuer: root.info,
        key: spub,
        period: period(t0, addDuration(t0, policy.ds.validity)),
        commonName: "Japan mdoc Trust List Signer 1",
      }),
      root.key,
      { profile: "tsl-signer", policy, issuer: root.info },
    )
  ).der;
  const signer: TrustListSigner = { certificate: signerCert, key: softwareSigner(skp.privateKey) };

  const crl: FixturePki["crl"] = async (kind, o) =>
    (
      await signCrl(
        crlTbs({
          issuer: (o.by ?? root).info,
          number: o.number,
          thisUpdate: o.thisUpdate,
          nextUpdate: o.nextUpdate,
          revoked: (o.revoked ?? []).map((d) => ({ serial: serialOf(d), revokedAt: o.thisUpdate })),
        }),
        (o.by ?? root).key,
        { profile: kind, policy, issuer: (o.by ?? root).info },
      )
    ).der;

  const crlDer = await crl("crl", {
    number: 1n,
    thisUpdate: t0,
    nextUpdate: addDuration(t0, policy.revocation.nextUpdate),
    revoked: [dsRevoked],
  });
  // as the root room issues them: both lists complete, numbers from one sequence
  const arlDer = await crl("arl", {
    number: 2n,
    thisUpdate: t0,
    nextUpdate: addDuration(t0, policy.revocation.nextUpdate),
    revoked: [dsRevoked],
  });

  const certificates: PublishedCertificateInput[] = [
    { der: root.der, kind: "iaca", publishedAt: t0 },
    { der: signerCert, kind: "trust-list-signer", publishedAt: t0 },
    { der: dsActive, kind: "ds", publishedAt: t0, activeFrom: t0, activeUntil: scheduledFrom },
    { der: dsRevoked, kind: "ds", publishedAt: t0, activeFrom: t0, revokedAt: t0 },
    { der: dsScheduled, kind: "ds", publishedAt: t0, activeFrom: scheduledFrom },
  ];
  const fixture: FixturePki = {
    policy,
    t0,
    root,
    rootOf: (g) => roots[g - 1]!,
    set: {
      certificates,
      lists: [
        { kind: "crl", der: crlDer },
        { kind: "arl", der: arlDer },
      ],
    },
    crlDer,
    arlDer,
    dsActive,
    dsScheduled,
    dsRevoked,
    signer,
    signerCert,
    dsSigner: (der) => dsKeys.get(Buffer.from(der).toString("base64"))!,
    crlNumber: 1n,
    crl,
    async rekey(at) {
      const old = root;
      const next = await newRoot(policy, at, rootGen + 1);
      const linkPeriod = period(at, old.info.cert.tbsCertificate.validity.notAfter.getTime());
      // old key certifies the new key, new key certifies the old key (both directions).
      const linkOldToNew = (
        await signCertificate(
          linkTbs({
            policy,
            rootName: old.info.cert.tbsCertificate.subject,
            subjectKey: next.pub,
            issuerSki: old.pub.ski,
            issuerCurve: old.pub.curve,
            issuerGen: rootGen,
            period: linkPeriod,
          }),
          old.key,
          { profile: "link", policy, issuer: old.info },
        )
      ).der;
      const linkNewToOld = (
        await signCertificate(
          linkTbs({
            policy,
            rootName: old.info.cert.tbsCertificate.subject,
            subjectKey: old.pub,
            issuerSki: next.pub.ski,
            issuerCurve: next.pub.curve,
            issuerGen: rootGen + 1,
            period: linkPeriod,
          }),
          next.key,
          { profile: "link", policy, issuer: next.info },
        )
      ).der;
      root = next;
      rootGen++;
      roots.push(next);
      const dsNew = await ds(next, 10, at);
      return { newRoot: next, linkOldToNew, linkNewToOld, dsNew };
    },
  };
  return fixture;
}
