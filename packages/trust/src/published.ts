import { type CertificateInfo, type CrlInfo, parseCertificate, parseCrl } from "@iaca/pki";

/** Role of a published certificate. */
export type CertKind = "iaca" | "link" | "ds" | "trust-list-signer" | "status-list-signer";
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

/** A CRL or ARL as installed: the latest of its kind for one root key. */
export interface PublishedListInput {
  kind: "crl" | "arl";
  der: Uint8Array;
}

/** A signed Status List Token as the status publisher stored it. */
export interface PublishedStatusListInput {
  listNo: number;
  token: Uint8Array;
  signedAt: Date;
  expiresAt: Date;
}

/** The DTS's whole input: the database state relevant to publication. */
export interface PublishedSetInput {
  certificates: PublishedCertificateInput[];
  /** The latest CRL and ARL of each root key (pki.crl.per-key). */
  lists?: PublishedListInput[] | undefined;
  trustList?: PublishedTrustListInput | undefined;
  /** The last signed token of every status list. */
  statusLists?: PublishedStatusListInput[] | undefined;
}

/** A published list and the root key that signed it. */
export interface PublishedList {
  kind: "crl" | "arl";
  /** Generation of the signing root key: 1 + the number of IACA roots published before it. */
  gen: number;
  info: CrlInfo;
}

export interface PublishedCertificate extends Omit<PublishedCertificateInput, "der"> {
  info: CertificateInfo;
}

export interface PublishedSet {
  certificates: PublishedCertificate[];
  /** Every list, by generation then kind; per generation and kind the newest (highest number) only. */
  lists: PublishedList[];
  /** The CRL of the newest root key that has one (what trust.json's `crl` reports). */
  crl: CrlInfo | undefined;
  /** The ARL of the newest root key that has one. */
  arl: CrlInfo | undefined;
  trustList: PublishedTrustListInput | undefined;
  statusLists: PublishedStatusListInput[];
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
  const lists = newestLists(certificates, input.lists ?? []);
  const newest = (kind: "crl" | "arl") => lists.filter((l) => l.kind === kind).at(-1)?.info;
  const statusLists = [...(input.statusLists ?? [])].sort((a, b) => a.listNo - b.listNo);
  return { certificates, lists, crl: newest("crl"), arl: newest("arl"), trustList: input.trustList, statusLists };
}

/**
 * The generation of each list's key (roots numbered by notBefore, the order of the re-keys) and the
 * newest list per generation and kind. A list no published root signed is left out.
 */
function newestLists(certificates: PublishedCertificate[], input: PublishedListInput[]): PublishedList[] {
  const roots = certificates.filter((c) => c.kind === "iaca");
  const out = new Map<string, PublishedList>();
  for (const l of input) {
    const info = parseCrl(l.der);
    const gen = roots.findIndex((r) => r.info.ski === info.aki && r.info.subject === info.issuer) + 1;
    if (gen === 0) continue;
    const key = `${gen}:${l.kind}`;
    const had = out.get(key);
    if (!had || (had.info.number ?? -1n) < (info.number ?? -1n)) out.set(key, { kind: l.kind, gen, info });
  }
  return [...out.values()].sort((a, b) => a.gen - b.gen || a.kind.localeCompare(b.kind));
}

/** The key identifier of the key that signed a certificate (a self-signed root has no AKI: its own SKI). */
export const signerKeyId = (c: CertificateInfo): string => c.aki || c.ski;

const KIND_ORDER: Record<CertKind, number> = {
  iaca: 0,
  link: 1,
  "trust-list-signer": 2,
  "status-list-signer": 3,
  ds: 4,
};

/** Stable order: kind, then notBefore, then fingerprint. */
function compareCerts(a: PublishedCertificate, b: PublishedCertificate): number {
  return (
    KIND_ORDER[a.kind] - KIND_ORDER[b.kind] ||
    a.info.notBefore.getTime() - b.info.notBefore.getTime() ||
    a.info.sha256.localeCompare(b.info.sha256)
  );
}

/** The lists of the key that signed the certificate: the ARL for CA certificates (roots, links), else the CRL. */
export function revocationListsFor(set: PublishedSet, c: PublishedCertificate): PublishedList[] {
  const kind = c.kind === "iaca" || c.kind === "link" ? "arl" : "crl";
  return set.lists.filter(
    (l) => l.kind === kind && l.info.issuer === c.info.issuer && l.info.aki === signerKeyId(c.info),
  );
}

/** Listed on any list of the key that signed it (a key's CRL and ARL both list all it revoked). */
function listedOn(set: PublishedSet, c: PublishedCertificate): boolean {
  return set.lists.some(
    (l) =>
      l.info.issuer === c.info.issuer &&
      l.info.aki === signerKeyId(c.info) &&
      l.info.revokedSerials.includes(c.info.serial),
  );
}

export function certificateStatusOf(set: PublishedSet, c: PublishedCertificate, now: Date): CertStatus {
  const t = now.getTime();
  if ((c.revokedAt && c.revokedAt.getTime() <= t) || listedOn(set, c)) return "revoked";
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
