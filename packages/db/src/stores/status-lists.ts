// Token Status Lists: the lists (size, index-permutation key, positions handed out, version of
// their content, the last signed token) and their entries that are not VALID. Status changes go
// through IssuanceStore, which writes the entry and bumps the list's version in the same statement.
import { randomBytes } from "node:crypto";
import type { Sql } from "../sql.ts";

export interface StatusListInfo {
  listNo: number;
  bits: number;
  size: number;
  prpKey: Uint8Array;
}

/** A block of consecutive positions of one list, handed out to one issuer process. */
export interface StatusBlock extends StatusListInfo {
  /** First position of the block (positions first .. first+count-1). */
  first: number;
  count: number;
}

export interface StatusListState {
  listNo: number;
  bits: number;
  size: number;
  version: number;
  signedVersion: number | null;
  expiresAt: Date | null;
}

export interface SignedStatusList {
  listNo: number;
  token: Uint8Array;
  tokenSha256: string;
  signedAt: Date;
  expiresAt: Date;
}

type ListRow = { list_no: number; bits: number; size: number; prp_key: Uint8Array };
const info = (r: ListRow): StatusListInfo => ({
  listNo: Number(r.list_no),
  bits: Number(r.bits),
  size: Number(r.size),
  prpKey: new Uint8Array(r.prp_key),
});

/** status_list (owner: apps/issuer allocates, the status publisher signs, apps/dts serves). */
export class StatusListStore {
  private readonly sql: Sql;
  constructor(sql: Sql) {
    this.sql = sql;
  }

  /**
   * Hands out `count` consecutive positions of the newest list (one row-level UPDATE); when the
   * newest list cannot hold them, opens the next list (size and bits from the caller's policy) and
   * takes them there. The rest of a full list's positions stay unused (and VALID).
   */
  async reserve(count: number, open: { size: number; bits: number }): Promise<StatusBlock> {
    if (count > open.size) throw new RangeError(`cannot reserve ${count} positions in lists of ${open.size}`);
    for (let attempt = 0; attempt < 5; attempt++) {
      const [r] = await this.sql.query<ListRow & { first: number }>(
        `UPDATE status_list SET allocated = allocated + $1
          WHERE list_no = (SELECT max(list_no) FROM status_list) AND allocated + $1 <= size
          RETURNING list_no, bits, size, prp_key, allocated - $1 AS first`,
        [count],
      );
      if (r) return { ...info(r), first: Number(r.first), count };
      // a concurrent process may open the same list number: one insert wins, both retry the UPDATE
      await this.sql.query(
        `INSERT INTO status_list (list_no, bits, size, prp_key)
         SELECT coalesce(max(list_no), 0) + 1, $1, $2, $3 FROM status_list
         ON CONFLICT (list_no) DO NOTHING`,
        [open.bits, open.size, randomBytes(32)],
      );
    }
    throw new Error("status list reservation did not settle after 5 attempts");
  }

  /** Every list with its content version and the version/expiry of its last signed token. */
  async states(): Promise<StatusListState[]> {
    const rows = await this.sql.query<{
      list_no: number;
      bits: number;
      size: number;
      version: number;
      signed_version: number | null;
      expires_at: Date | null;
    }>(`SELECT list_no, bits, size, version, signed_version, expires_at FROM status_list ORDER BY list_no`);
    return rows.map((r) => ({
      listNo: Number(r.list_no),
      bits: Number(r.bits),
      size: Number(r.size),
      version: Number(r.version),
      signedVersion: r.signed_version === null ? null : Number(r.signed_version),
      expiresAt: r.expires_at,
    }));
  }

  /**
   * The entries of a list that are not VALID (status_list_entry, written with each status change),
   * read with the list's version in one snapshot: the token signed from them carries that version.
   */
  async entries(listNo: number): Promise<{ version: number; revoked: number[]; suspended: number[] }> {
    return this.sql.transaction(async (tx) => {
      await tx.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
      const [v] = await tx.query<{ version: number }>(`SELECT version FROM status_list WHERE list_no = $1`, [listNo]);
      const rows = await tx.query<{ idx: number; status: number }>(
        `SELECT idx, status FROM status_list_entry WHERE list_no = $1 AND status <> 0`,
        [listNo],
      );
      return {
        version: Number(v?.version ?? 0),
        revoked: rows.filter((r) => Number(r.status) === 1).map((r) => Number(r.idx)),
        suspended: rows.filter((r) => Number(r.status) === 2).map((r) => Number(r.idx)),
      };
    });
  }

  /** Stores a signed token for `version` unless a token of a newer version is already there. */
  async saveToken(t: SignedStatusList & { version: number }): Promise<boolean> {
    const rows = await this.sql.query(
      `UPDATE status_list SET token = $2, token_sha256 = $3, signed_version = $4, signed_at = $5, expires_at = $6
        WHERE list_no = $1 AND (signed_version IS NULL OR signed_version <= $4) RETURNING list_no`,
      [t.listNo, t.token, t.tokenSha256, t.version, t.signedAt, t.expiresAt],
    );
    return rows.length > 0;
  }

  /** The last signed token of every list that has one (what the DTS publishes). */
  async tokens(): Promise<SignedStatusList[]> {
    const rows = await this.sql.query<{
      list_no: number;
      token: Uint8Array;
      token_sha256: string;
      signed_at: Date;
      expires_at: Date;
    }>(
      `SELECT list_no, token, token_sha256, signed_at, expires_at FROM status_list WHERE token IS NOT NULL ORDER BY list_no`,
    );
    return rows.map((r) => ({
      listNo: Number(r.list_no),
      token: new Uint8Array(r.token),
      tokenSha256: r.token_sha256,
      signedAt: r.signed_at,
      expiresAt: r.expires_at,
    }));
  }
}
