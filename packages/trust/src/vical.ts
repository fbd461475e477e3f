import "reflect-metadata";
import { createHash } from "node:crypto";
import type { Signer } from "@iaca/hsm";
import {
  type CoseSign1,
  getProfile,
  parseSign1,
  sign1Algorithm,
  sign1X5Chain,
  signSign1,
  verifySign1,
} from "@iaca/mdoc";
import { type CertificateInfo, parseCertificate, verifySigned } from "@iaca/pki";
import { IacaError } from "@iaca/policy";
import { biguint, type CborValue, decodeCbor, encodeCbor, tdate } from "./cbor.ts";
import { certificateStatusOf, type PublishedCertificate, type PublishedSet } from "./published.ts";

/** ISO/IEC 18013-5 extended key usage of a VICAL (trust list) signer certificate. */
export const EKU_VICAL_SIGNER = "1.0.18013.5.1.8";

/**
 * The online trust-list signer: its certificate (issued by the IACA at a ceremony, EKU
 * 1.0.18013.5.1.8) and its HSM key (KeyStore.signer).
 */
export interface TrustListSigner {
  certificate: Uint8Array;
  key: Signer;
}

export interface VicalOptions {
  provider: string;
  /** Default: the docType of the policy's mdoc profile (mdoc's profile registry). */
  docTypes?: string[];
  /** policy.profile: which mdoc profile's docType the IACAs are listed for. */
  profile?: string;
  /** nextUpdate when no CRL/ARL bounds it. */
  defaultValidityMs?: number;
}

/** The certificates a VICAL lists at `now`: IACA roots (self-issued CA certificates) that are neither expired nor revoked. */
export function vicalCertificates(set: PublishedSet, now: Date): PublishedCertificate[] {
  return set.certificates.filter((c) => {
    if (c.kind !== "iaca") return false;
    const s = certificateStatusOf(set, c, now);
    return s !== "revoked" && now.getTime() <= c.info.notAfter.getTime();
  });
}

/**
 * The trust list's nextUpdate: the earliest nextUpdate still ahead among the CRLs/ARLs of every root
 * key (a list whose nextUpdate passed belongs to a key with nothing valid left), else date + default validity.
 */
export function vicalNextUpdate(set: PublishedSet, now: Date, defaultValidityMs = 30 * 86_400_000): Date {
  const bounds = set.lists
    .map((l) => l.info.nextUpdate?.getTime())
    .filter((t): t is number => t !== undefined && t > now.getTime());
  return new Date(bounds.length ? Math.min(...bounds) : now.getTime() + defaultValidityMs);
}

function certificateInfo(c: PublishedCertificate, docTypes: string[]): Map<CborValue, CborValue> {
  const i = c.info;
  const m = new Map<CborValue, CborValue>([
    ["certificate", i.der],
    ["serialNumber", biguint(i.serial)],
    ["ski", new Uint8Array(Buffer.from(i.ski, "hex"))],
    ["docType", docTypes],
    ["issuingCountry", i.country],
    ["issuer", i.issuerDer],
    ["subject", i.subjectDer],
    ["notBefore", tdate(i.notBefore)],
    ["notAfter", tdate(i.notAfter)],
  ]);
  if (i.state) m.set("stateOrProvinceName", i.state);
  return m;
}

/** SHA-256 over what a trust-list issue asserts (listed certificates, docTypes, nextUpdate, signer); a change means re-sign. */
export function vicalContentDigest(
  certs: PublishedCertificate[],
  docTypes: string[],
  nextUpdate: Date,
  signerSha256: string,
): string {
  const h = createHash("sha256");
  h.update(
    JSON.stringify({ c: certs.map((c) => c.info.sha256), d: docTypes, n: nextUpdate.toISOString(), s: signerSha256 }),
  );
  return h.digest("hex");
}

export interface SignedTrustList {
  cose: Uint8Array;
  issueId: number;
  date: Date;
  nextUpdate: Date;
  contentDigest: string;
  signerSha256: string;
}

/**
 * Signs a new trust-list issue when the content changed since `set.trustList` (or there is none);
 * returns undefined when the current issue still holds.
 */
export async function signTrustListIfChanged(
  set: PublishedSet,
  signer: TrustListSigner,
  opts: VicalOptions,
  now: Date,
): Promise<SignedTrustList | undefined> {
  const docTypes = opts.docTypes ?? [getProfile(opts.profile ?? "interop").docType];
  const certs = vicalCertificates(set, now);
  const nextUpdate = vicalNextUpdate(set, now, opts.defaultValidityMs);
  const signerSha = parseCertificate(signer.certificate).sha256;
  const digest = vicalContentDigest(certs, docTypes, nextUpdate, signerSha);
  if (set.trustList && set.trustList.contentDigest === digest) return undefined;
  const issueId = (set.trustList?.issueId ?? 0) + 1;
  const date = new Date(Math.floor(now.getTime() / 1000) * 1000);
  const vical = new Map<CborValue, CborValue>([
    ["version", "1.0"],
    ["vicalProvider", opts.provider],
    ["date", tdate(date)],
    ["vicalIssueID", issueId],
    ["nextUpdate", tdate(nextUpdate)],
    ["certificateInfos", certs.map((c) => certificateInfo(c, docTypes))],
  ]);
  const sign1 = await signSign1(
    { payload: encodeCbor(vical), x5chain: [new Uint8Array(signer.certificate)] },
    signer.key,
  );
  return { cose: encodeCbor(sign1), issueId, date, nextUpdate, contentDigest: digest, signerSha256: signerSha };
}

