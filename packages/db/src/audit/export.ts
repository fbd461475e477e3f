import type { Database } from "../database.ts";
import { GENESIS_HASH } from "./canonical.ts";
import { AUDIT_COLUMNS, toAuditRow } from "./rows.ts";

export interface AuditExportResult {
  /** Rows written. */
  count: number;
  /** The chain head written as the last line. */
  head: { seq: number; hash: string };
}

export interface ExportAuditOptions {
  /** Export rows with seq greater than this (incremental archives chain on to the previous head). */
  after?: number;
  batchSize?: number;
}

interface LineSink {
  write(chunk: string): boolean;
  once(event: "drain", listener: () => void): unknown;
}

/**
 * Writes the audit log as JSON Lines for external archiving: one object per row
 * `{seq, at, actor, action, targets, outcome, clause, details, prev, hash}` (hash =
 * SHA-256 of the canonical JSON of the other members, see canonical.ts), then
 * `{"head": {seq, hash, count, exportedAt}}` as the last line. Keep the head elsewhere and
 * pass it to verifyAuditChain({ expectedHead }) later to detect truncation or rewriting.
 * Rows appended while exporting are left for the next export.
 */
export async function exportAudit(
  db: Pick<Database, "sql">,
  out: LineSink,
  options: ExportAuditOptions = {},
): Promise<AuditExportResult> {
  const batch = options.batchSize ?? 1000;
  const write = async (line: string) => {
    if (!out.write(`${line}\n`)) await new Promise<void>((resolve) => out.once("drain", resolve));
  };
  const [top] = await db.sql.query<{ max: unknown; hash: string | null }>(
    "SELECT seq AS max, hash FROM audit_event ORDER BY seq DESC LIMIT 1",
  );
  const last = top?.max == null ? 0 : Number(top.max);
  let after = options.after ?? 0;
  let head = { seq: after, hash: GENESIS_HASH };
  if (after > 0) {
    const [row] = await db.sql.query<{ hash: string }>("SELECT hash FROM audit_event WHERE seq = $1", [String(after)]);
    if (row) head = { seq: after, hash: row.hash };
  }
  let count = 0;
  while (after < last) {
    const rows = await db.sql.query(
      `SELECT ${AUDIT_COLUMNS} FROM audit_event WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3`,
      [String(after), String(last), batch],
    );
    if (rows.length === 0) break;
    for (const raw of rows) {
      const r = toAuditRow(raw);
      await write(
        JSON.stringify({
          seq: r.seq,
          at: r.at,
          actor: r.actor,
          action: r.action,
          targets: r.targets,
          outcome: r.outcome,
          clause: r.clause,
          details: r.details,
          prev: r.prev,
          hash: r.hash,
        }),
      );
      head = { seq: r.seq, hash: r.hash };
      after = r.seq;
      count++;
    }
  }
  await write(JSON.stringify({ head: { ...head, count, exportedAt: new Date().toISOString() } }));
  return { count, head };
}
