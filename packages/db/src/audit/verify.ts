import { AUDIT_ARCHIVE_HEAD_ANCHORED, AUDIT_CHAIN_HASH_LINKED } from "../controls.ts";
import type { Database } from "../database.ts";
import type { Sql } from "../sql.ts";
import { auditHash, GENESIS_HASH } from "./canonical.ts";
import { AUDIT_COLUMNS, type AuditRow, toAuditRow } from "./rows.ts";

export type AuditTamperKind = "modified" | "deleted" | "inserted" | "reordered";

export interface AuditChainHead {
  seq: number;
  hash: string;
}

export interface AuditVerifyResult {
  ok: boolean;
  /** Rows read. */
  count: number;
  /** Last row of the intact prefix (null for an empty log or a failure at seq 1). */
  head: AuditChainHead | null;
  /** The first anomaly: its kind and the seq where the chain stops being the original one. */
  failure?: { kind: AuditTamperKind; seq: number; message: string };
  /** The control this check proves. */
  control: string;
}

export interface VerifyAuditOptions {
  /**
   * A head recorded elsewhere (the last line of an earlier export): detects rows removed from
   * the end and a chain rewritten from some row onwards, which the table alone cannot show.
   */
  expectedHead?: AuditChainHead;
  /**
   * Heads anchored outside the database (signed checkpoints, ascending seq): each must still be in
   * the table. A rewritten suffix is placed between the last checkpoint that matches and the first
   * that does not.
   */
  checkpoints?: AuditChainHead[];
  /** Start after this head, trusted (a verified checkpoint): verifies only the rows after it. */
  from?: AuditChainHead;
  batchSize?: number;
}

const hashAt = (r: AuditRow, seq: number) => auditHash({ ...r, seq });

/**
 * Recomputes the chain in seq order. Each row must hash to its stored hash and name the
 * previous row's hash as prev. At the first row that does not, the damage is classified:
 *  - deleted: a seq is missing, or the row is genuine but its predecessor exists nowhere;
 *  - reordered: the row is genuine (its hash matches at its original seq, found through its
 *    prev link) but stands before rows that preceded it;
 *  - inserted: rows sit between a genuine row and the predecessor it was chained to, or the
 *    row is foreign and the next row is the genuine one for this position;
 *  - modified: anything else (the row's content no longer hashes to its stored hash).
 */
export async function verifyAuditChain(
  db: Pick<Database, "sql">,
  options: VerifyAuditOptions = {},
): Promise<AuditVerifyResult> {
  const sql = db.sql;
  const batch = options.batchSize ?? 1000;
  const [top] = await sql.query<{ max: unknown }>("SELECT max(seq) AS max FROM audit_event");
  const last = top?.max == null ? 0 : Number(top.max);
  let expected = (options.from?.seq ?? 0) + 1;
  let prevHash = options.from?.hash ?? GENESIS_HASH;
  let count = 0;
  let after = options.from?.seq ?? 0;
  const result = (failure?: AuditVerifyResult["failure"]): AuditVerifyResult => ({
    ok: !failure,
    count,
    head: expected > 1 ? { seq: expected - 1, hash: prevHash } : null,
    ...(failure ? { failure } : {}),
    control: AUDIT_CHAIN_HASH_LINKED.id,
  });
  while (after < last) {
    const rows = (
      await sql.query(`SELECT ${AUDIT_COLUMNS} FROM audit_event WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3`, [
        String(after),
        String(last),
        batch,
      ])
    ).map(toAuditRow);
    if (rows.length === 0) break;
    for (const r of rows) {
      count++;
      if (r.seq > expected)
        return result({ kind: "deleted", seq: expected, message: `row ${expected} is missing (next row is ${r.seq})` });
      if (r.seq === expected && auditHash(r) === r.hash && r.prev === prevHash) {
        prevHash = r.hash;
        expected++;
        continue;
      }
      return result(await classify(sql, r, expected, prevHash));
    }
    after = rows[rows.length - 1]!.seq;
  }
  // The heads anchored elsewhere must still be in the table.
  void AUDIT_ARCHIVE_HEAD_ANCHORED;
  const anchors = [...(options.checkpoints ?? []), ...(options.expectedHead ? [options.expectedHead] : [])]
    .filter((h) => h.seq > 0)
    .sort((a, b) => a.seq - b.seq);
  return result(await checkAnchors(sql, anchors, expected - 1));
}