export class TrustListError extends IacaError {}

/** The attached payload; a detached trust list is malformed. */
function payloadOf(s: CoseSign1): Uint8Array {
  if (!s.payload) throw new TrustListError("TRUST_LIST_MALFORMED", "COSE_Sign1 payload is detached");
  return s.payload;
}

function readSign1(cose: Uint8Array) {
  try {
    return parseSign1(decodeCbor(cose));
  } catch {
    throw new TrustListError("TRUST_LIST_MALFORMED", "not a COSE_Sign1");
  }
}

const signedBy = (c: CertificateInfo, by: CertificateInfo) => c.issuer === by.subject && verifySigned(c.der, by.spki);

/** The trusted IACA that issued `signer`, directly or through a link certificate valid at `now` (old key certifies the new). */
function trustedIssuer(
  signer: CertificateInfo,
  anchors: CertificateInfo[],
  links: CertificateInfo[],
  now: Date,
): CertificateInfo | undefined {
  const direct = anchors.find((a) => signedBy(signer, a));
  if (direct) return direct;
  for (const link of links) {
    if (now < link.notBefore || now > link.notAfter || !signedBy(signer, link)) continue;
    const a = anchors.find((x) => signedBy(link, x));
    if (a) return a;
  }
  return undefined;
}

export interface VerifiedTrustList {
  vical: Map<string, unknown>;
  signer: CertificateInfo;
  anchor: CertificateInfo;
  issueId: number;
  certificates: Uint8Array[];
}

/** The certificates a trust list carries, read WITHOUT verifying anything (to pick the pinned anchor). */
export function trustListCertificatesUnverified(cose: Uint8Array): Uint8Array[] {
  const vical = decodeCbor(payloadOf(readSign1(cose))) as Map<string, unknown>;
  const infos = (vical.get("certificateInfos") as Map<string, unknown>[]) ?? [];
  return infos.map((i) => new Uint8Array(i.get("certificate") as Uint8Array));
}

/**
 * Reference verification of a signed trust list as a verifier does it: COSE_Sign1 signature by the
 * x5chain certificate, that certificate's EKU 1.0.18013.5.1.8 and validity, and its signature by
 * one of the IACA certificates the verifier already trusts.
 */
export async function verifyTrustList(
  cose: Uint8Array,
  trustedIacas: Uint8Array[],
  now = new Date(),
  /** Link certificates from the DTS: a verifier holding only an older root reaches a newer signer through them. */
  links: Uint8Array[] = [],
): Promise<VerifiedTrustList> {
  const sign1 = readSign1(cose);
  const payload = payloadOf(sign1);
  const alg = sign1Algorithm(sign1);
  if (!alg) throw new TrustListError("TRUST_LIST_ALG", `unsupported COSE algorithm ${sign1.protectedHeaders.get(1)}`);
  const x5 = sign1X5Chain(sign1)?.[0];
  if (!x5) throw new TrustListError("TRUST_LIST_MALFORMED", "no x5chain certificate");
  const signer = parseCertificate(x5);
  if (!signer.ekus.includes(EKU_VICAL_SIGNER))
    throw new TrustListError("TRUST_LIST_SIGNER_EKU", "signer certificate lacks EKU 1.0.18013.5.1.8");
  if (now < signer.notBefore || now > signer.notAfter)
    throw new TrustListError("TRUST_LIST_SIGNER_EXPIRED", "signer certificate is not valid now");
  if (!verifySign1(sign1, signer))
    throw new TrustListError("TRUST_LIST_SIGNATURE", "COSE_Sign1 signature does not verify");
  const anchor = trustedIssuer(signer, trustedIacas.map(parseCertificate), links.map(parseCertificate), now);
  if (!anchor) throw new TrustListError("TRUST_LIST_UNTRUSTED", "signer certificate is not issued by a trusted IACA");
  const vical = decodeCbor(payload) as Map<string, unknown>;
  const infos = (vical.get("certificateInfos") as Map<string, unknown>[]) ?? [];
  return {
    vical,
    signer,
    anchor,
    issueId: Number(vical.get("vicalIssueID")),
    certificates: infos.map((i) => new Uint8Array(i.get("certificate") as Uint8Array)),
  };
}
