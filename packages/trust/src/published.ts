import { type CertificateInfo, type CrlInfo, parseCertificate, parseCrl } from "@iaca/pki";

/** Role of a published certificate. */
export type CertKind = "iaca" | "link" | "ds" | "trust-list-signer";
/** What trust.json reports for a certificate at a given instant. */
export type CertStatus = "active" | "scheduled" | "retired" | "revoked";

/** One certificate as the database (or a test) hands it to the DTS. */
export interface PublishedCertificateInput {
  der: Uint8Array;
  kind: CertKind;
  /** When it entered the published set (database row); Last-Modified of its files. Defaults to notBefore. */
  publishedAt?: Date;
  /** DS: start of the private-key usage period (activation). Before it the certificate is "scheduled". */
  activeFrom?: Date;
  /** DS: end of the private-key usage period; IACA: when a newer root took over. After it: "retired". */
  activeUntil?: Date;
  /** Revoked in the issuer's database (a CRL/ARL listing it also counts). */
  revokedAt?: Date;
}

export interface PublishedTrustListInput {
  /** COSE_Sign1 bytes exactly as signed. */
  cose: Uint8Array;
  issueId: number;
  date: Date;
  nextUpdate?: Date;
  /** Digest of the content the issue was signed over (see vical.ts `vicalContentDigest`). */
  contentDigest: string;
}

/** The DTS's whole input: the database state relevant to publication. */
export interface PublishedSetInput {
  certificates: PublishedCertificateInput[];
  crl?: Uint8Array | undefined;
  arl?: Uint8Array | undefined;
  trustList?: PublishedTrustListInput | undefined;
}

export interface PublishedCertificate extends Omit<PublishedCertificateInput, "der"> {
  info: CertificateInfo;
}

export interface PublishedSet {
  certificates: PublishedCertificate[];
  crl: CrlInfo | undefined;
  arl: CrlInfo | undefined;
  trustList: PublishedTrustListInput | undefined;
}

/** Parses every DER once; duplicates (same SHA-256) collapse into one entry. */
export function parsePublishedSet(input: PublishedSetInput): PublishedSet {
  const seen = new Map<string, PublishedCertificate>();
  for (const c of input.certificates) {
    const info = parseCertificate(c.der);
    if (seen.has(info.sha256)) continue;
    const { der: _der, ...rest } = c;
    seen.set(info.sha256, { ...rest, info });
  }
  const certificates = [...seen.values()].sort(compareCerts);
  return {
    certificates,
    crl: input.crl ? parseCrl(input.crl) : undefined,
    arl: input.arl ? parseCrl(input.arl) : undefined,
    trustList: input.trustList,
  };
}

const KIND_ORDER: Record<CertKind, number> = { iaca: 0, link: 1, "trust-list-signer": 2, ds: 3 };

/** Stable order: kind, then notBefore, then fingerprint. */
function compareCerts(a: PublishedCertificate, b: PublishedCertificate): number {
  return (
    KIND_ORDER[a.kind] - KIND_ORDER[b.kind] ||
    a.info.notBefore.getTime() - b.info.notBefore.getTime() ||
    a.info.sha256.localeCompare(b.info.sha256)
  );
}

/**
 * True when the list was issued under the certificate's issuer name and lists its serial. The key
 * may differ: after a re-key the CRL is signed by the new root key for certificates of the old one
 * (same CA name, RFC 5280 §5: the CRL scope is the issuer name).
 */
function listedOn(list: CrlInfo | undefined, cert: CertificateInfo): boolean {
  if (!list) return false;
  if (list.issuer !== cert.issuer) return false;
  return list.revokedSerials.includes(cert.serial);
}

/** The list that covers this certificate: the ARL for CA certificates (roots, links), the CRL for the rest. */
export function revocationListFor(set: PublishedSet, c: PublishedCertificate): CrlInfo | undefined {
  return c.kind === "iaca" || c.kind === "link" ? set.arl : set.crl;
}

export function certificateStatusOf(set: PublishedSet, c: PublishedCertificate, now: Date): CertStatus {
  const t = now.getTime();
  if ((c.revokedAt && c.revokedAt.getTime() <= t) || listedOn(revocationListFor(set, c), c.info)) return "revoked";
  if (t < c.info.notBefore.getTime() || (c.activeFrom && t < c.activeFrom.getTime())) return "scheduled";
  if (t > c.info.notAfter.getTime() || (c.activeUntil && t >= c.activeUntil.getTime())) return "retired";
  return "active";
}

/** Instants at which some certificate's status changes (the published tree depends on them). */
export function statusTransitions(set: PublishedSet): Date[] {
  const out: Date[] = [];
  for (const c of set.certificates) {
    out.push(c.info.notBefore, new Date(c.info.notAfter.getTime() + 1));
    if (c.activeFrom) out.push(c.activeFrom);
    if (c.activeUntil) out.push(c.activeUntil);
    if (c.revokedAt) out.push(c.revokedAt);
  }
  return out;
}