/** The first anchored head the table contradicts: rows missing from the end, or a rewritten range. */
async function checkAnchors(
  sql: Sql,
  anchors: AuditChainHead[],
  end: number,
): Promise<AuditVerifyResult["failure"] | undefined> {
  let good = 0;
  for (const head of anchors) {
    if (end < head.seq)
      return {
        kind: "deleted",
        seq: end + 1,
        message: `the log ends at row ${end} but an anchored head is row ${head.seq}: rows ${end + 1}..${head.seq} were removed`,
      };
    const [row] = await sql.query<{ hash: string }>("SELECT hash FROM audit_event WHERE seq = $1", [String(head.seq)]);
    if (row?.hash !== head.hash)
      return {
        kind: "modified",
        seq: good + 1,
        message: `rows ${good + 1}..${head.seq} were rewritten with recomputed hashes: row ${head.seq} is not the anchored head${good ? ` (row ${good} still is)` : ""}`,
      };
    good = head.seq;
  }
  return undefined;
}

async function byHash(sql: Sql, hash: string): Promise<AuditRow | undefined> {
  if (hash === GENESIS_HASH) return undefined;
  const [row] = await sql.query(`SELECT ${AUDIT_COLUMNS} FROM audit_event WHERE hash = $1`, [hash]);
  return row ? toAuditRow(row) : undefined;
}

async function atSeq(sql: Sql, seq: number): Promise<AuditRow | undefined> {
  const [row] = await sql.query(`SELECT ${AUDIT_COLUMNS} FROM audit_event WHERE seq = $1`, [String(seq)]);
  return row ? toAuditRow(row) : undefined;
}

/** The seq a genuine row was written at (its hash matches there), or undefined for a forged/modified row. */
async function originalSeq(sql: Sql, r: AuditRow): Promise<number | undefined> {
  const predSeq = r.prev === GENESIS_HASH ? 0 : (await byHash(sql, r.prev))?.seq;
  if (predSeq !== undefined && hashAt(r, predSeq + 1) === r.hash) return predSeq + 1;
  // Predecessor gone (deleted, later rows renumbered): try nearby positions.
  for (let d = 1; d <= 64; d++) {
    if (hashAt(r, r.seq + d) === r.hash) return r.seq + d;
    if (r.seq - d >= 1 && hashAt(r, r.seq - d) === r.hash) return r.seq - d;
  }
  return undefined;
}

async function classify(
  sql: Sql,
  r: AuditRow,
  seq: number,
  prevHash: string,
): Promise<NonNullable<AuditVerifyResult["failure"]>> {
  if (auditHash(r) === r.hash) {
    // Intact row, wrong link.
    if (r.prev === GENESIS_HASH)
      return { kind: "inserted", seq: 1, message: `row ${seq} starts a new chain: rows before it were inserted` };
    const pred = await byHash(sql, r.prev);
    if (!pred)
      return seq > 1
        ? { kind: "modified", seq: seq - 1, message: `row ${seq - 1} is not the row that row ${seq} was chained to` }
        : { kind: "deleted", seq: 1, message: `the rows before row ${seq} were deleted` };
    if (pred.seq > r.seq)
      return { kind: "reordered", seq, message: `row ${seq} stands before row ${pred.seq} it was chained to` };
    return {
      kind: "inserted",
      seq: pred.seq + 1,
      message: `rows ${pred.seq + 1}..${seq - 1} were inserted between row ${pred.seq} and the row it was chained to`,
    };
  }
  const orig = await originalSeq(sql, r);
  if (orig !== undefined && orig > r.seq) {
    const [original] = await sql.query<{ seq: unknown }>(
      "SELECT seq FROM audit_event WHERE prev_hash = $1 AND seq <> $2 LIMIT 1",
      [prevHash, String(r.seq)],
    );
    return original
      ? {
          kind: "reordered",
          seq,
          message: `row ${seq} holds the row written as ${orig}; the original row ${seq} is at ${Number(original.seq)}`,
        }
      : {
          kind: "deleted",
          seq,
          message: `row ${seq} was deleted (the row written as ${orig} was renumbered to ${seq})`,
        };
  }
  if (orig !== undefined && orig < r.seq)
    return {
      kind: "inserted",
      seq: orig,
      message: `row ${orig} was inserted (the row written as ${orig} is now ${seq})`,
    };
  const next = await atSeq(sql, r.seq + 1);
  if (next && next.prev === prevHash && hashAt(next, seq) === next.hash)
    return { kind: "inserted", seq, message: `row ${seq} was inserted (the original row ${seq} follows it)` };
  return { kind: "modified", seq, message: `row ${seq} does not match its hash` };
}
