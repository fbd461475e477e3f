import { createHash } from "node:crypto";

/** prev of the first row. */
export const GENESIS_HASH = "0".repeat(64);

/** One audit row as the chain hashes it. */
export interface AuditRecord {
  seq: number;
  /** ISO 8601 UTC with milliseconds, as Date.prototype.toISOString prints it: "2026-11-25T18:21:53.123Z". */
  at: string;
  actor: string;
  action: string;
  targets: string[];
  outcome: string;
  /** CP/CPS clause id ("5.4.4"). */
  clause: string;
  details: Record<string, unknown>;
  /** hash of the previous row (GENESIS_HASH for seq 1). */
  prev: string;
}

/**
 * Canonical JSON (RFC 8785 JCS for the values JSON can hold): object members sorted by
 * UTF-16 code units of their names, no whitespace, strings and numbers as ECMAScript's
 * JSON.stringify prints them. Members whose value is undefined are left out, as in JSON.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === "boolean" || typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new TypeError("non-finite numbers have no JSON form");
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? "null" : canonicalJson(v))).join(",")}]`;
  if (typeof value === "object") {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj)
      .filter((k) => obj[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(",")}}`;
  }
  throw new TypeError(`${typeof value} has no JSON form`);
}

/**
 * The row hash: lower-case hex SHA-256 of the UTF-8 bytes of
 * canonicalJson({seq, at, actor, action, targets, outcome, clause, details, prev}).
 */
export function auditHash(r: AuditRecord): string {
  return createHash("sha256")
    .update(canonicalJson(hashedFields(r)), "utf8")
    .digest("hex");
}

/** The members the row hash covers, in one place for the hash and the JSON Lines export. */
export function hashedFields(r: AuditRecord) {
  return {
    seq: r.seq,
    at: r.at,
    actor: r.actor,
    action: r.action,
    targets: r.targets,
    outcome: r.outcome,
    clause: r.clause,
    details: r.details,
    prev: r.prev,
  };
}
