import type { Sql } from "@iaca/db";
import { sha256 } from "@iaca/pki";
import type { CertKind, PublishedCertificateInput, PublishedSetInput, PublishedTrustListInput } from "./published.ts";
import type { DtsSource } from "./publisher.ts";
import type { SignedTrustList } from "./vical.ts";

// Reads packages/pki's tables (pki_certificate, pki_crl) and its own dts_trust_list with raw SQL,
// so the DTS needs no write access to the PKI's tables except through install-crl.

const KIND: Record<string, CertKind> = { iaca: "iaca", link: "link", ds: "ds", "tsl-signer": "trust-list-signer" };

interface CertRow {
  kind: string;
  der: Uint8Array;
  activates_at: Date | null;
  installed_at: Date | null;
  retired_at: Date | null;
  revoked_at: Date | null;
  created_at: Date;
}

interface CrlRow {
  kind: string;
  number: string | bigint | number;
  der: Uint8Array;
}

interface TrustListRow {
  issue_id: number;
  issued_at: Date;
  next_update: Date;
  content_digest: string;
  cose: Uint8Array;
}

const bytes = (b: Uint8Array) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

/** What a list revokes: CRL and ARL are both complete lists of every certificate the IACA signed. */
const LISTED_KINDS = ["iaca", "link", "ds", "tsl-signer"];

/** The DTS source over the operations database. */
export class DbSource implements DtsSource {
  constructor(private readonly sql: Sql) {}

  async load(): Promise<PublishedSetInput> {
    const certs = await this.sql.query<CertRow>(
      `SELECT kind, der, activates_at, installed_at, retired_at, revoked_at, created_at
         FROM pki_certificate WHERE kind IN ('iaca', 'link', 'ds', 'tsl-signer') ORDER BY not_before, serial`,
    );
    const lists = await this.sql.query<CrlRow>(
      `SELECT DISTINCT ON (kind) kind, number, der FROM pki_crl WHERE kind IN ('crl', 'arl') ORDER BY kind, number DESC`,
    );
    const [tl] = await this.sql.query<TrustListRow>(
      `SELECT issue_id, issued_at, next_update, content_digest, cose FROM dts_trust_list ORDER BY issue_id DESC LIMIT 1`,
    );
    const certificates: PublishedCertificateInput[] = certs.map((r) => {
      const kind = KIND[r.kind]!;
      return {
        der: bytes(r.der),
        kind,
        publishedAt: r.installed_at ?? r.created_at,
        ...(r.activates_at && kind === "ds" ? { activeFrom: r.activates_at } : {}),
        ...(r.retired_at ? { activeUntil: r.retired_at } : {}),
        ...(r.revoked_at ? { revokedAt: r.revoked_at } : {}),
      };
    });
    const trustList: PublishedTrustListInput | undefined = tl
      ? {
          cose: bytes(tl.cose),
          issueId: Number(tl.issue_id),
          date: tl.issued_at,
          nextUpdate: tl.next_update,
          contentDigest: tl.content_digest.trim(),
        }
      : undefined;
    return {
      certificates,
      crl: lists.find((l) => l.kind === "crl")?.der,
      arl: lists.find((l) => l.kind === "arl")?.der,
      trustList,
    };
  }

  /** Records an issue; a concurrent replica that signed the same issue id first wins (ON CONFLICT). */
  async saveTrustList(issue: SignedTrustList): Promise<void> {
    await this.sql.query(
      `INSERT INTO dts_trust_list (issue_id, issued_at, next_update, content_digest, signer_sha256, cose, sha256)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (issue_id) DO NOTHING`,
      [
        issue.issueId,
        issue.date,
        issue.nextUpdate,
        issue.contentDigest,
        issue.signerSha256,
        Buffer.from(issue.cose),
        sha256(issue.cose),
      ],
    );
  }

  /** Highest installed CRL number of a list (undefined when none). */
  async latestCrlNumber(kind: "crl" | "arl"): Promise<bigint | undefined> {
    const [r] = await this.sql.query<{ n: string | bigint | null }>(
      `SELECT max(number) AS n FROM pki_crl WHERE kind = $1`,
      [kind],
    );
    return r?.n === null || r?.n === undefined ? undefined : BigInt(r.n);
  }

  /**
   * Stores a verified list and, in the same transaction, marks the certificates it lists as
   * revoked here (either list names every revoked certificate of the IACA). The root room
   * revokes in its own offline database; this is how the operations room learns of it, so the
   * issuer stops signing with a revoked DS key and the rotation job retires it. Returns the
   * serials newly marked.
   */
  async insertCrl(
    l: { kind: "crl" | "arl"; number: bigint; thisUpdate: Date; nextUpdate: Date; der: Uint8Array },
    revoked: { serial: string; at: Date }[] = [],
  ): Promise<string[]> {
    return this.sql.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO pki_crl (kind, number, this_update, next_update, der, sha256) VALUES ($1, $2, $3, $4, $5, $6)`,
        [l.kind, l.number.toString(), l.thisUpdate, l.nextUpdate, Buffer.from(l.der), sha256(l.der)],
      );
      if (revoked.length === 0) return [];
      const rows = await tx.query<{ serial: string }>(
        `UPDATE pki_certificate AS c SET revoked_at = v.at
           FROM unnest($1::text[], $2::timestamptz[]) AS v (serial, at)
          WHERE c.serial = v.serial AND c.revoked_at IS NULL AND c.kind = ANY($3::text[])
          RETURNING c.serial`,
        [revoked.map((r) => r.serial), revoked.map((r) => r.at), LISTED_KINDS],
      );
      return rows.map((r) => r.serial).sort();
    });
  }
}
