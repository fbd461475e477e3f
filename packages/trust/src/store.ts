import type { CertificateKind, ListKind, NewList, Stores } from "@iaca/db";
import { LISTED_KINDS } from "@iaca/db";
import { sha256 } from "@iaca/pki";
import type { CertKind, PublishedCertificateInput, PublishedSetInput, PublishedTrustListInput } from "./published.ts";
import type { DtsSource } from "./publisher.ts";
import type { SignedTrustList } from "./vical.ts";

// Reads packages/pki's records (certificates, CRL/ARL) and the DTS's own trust-list issues through
// their stores, so the DTS writes the PKI's tables only through install-crl.

const KIND: Record<CertificateKind, CertKind> = {
  iaca: "iaca",
  link: "link",
  ds: "ds",
  "tsl-signer": "trust-list-signer",
  "status-signer": "status-list-signer",
};

/** The DTS source over the operations database. */
export class DbSource implements DtsSource {
  private readonly stores: Pick<Stores, "certificates" | "trustLists" | "statusLists">;
  constructor(stores: Pick<Stores, "certificates" | "trustLists" | "statusLists">) {
    this.stores = stores;
  }

  async load(): Promise<PublishedSetInput> {
    const certs = await this.stores.certificates.ofKinds(LISTED_KINDS);
    const lists = await this.stores.certificates.latestLists();
    const tl = await this.stores.trustLists.latest();
    const certificates: PublishedCertificateInput[] = certs.map((r) => {
      const kind = KIND[r.kind];
      return {
        der: r.der,
        kind,
        publishedAt: r.installedAt ?? r.createdAt,
        ...(r.activatesAt && kind === "ds" ? { activeFrom: r.activatesAt } : {}),
        ...(r.retiredAt ? { activeUntil: r.retiredAt } : {}),
        ...(r.revokedAt ? { revokedAt: r.revokedAt } : {}),
      };
    });
    const trustList: PublishedTrustListInput | undefined = tl
      ? {
          cose: tl.cose,
          issueId: tl.issueId,
          date: tl.issuedAt,
          nextUpdate: tl.nextUpdate,
          contentDigest: tl.contentDigest,
        }
      : undefined;
    return {
      certificates,
      lists: lists.map((l) => ({ kind: l.kind, der: l.der })),
      trustList,
      statusLists: (await this.stores.statusLists.tokens()).map((t) => ({
        listNo: t.listNo,
        token: t.token,
        signedAt: t.signedAt,
        expiresAt: t.expiresAt,
      })),
    };
  }

  /** Records an issue; a concurrent replica that signed the same issue id first wins. */
  async saveTrustList(issue: SignedTrustList): Promise<void> {
    await this.stores.trustLists.save({
      issueId: issue.issueId,
      issuedAt: issue.date,
      nextUpdate: issue.nextUpdate,
      contentDigest: issue.contentDigest,
      signerSha256: issue.signerSha256,
      cose: issue.cose,
      sha256: sha256(issue.cose),
    });
  }

  /** Highest installed CRL number of a list of one kind and root key (undefined when none). */
  async latestCrlNumber(kind: ListKind, rootGen: number): Promise<bigint | undefined> {
    return (await this.stores.certificates.latestList(kind, rootGen))?.number;
  }

  /**
   * Stores a verified list and, in the same transaction, marks the certificates it lists as
   * revoked here (either list of a root key names every revoked certificate that key signed). The root room
   * revokes in its own offline database; this is how the operations room learns of it, so the
   * issuer stops signing with a revoked DS key and the rotation job retires it. Returns the
   * serials newly marked.
   */
  async insertCrl(
    l: Omit<NewList, "sha256">,
    revoked: readonly { serial: string; at: Date }[] = [],
  ): Promise<string[]> {
    return this.stores.certificates.installList({ ...l, sha256: sha256(l.der) }, revoked);
  }
}
