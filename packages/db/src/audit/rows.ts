import type { Row } from "../sql.ts";
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
