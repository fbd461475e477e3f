// The signed trust lists the DTS published (VICAL-style COSE_Sign1); the highest issue is current.
import type { Sql } from "../sql.ts";
import { bytes } from "./values.ts";

export interface TrustListIssue {
  issueId: number;
  issuedAt: Date;
  nextUpdate: Date;
  /** SHA-256 over what the issue asserts; a change means re-sign. */
  contentDigest: string;
  cose: Uint8Array;
}

export interface NewTrustListIssue extends TrustListIssue {
  /** SHA-256 of the trust-list signer certificate. */
  signerSha256: string;
  /** SHA-256 of `cose`. */
  sha256: string;
}

/** dts_trust_list (owner: apps/dts). */
export class TrustListStore {
  private readonly sql: Sql;
  constructor(sql: Sql) {
    this.sql = sql;
  }

  async latest(): Promise<TrustListIssue | undefined> {
    const [tl] = await this.sql.query<{
      issue_id: number;
      issued_at: Date;
      next_update: Date;
      content_digest: string;
      cose: Uint8Array;
    }>(
      `SELECT issue_id, issued_at, next_update, content_digest, cose FROM dts_trust_list ORDER BY issue_id DESC LIMIT 1`,
    );
    return tl
      ? {
          issueId: Number(tl.issue_id),
          issuedAt: tl.issued_at,
          nextUpdate: tl.next_update,
          contentDigest: tl.content_digest.trim(),
          cose: bytes(tl.cose),
        }
      : undefined;
  }

  async latestIssueId(): Promise<number | undefined> {
    const [r] = await this.sql.query<{ n: number | null }>("SELECT max(issue_id) AS n FROM dts_trust_list");
    return r?.n == null ? undefined : Number(r.n);
  }

  /** Records an issue; a concurrent replica that stored the same issue id first wins (ON CONFLICT). */
  async save(issue: NewTrustListIssue): Promise<void> {
    await this.sql.query(
      `INSERT INTO dts_trust_list (issue_id, issued_at, next_update, content_digest, signer_sha256, cose, sha256)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (issue_id) DO NOTHING`,
      [
        issue.issueId,
        issue.issuedAt,
        issue.nextUpdate,
        issue.contentDigest,
        issue.signerSha256,
        Buffer.from(issue.cose),
        issue.sha256,
      ],
    );
  }
}
