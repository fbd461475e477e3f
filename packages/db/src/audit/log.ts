import type { AuditEventInput, AuditSink } from "@iaca/policy";
import {
  AUDIT_APPEND_ONLY,
  AUDIT_CHAIN_HASH_LINKED,
  AUDIT_EVENTS_RECORDED,
  AUDIT_TIME_DB_CLOCK,
  AUDIT_TIME_MONOTONIC,
} from "../controls.ts";
import type { Database } from "../database.ts";
import { AuditError } from "../errors.ts";
import { advisoryKey, type Sql, valuesRows } from "../sql.ts";
import { auditHash, canonicalJson, GENESIS_HASH } from "./canonical.ts";
import { auditSucceeded } from "./rows.ts";

/** Transaction-scoped advisory lock serialising appends across processes (audit.append-only). */
export const AUDIT_LOCK_KEY = "iaca.audit_event.append";

const OUTCOMES = new Set(["success", "failure", "denied"]);

export interface AppendedAuditEvent {
  seq: number;
  at: Date;
  hash: string;
}

/** Checks an event has every field 5.4.1 requires and JSON-only details; returns the details to store. */
export function validateAuditEvent(event: AuditEventInput): Record<string, unknown> {
  const bad = (field: string, why: string): never => {
    throw new AuditError("DB_AUDIT_INVALID_EVENT", `audit event ${field} ${why}`, {
      field,
      control: AUDIT_EVENTS_RECORDED.id,
    });
  };
  if (typeof event.actor !== "string" || event.actor.trim() === "") bad("actor", "must be a non-empty id");
  if (typeof event.action !== "string" || event.action.trim() === "") bad("action", "must be a non-empty verb");
  if (!Array.isArray(event.targets) || event.targets.some((t) => typeof t !== "string"))
    bad("targets", "must be an array of ids");
  if (!OUTCOMES.has(event.outcome)) bad("outcome", "must be success, failure or denied");
  if (!event.clause || typeof event.clause.id !== "string" || event.clause.id === "")
    bad("clause", "must be a CP/CPS clause from clause()");
  const details = event.details ?? {};
  if (typeof details !== "object" || Array.isArray(details)) bad("details", "must be an object");
  let json: string;
  try {
    json = JSON.stringify(details);
  } catch (e) {
    return bad("details", `is not JSON: ${(e as Error).message}`);
  }
  if (json.includes("\\u0000")) bad("details", "must not contain NUL characters");
  // Dates become ISO strings, undefined members disappear: store and hash what JSON keeps.
  const plain = JSON.parse(json) as Record<string, unknown>;
  canonicalJson(plain);
  return plain;
}

/**
 * The hash-chained audit table as an AuditSink. Each append takes a transaction-scoped
 * advisory lock, reads the head, and inserts seq+1 with prev = head hash, so concurrent
 * writers in any number of processes produce one unforked chain (audit.chain.hash-linked).
 */
export class AuditLog implements AuditSink {
  /** The controls this class enforces. */
  static readonly controls = [
    AUDIT_EVENTS_RECORDED,
    AUDIT_CHAIN_HASH_LINKED,
    AUDIT_APPEND_ONLY,
    AUDIT_TIME_DB_CLOCK,
    AUDIT_TIME_MONOTONIC,
  ] as const;

  private readonly db: Pick<Database, "sql">;
  constructor(db: Pick<Database, "sql">) {
    this.db = db;
  }

  async append(event: AuditEventInput): Promise<AppendedAuditEvent> {
    const details = validateAuditEvent(event);
    return this.db.sql.transaction(async (tx) => (await appendIn(tx, [event], [details]))[0]!);
  }

  /**
   * Appends several events in order in one transaction under one lock: consecutive seq, each
   * row's prev = the hash of the row before it, one database time for all (read under the lock).
   * Either every event is recorded or none is. Validates every event before touching the table.
   */
  async appendMany(events: readonly AuditEventInput[]): Promise<AppendedAuditEvent[]> {
    if (events.length === 0) return [];
    const details = events.map((e) => validateAuditEvent(e));
    return this.db.sql.transaction((tx) => appendIn(tx, events, details));
  }

  /** Whether `action` already succeeded for `target` (see auditSucceeded). */
  succeeded(action: string, target: string): Promise<boolean> {
    return auditSucceeded(this.db.sql, action, target);
  }
}

/** Rows per INSERT statement (10 parameters each; well below PostgreSQL's 65535 limit). */
const INSERT_CHUNK = 500;

/**
 * Appends validated events inside the caller's transaction (a store that must record a fact and
 * its audit event atomically, e.g. an issuance batch's completion). Same lock and chain as AuditLog.
 */
export function appendAuditIn(tx: Sql, events: readonly AuditEventInput[]): Promise<AppendedAuditEvent[]> {
  return appendIn(
    tx,
    events,
    events.map((e) => validateAuditEvent(e)),
  );
}

async function appendIn(
  tx: Sql,
  events: readonly AuditEventInput[],
  details: readonly Record<string, unknown>[],
): Promise<AppendedAuditEvent[]> {
  await tx.query("SELECT pg_advisory_xact_lock($1::bigint)", [advisoryKey(AUDIT_LOCK_KEY)]);
  // After the lock: the previous holder has committed, and READ COMMITTED gives this statement a fresh snapshot.
  // AUDIT_TIME_DB_CLOCK: the time is the database's, read now (under the lock), never the caller's.
  // AUDIT_TIME_MONOTONIC: a clock that stepped back below the head's time is held at the head's time.
  const [head] = await tx.query<{ seq: unknown; hash: string; now: Date }>(
    `SELECT h.seq, h.hash, GREATEST(date_trunc('milliseconds', clock_timestamp()), h.at) AS now
       FROM (SELECT 1) AS one LEFT JOIN LATERAL
            (SELECT seq, hash, at FROM audit_event ORDER BY seq DESC LIMIT 1) AS h ON true`,
  );
  let seq = head?.seq == null ? 0 : Number(head.seq);
  let prev = head?.seq == null ? GENESIS_HASH : String(head.hash);
  const at = head?.now instanceof Date ? head.now : new Date(String(head?.now));
  const out: AppendedAuditEvent[] = [];
  const rows: unknown[][] = [];
  events.forEach((event, i) => {
    seq++;
    const record = {
      seq,
      at: at.toISOString(),
      actor: event.actor,
      action: event.action,
      targets: [...event.targets],
      outcome: event.outcome,
      clause: event.clause.id,
      details: details[i]!,
      prev,
    };
    const hash = auditHash(record);
    rows.push([
      String(seq),
      record.at,
      record.actor,
      record.action,
      record.targets,
      record.outcome,
      record.clause,
      JSON.stringify(record.details),
      prev,
      hash,
    ]);
    out.push({ seq, at, hash });
    prev = hash;
  });
  for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
    const values = valuesRows(["", "", "", "", "", "", "", "::jsonb", "", ""], rows.slice(i, i + INSERT_CHUNK));
    await tx.query(
      `INSERT INTO audit_event (seq, at, actor, action, targets, outcome, clause, details, prev_hash, hash)
       VALUES ${values.sql}`,
      values.params,
    );
  }
  return out;
}
