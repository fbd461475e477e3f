import { randomBytes } from "node:crypto";
import type { Sql } from "@iaca/db";
import { PROOF_DEVICE_KEY } from "./controls.ts";
import { ProblemError } from "./problem.ts";

void PROOF_DEVICE_KEY; // the control this module enforces

/** Single-use proof-of-possession nonces, bound to the client they were issued to. */
export class NonceStore {
  private readonly sql: Sql;
  private readonly ttlMs: number;
  constructor(sql: Sql, ttlMs: number) {
    this.sql = sql;
    this.ttlMs = ttlMs;
  }

  async issue(clientId: string, now = new Date()): Promise<{ nonce: string; expiresAt: Date }> {
    const nonce = randomBytes(24).toString("base64url");
    const expiresAt = new Date(now.getTime() + this.ttlMs);
    await this.sql.query(`INSERT INTO ra_nonce (value, client_id, expires_at) VALUES ($1, $2, $3)`, [
      nonce,
      clientId,
      expiresAt,
    ]);
    return { nonce, expiresAt };
  }

  /**
   * Consumes a nonce for `requestId`. A nonce is used once; the same request (its crash-retry
   * under the same Idempotency-Key) may present it again.
   */
  async consume(nonce: string, clientId: string, requestId: string, now = new Date()): Promise<void> {
    const rows = await this.sql.query(
      `UPDATE ra_nonce SET used_at = $4, used_by = $3
        WHERE value = $1 AND client_id = $2 AND expires_at > $4 AND (used_at IS NULL OR used_by = $3)
        RETURNING value`,
      [nonce, clientId, requestId, now],
    );
    if (rows.length === 1) return;
    const [row] = await this.sql.query<{ client_id: string; expires_at: Date; used_at: Date | null }>(
      `SELECT client_id, expires_at, used_at FROM ra_nonce WHERE value = $1`,
      [nonce],
    );
    if (!row || row.client_id !== clientId)
      throw new ProblemError("nonce-unknown", "the nonce was not issued to this client");
    if (row.used_at) throw new ProblemError("proof-replayed", "the nonce has already been used");
    throw new ProblemError("nonce-expired", "the nonce has expired; request a new one");
  }

  /** Deletes nonces that expired more than a minute ago. */
  async purge(now = new Date()): Promise<number> {
    const rows = await this.sql.query(`DELETE FROM ra_nonce WHERE expires_at < $1 RETURNING value`, [
      new Date(now.getTime() - 60_000),
    ]);
    return rows.length;
  }
}
