import type { Policy } from "@iaca/policy";
import { revocationPaths } from "./paths.ts";
import { type PublishedCertificate, type PublishedSet, signerKeyId } from "./published.ts";

/** What a strict verifier concludes: good, revoked, or no usable CRL (openssl: "unable to get certificate CRL"). */
export type StrictCrlStatus = "good" | "revoked" | "unknown";

export interface StrictCrlResult {
  status: StrictCrlStatus;
  reason: string;
}

/** Signature results by (list, key): a list is verified once however often it is checked. */
export type SignatureCache = Map<string, boolean>;

/**
 * Revocation status of one certificate as a strict verifier (openssl verify -crl_check, RFC 5280
 * 6.3.3) reaches it with DTS material only: the list served at the path of the certificate's CRL
 * distribution point, signed by the key that signed the certificate (AKI = that key's SKI, the
 * signature verifies under it), thisUpdate <= at < nextUpdate, and the serial listed or not.
 */
export async function strictCrlStatus(
  set: PublishedSet,
  policy: Policy,
  cert: PublishedCertificate,
  at: Date,
  cache: SignatureCache = new Map(),
): Promise<StrictCrlResult> {
  const cdp = cert.info.crlDistributionPoints[0];
  if (!cdp) return { status: "unknown", reason: "no CRL distribution point" };
  const path = new URL(cdp).pathname;
  const served = set.lists.find((l) => revocationPaths(policy, l.gen)[l.kind] === path);
  if (!served) return { status: "unknown", reason: `nothing served at ${path}` };
  const issuer = set.certificates.find(
    (c) => c.kind === "iaca" && c.info.ski === signerKeyId(cert.info) && c.info.subject === cert.info.issuer,
  );
  if (!issuer) return { status: "unknown", reason: `no published root with key id ${signerKeyId(cert.info)}` };
  const list = served.info;
  const key = `${list.sha256}:${issuer.info.sha256}`;
  if (!cache.has(key))
    cache.set(
      key,
      list.aki === issuer.info.ski &&
        list.issuer === cert.info.issuer &&
        (await list.x509.verify({ publicKey: issuer.info.x509.publicKey }).catch(() => false)),
    );
  if (!cache.get(key))
    return { status: "unknown", reason: `the list at ${path} is not signed by the certificate's issuer key` };
  if (list.thisUpdate > at) return { status: "unknown", reason: `the list at ${path} is not yet valid` };
  if (!list.nextUpdate || list.nextUpdate <= at)
    return {
      status: "unknown",
      reason: `the list at ${path} expired ${list.nextUpdate?.toISOString() ?? "(no nextUpdate)"}`,
    };
  return list.revokedSerials.includes(cert.info.serial)
    ? { status: "revoked", reason: `listed on ${path} #${list.number}` }
    : { status: "good", reason: `not listed on ${path} #${list.number}` };
}
