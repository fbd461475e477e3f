// What a database owner can do to the audit table, for the tamper tests: SQL with the append-only
// triggers off, and a suffix rewritten with recomputed hashes (the table alone still verifies).
import { auditHash, type Database, GENESIS_HASH } from "@iaca/db";
import pg from "pg";

/** Superuser SQL with triggers off (session_replication_role = replica). */
export async function tamper(url: string, sql: string, params: unknown[] = []): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query("SET session_replication_role = replica");
    await c.query(sql, params);
  } finally {
    await c.end();
  }
}

/** Rewrites row `from` (its actor) and recomputes every later hash. */
export async function rewriteAuditFrom(db: Pick<Database, "sql">, url: string, from: number): Promise<void> {
  const rows = await db.sql.query<Record<string, unknown>>("SELECT * FROM audit_event WHERE seq >= $1 ORDER BY seq", [
    from,
  ]);
  const [before] = await db.sql.query<{ hash: string }>("SELECT hash FROM audit_event WHERE seq = $1", [from - 1]);
  let prev = before?.hash ?? GENESIS_HASH;
  for (const r of rows) {
    const rec = {
      seq: Number(r.seq),
      at: (r.at as Date).toISOString(),
      actor: Number(r.seq) === from ? "op:mallory" : String(r.actor),
      action: String(r.action),
      targets: r.targets as string[],
      outcome: String(r.outcome),
      clause: String(r.clause),
      details: r.details as Record<string, unknown>,
      prev,
    };
    const hash = auditHash(rec);
    await tamper(url, "UPDATE audit_event SET actor = $1, prev_hash = $2, hash = $3 WHERE seq = $4", [
      rec.actor,
      prev,
      hash,
      rec.seq,
    ]);
    prev = hash;
  }
}
