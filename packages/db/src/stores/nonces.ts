// Single-use proof-of-possession nonces, bound to the client they were issued to.
import type { Sql } from "../sql.ts";

/** What consuming a nonce found: it is now used, or why not. */
export type NonceUse = "consumed" | "unknown" | "replayed" | "expired";

/** ra_nonce (owner: apps/ra). */
export class NonceStore {
  private readonly sql: Sql;
  constructor(sql: Sql) {
    this.sql = sql;
  }

  async add(value: string, clientId: string, expiresAt: Date): Promise<void> {
    await this.sql.query(`INSERT INTO ra_nonce (value, client_id, expires_at) VALUES ($1, $2, $3)`, [
      value,
      clientId,
      expiresAt,
    ]);
  }

  /**
   * Consumes a nonce of `clientId` for `requestId`: used once, though the same request (its
   * crash-retry) may present it again. Otherwise says why not: not this client's (or none),
   * used by another request, or expired.
   */
  async consume(value: string, clientId: string, requestId: string, now: Date): Promise<NonceUse> {
    const rows = await this.sql.query(
      `UPDATE ra_nonce SET used_at = $4, used_by = $3
        WHERE value = $1 AND client_id = $2 AND expires_at > $4 AND (used_at IS NULL OR used_by = $3)
        RETURNING value`,
      [value, clientId, requestId, now],
    );
    if (rows.length === 1) return "consumed";
    const [row] = await this.sql.query<{ client_id: string; expires_at: Date; used_at: Date | null }>(
      `SELECT client_id, expires_at, used_at FROM ra_nonce WHERE value = $1`,
      [value],
    );
    if (!row || row.client_id !== clientId) return "unknown";
    if (row.used_at) return "replayed";
    return "expired";
  }

  /** Deletes nonces that expired before `before`; returns how many. */
  async purge(before: Date): Promise<number> {
    const rows = await this.sql.query(`DELETE FROM ra_nonce WHERE expires_at < $1 RETURNING value`, [before]);
    return rows.length;
  }
}
