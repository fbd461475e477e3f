import { AUDIT_ARCHIVE_HEAD_ANCHORED, AUDIT_ARCHIVE_VERIFIABLE } from "../controls.ts";
import type { Database } from "../database.ts";
import { type AuditRecord, auditHash, GENESIS_HASH, hashedFields } from "./canonical.ts";
import { AUDIT_COLUMNS, toAuditRow } from "./rows.ts";
import type { AuditChainHead, AuditTamperKind } from "./verify.ts";

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
 * Rows appended while exporting are left for the next export (AUDIT_ARCHIVE_HEAD_ANCHORED: the head
 * line anchors this archive; an incremental archive's first row links to the previous head).
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
      await write(JSON.stringify({ ...hashedFields(r), hash: r.hash }));
      head = { seq: r.seq, hash: r.hash };
      after = r.seq;
      count++;
    }
  }
  void AUDIT_ARCHIVE_HEAD_ANCHORED;
  await write(JSON.stringify({ head: { ...head, count, exportedAt: new Date().toISOString() } }));
  return { count, head };
}

export interface AuditArchiveVerifyResult {
  ok: boolean;
  /** Event rows read. */
  count: number;
  /** The head line of the archive, when the archive is intact. */
  head: AuditChainHead | null;
  /** The first problem: its kind, the 1-based line and, for a row, its seq. */
  failure?: { kind: AuditTamperKind | "truncated" | "malformed"; line: number; seq?: number; message: string };
  control: string;
}

export interface VerifyAuditExportOptions {
  /** Head of the archive this one continues (an export with `after`); absent: the archive starts at seq 1. */
  previousHead?: AuditChainHead;
  /** A head recorded elsewhere for this archive (e.g. printed by `iaca audit export`): it must match. */
  expectedHead?: AuditChainHead;
}

const ROW_KEYS = ["action", "actor", "at", "clause", "details", "hash", "outcome", "prev", "seq", "targets"].join();

/**
 * Verifies an archive written by {@link exportAudit} without the database (AUDIT_ARCHIVE_VERIFIABLE):
 * every row hashes to its hash, links to the previous row (or to `previousHead`), seqs follow one
 * another, and the last line is the head of exactly those rows; then the head is compared with
 * `expectedHead` if one was kept elsewhere.
 */
export function verifyAuditExport(text: string, options: VerifyAuditExportOptions = {}): AuditArchiveVerifyResult {
  const lines = text.split("\n");
  while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  const seqs = lines.map((l) => {
    try {
      const o = JSON.parse(l) as { seq?: unknown };
      return typeof o?.seq === "number" ? o.seq : undefined;
    } catch {
      return undefined;
    }
  });
  let prev = options.previousHead?.hash ?? GENESIS_HASH;
  let expected = (options.previousHead?.seq ?? 0) + 1;
  let count = 0;
  const result = (failure?: AuditArchiveVerifyResult["failure"], head: AuditChainHead | null = null) => ({
    ok: !failure,
    count,
    head,
    ...(failure ? { failure } : {}),
    control: AUDIT_ARCHIVE_VERIFIABLE.id,
  });
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    let obj: Record<string, unknown>;
    try {
      obj = JSON.parse(lines[i]!) as Record<string, unknown>;
    } catch {
      return result({ kind: "malformed", line, message: `line ${line} is not JSON` });
    }
    if (obj && typeof obj === "object" && "head" in obj) {
      const h = obj.head as { seq?: unknown; hash?: unknown; count?: unknown };
      if (i !== lines.length - 1)
        return result({ kind: "inserted", line, message: `a head line at line ${line} is not the last line` });
      if (h?.seq !== expected - 1 || h?.hash !== prev || h?.count !== count)
        return result({
          kind: "modified",
          line,
          message: `the head line (${String(h?.seq)}:${String(h?.hash)}, ${String(h?.count)} rows) is not the head of the rows above it (${expected - 1}:${prev}, ${count} rows)`,
        });
      const head = { seq: expected - 1, hash: prev };
      const want = options.expectedHead;
      if (want && (want.seq !== head.seq || want.hash !== head.hash))
        return result(
          {
            kind: want.seq > head.seq ? "truncated" : "modified",
            line,
            message: `the archive's head ${head.seq}:${head.hash} is not the recorded head ${want.seq}:${want.hash}`,
          },
          head,
        );
      return result(undefined, head);
    }
    if (Object.keys(obj).sort().join() !== ROW_KEYS)
      return result({ kind: "malformed", line, message: `line ${line} is not an audit row` });
    const r = obj as unknown as AuditRecord & { hash: string };
    count++;
    if (typeof r.seq !== "number" || r.seq > expected) {
      const later = seqs.slice(i + 1).includes(expected);
      return result({
        kind: later ? "reordered" : "deleted",
        line,
        seq: expected,
        message: later
          ? `row ${expected} comes after row ${r.seq} (line ${line})`
          : `row ${expected} is missing (line ${line} is ${r.seq})`,
      });
    }
    if (r.seq < expected)
      return result({
        kind: "reordered",
        line,
        seq: r.seq,
        message: `row ${r.seq} at line ${line} comes after row ${expected - 1}`,
      });
    if (auditHash(r) !== r.hash)
      return result({ kind: "modified", line, seq: r.seq, message: `row ${r.seq} does not match its hash` });
    if (r.prev !== prev)
      return result({
        kind: "inserted",
        line,
        seq: r.seq,
        message: `row ${r.seq} does not link to the row before it (or to the previous archive's head)`,
      });
    prev = r.hash;
    expected++;
  }
  return result({ kind: "truncated", line: lines.length, message: "no head line: the archive is truncated" });
}
