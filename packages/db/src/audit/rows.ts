import type { Row, Sql } from "../sql.ts";
import type { AuditRecord } from "./canonical.ts";

/** A stored audit row: the hashed record plus its stored hash. */
export interface AuditRow extends AuditRecord {
  hash: string;
}

export const AUDIT_COLUMNS = `seq, at, actor, action, targets, outcome, clause, details, prev_hash, hash`;

export function toAuditRow(r: Row): AuditRow {
  const at = r.at instanceof Date ? r.at : new Date(String(r.at));
  const details = typeof r.details === "string" ? JSON.parse(r.details) : r.details;
  return {
    seq: Number(r.seq),
    at: at.toISOString(),
    actor: String(r.actor),
    action: String(r.action),
    targets: ((r.targets as unknown[] | null) ?? []).map(String),
    outcome: String(r.outcome),
    clause: String(r.clause),
    details: (details ?? {}) as Record<string, unknown>,
    prev: String(r.prev_hash),
    hash: String(r.hash),
  };
}

/**
 * Whether `action` already succeeded for `target` (the rotation job's "already done?" check).
 * Served by the index on action (migration *_audit_action_index): the log grows with every
 * issuance batch, the actions asked about are rare.
 */
export const AUDIT_SUCCEEDED_SQL = `SELECT 1 AS n FROM audit_event WHERE action = $1 AND $2 = ANY(targets) AND outcome = 'success' LIMIT 1`;

export async function auditSucceeded(sql: Sql, action: string, target: string): Promise<boolean> {
  return (await sql.query(AUDIT_SUCCEEDED_SQL, [action, target])).length > 0;
}
