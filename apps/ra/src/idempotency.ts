import { createHash, randomUUID } from "node:crypto";
import type { Sql } from "@iaca/db";
import { IDEMPOTENCY } from "./controls.ts";

void IDEMPOTENCY; // the control this module enforces

export type Begin =
  | { kind: "new"; id: string }
  /** A previous attempt of this request did not finish (crash, error): re-run it under the same id. */
  | { kind: "retry"; id: string; attempts: number }
  | { kind: "replay"; id: string; response: Buffer }
  | { kind: "mismatch" }
  | { kind: "in-progress" };

/** SHA-256 over the route and the canonical JSON body: the request fingerprint. */
export function requestHash(route: string, body: unknown): string {
  return createHash("sha256").update(route).update("\n").update(canonicalJson(body)).digest("hex");
}

export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v) ?? "null";
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
    .join(",")}}`;
}

export interface IdempotencyOptions {
  /** This process: `<instance>:<boot id>`. Rows owned by `<instance>:<other boot>` belong to a dead incarnation. */
  instance: string;
  bootId: string;
  /** How long a pending attempt holds the key before another process may take it over. */
  leaseMs: number;
  /** How long a completed response is kept for replay. */
  ttlMs: number;
}

/**
 * Idempotency-Key records (draft-ietf-httpapi-idempotency-key-header). One row per (client, key):
 * the first request inserts it (pending, leased to this process); a concurrent duplicate gets
 * `in-progress`; a finished one is replayed (the caller decrypts the stored response); an attempt
 * that died (crash of this instance, expired lease) or failed is re-run under the same id.
 */
export class IdempotencyStore {
  private readonly owner: string;
  private readonly sql: Sql;
  private readonly opts: IdempotencyOptions;
  constructor(sql: Sql, opts: IdempotencyOptions) {
    this.sql = sql;
    this.opts = opts;
    this.owner = `${opts.instance}:${opts.bootId}`;
  }

  async begin(clientId: string, key: string, route: string, bodyHash: string, now = new Date()): Promise<Begin> {
    const id = randomUUID();
    const lease = new Date(now.getTime() + this.opts.leaseMs);
    const inserted = await this.sql.query(
      `INSERT INTO ra_request (id, client_id, idempotency_key, route, body_sha256, state, owner, lease_until, expires_at)
       VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8)
       ON CONFLICT (client_id, idempotency_key) DO NOTHING RETURNING id`,
      [id, clientId, key, route, bodyHash, this.owner, lease, new Date(now.getTime() + this.opts.ttlMs)],
    );
    if (inserted.length === 1) return { kind: "new", id };
    const [row] = await this.sql.query<{
      id: string;
      route: string;
      body_sha256: string;
      state: string;
      response: Buffer | Uint8Array | null;
    }>(`SELECT id, route, body_sha256, state, response FROM ra_request WHERE client_id = $1 AND idempotency_key = $2`, [
      clientId,
      key,
    ]);
    if (!row) return this.begin(clientId, key, route, bodyHash, now); // purged in between
    if (row.route !== route || row.body_sha256 !== bodyHash) return { kind: "mismatch" };
    if (row.state === "done" && row.response)
      return { kind: "replay", id: row.id, response: Buffer.from(row.response) };
    // Take over a failed attempt, an expired lease, or one owned by a previous incarnation of this instance.
    const taken = await this.sql.query<{ attempts: number }>(
      `UPDATE ra_request SET state = 'pending', owner = $2, lease_until = $3, attempts = attempts + 1
        WHERE id = $1 AND (state = 'retryable'
           OR (state = 'pending' AND (lease_until < $4 OR (owner LIKE $5 AND owner <> $2))))
        RETURNING attempts`,
      [row.id, this.owner, lease, now, `${likeEscape(this.opts.instance)}:%`],
    );
    if (taken.length === 1) return { kind: "retry", id: row.id, attempts: Number(taken[0]!.attempts) };
    return { kind: "in-progress" };
  }

  async complete(id: string, status: number, sealed: Buffer): Promise<void> {
    await this.sql.query(`UPDATE ra_request SET state = 'done', status = $2, response = $3 WHERE id = $1`, [
      id,
      status,
      sealed,
    ]);
  }

  /** The attempt ended without a response worth replaying: the same key and body may run again. */
  async release(id: string): Promise<void> {
    await this.sql.query(`UPDATE ra_request SET state = 'retryable' WHERE id = $1 AND owner = $2`, [id, this.owner]);
  }

  async purge(now = new Date()): Promise<number> {
    const rows = await this.sql.query(
      `DELETE FROM ra_request WHERE expires_at < $1 AND state <> 'pending' RETURNING id`,
      [now],
    );
    return rows.length;
  }
}

function likeEscape(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}
