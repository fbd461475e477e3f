// Idempotency-Key records (draft-ietf-httpapi-idempotency-key-header): one row per (client, key).
import type { Sql } from "../sql.ts";

/** What `begin` found for a (client, key). */
export type IdempotencyBegin =
  | { kind: "new"; id: string }
  /** A previous attempt of this request did not finish (crash, error): re-run it under the same id. */
  | { kind: "retry"; id: string; attempts: number }
  | { kind: "replay"; id: string; response: Buffer }
  | { kind: "mismatch" }
  | { kind: "in-progress" };

export interface IdempotencyAttempt {
  /** Id of the record when this is the first attempt. */
  id: string;
  clientId: string;
  key: string;
  route: string;
  bodySha256: string;
  /** This process: `<instance>:<boot id>`. */
  owner: string;
  /** Rows owned by `<instance>:<another boot id>` belong to a dead incarnation of this instance. */
  instance: string;
  leaseUntil: Date;
  expiresAt: Date;
  now: Date;
}

/** ra_request (owner: apps/ra). */
export class IdempotencyStore {
  private readonly sql: Sql;
  constructor(sql: Sql) {
    this.sql = sql;
  }

  /**
   * The first request inserts the record (pending, leased to `owner`); a concurrent duplicate gets
   * `in-progress`; a finished one is replayed; an attempt that died (crash of this instance, an
   * expired lease) or failed is taken over and re-run under the same id.
   */
  async begin(a: IdempotencyAttempt): Promise<IdempotencyBegin> {
    const inserted = await this.sql.query(
      `INSERT INTO ra_request (id, client_id, idempotency_key, route, body_sha256, state, owner, lease_until, expires_at)
       VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8)
       ON CONFLICT (client_id, idempotency_key) DO NOTHING RETURNING id`,
      [a.id, a.clientId, a.key, a.route, a.bodySha256, a.owner, a.leaseUntil, a.expiresAt],
    );
    if (inserted.length === 1) return { kind: "new", id: a.id };
    const [row] = await this.sql.query<{
      id: string;
      route: string;
      body_sha256: string;
      state: string;
      response: Buffer | Uint8Array | null;
    }>(`SELECT id, route, body_sha256, state, response FROM ra_request WHERE client_id = $1 AND idempotency_key = $2`, [
      a.clientId,
      a.key,
    ]);
    if (!row) return this.begin(a); // purged in between
    if (row.route !== a.route || row.body_sha256 !== a.bodySha256) return { kind: "mismatch" };
    if (row.state === "done" && row.response)
      return { kind: "replay", id: row.id, response: Buffer.from(row.response) };
    // Take over a failed attempt, an expired lease, or one owned by a previous incarnation of this instance.
    const taken = await this.sql.query<{ attempts: number }>(
      `UPDATE ra_request SET state = 'pending', owner = $2, lease_until = $3, attempts = attempts + 1
        WHERE id = $1 AND (state = 'retryable'
           OR (state = 'pending' AND (lease_until < $4 OR (owner LIKE $5 AND owner <> $2))))
        RETURNING attempts`,
      [row.id, a.owner, a.leaseUntil, a.now, `${likeEscape(a.instance)}:%`],
    );
    if (taken.length === 1) return { kind: "retry", id: row.id, attempts: Number(taken[0]!.attempts) };
    return { kind: "in-progress" };
  }

  /** Keeps the (sealed) response for replay. */
  async complete(id: string, status: number, response: Uint8Array): Promise<void> {
    await this.sql.query(`UPDATE ra_request SET state = 'done', status = $2, response = $3 WHERE id = $1`, [
      id,
      status,
      Buffer.from(response.buffer, response.byteOffset, response.byteLength),
    ]);
  }

  /** The attempt of `owner` ended without a response worth replaying: the same key and body may run again. */
  async release(id: string, owner: string): Promise<void> {
    await this.sql.query(`UPDATE ra_request SET state = 'retryable' WHERE id = $1 AND owner = $2`, [id, owner]);
  }

  /** Deletes finished records that expired before `before`; returns how many. */
  async purge(before: Date): Promise<number> {
    const rows = await this.sql.query(
      `DELETE FROM ra_request WHERE expires_at < $1 AND state <> 'pending' RETURNING id`,
      [before],
    );
    return rows.length;
  }
}

function likeEscape(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}
