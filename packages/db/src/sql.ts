import { createHash } from "node:crypto";
import type { PGlite, Transaction as PGliteTransaction } from "@electric-sql/pglite";
import type pg from "pg";

export type Row = Record<string, unknown>;

/**
 * Raw SQL for the migration runner and the audit log, below Prisma. `query` runs one
 * parameterised statement; `exec` runs a script of several statements (no parameters).
 * Values come back as the driver parses them: normalise bigint/int8 with `Number()`.
 */
export interface Sql {
  query<T = Row>(text: string, params?: readonly unknown[]): Promise<T[]>;
  exec(script: string): Promise<void>;
  /** Runs `fn` in one transaction (BEGIN ... COMMIT, ROLLBACK when it throws). Not re-entrant. */
  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T>;
}

/**
 * Multi-row VALUES for one INSERT: `($1, $2::jsonb, 'x'), ($3, $4::jsonb, 'x')` and the flat
 * parameters. Each column is "" (a plain parameter), "::type" (a cast parameter) or "=literal"
 * (SQL text written as is in every row, no parameter).
 */
export function valuesRows(
  columns: readonly string[],
  rows: readonly (readonly unknown[])[],
): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const tuples = rows.map((row) => {
    let i = 0;
    const cells = columns.map((c) => {
      if (c.startsWith("=")) return c.slice(1);
      params.push(row[i++]);
      return `$${params.length}${c}`;
    });
    if (i !== row.length) throw new RangeError(`a row has ${row.length} values for ${i} parameter columns`);
    return `(${cells.join(", ")})`;
  });
  return { sql: tuples.join(", "), params };
}

/** int64 advisory-lock key: numbers and bigints as they are, strings by SHA-256 (first 8 bytes, signed). */
export function advisoryKey(key: number | bigint | string): string {
  if (typeof key === "string") return createHash("sha256").update(key).digest().readBigInt64BE(0).toString();
  const k = BigInt(key);
  if (k < -(2n ** 63n) || k >= 2n ** 63n) throw new RangeError(`advisory lock key ${k} is not an int64`);
  return k.toString();
}

/** A single pg connection (a pool client holding a session lock, or one inside a transaction). */
export class PgClientSql implements Sql {
  private readonly client: pg.PoolClient;
  private readonly inTransaction: boolean;
  constructor(client: pg.PoolClient, inTransaction = false) {
    this.client = client;
    this.inTransaction = inTransaction;
  }

  async query<T = Row>(text: string, params: readonly unknown[] = []): Promise<T[]> {
    return (await this.client.query(text, params as unknown[])).rows as T[];
  }

  async exec(script: string): Promise<void> {
    await this.client.query(script);
  }

  async transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    if (this.inTransaction) throw new Error("nested transactions are not supported");
    await this.client.query("BEGIN");
    try {
      const result = await fn(new PgClientSql(this.client, true));
      await this.client.query("COMMIT");
      return result;
    } catch (e) {
      await this.client.query("ROLLBACK").catch(() => undefined);
      throw e;
    }
  }
}

export class PgPoolSql implements Sql {
  private readonly pool: pg.Pool;
  constructor(pool: pg.Pool) {
    this.pool = pool;
  }

  async query<T = Row>(text: string, params: readonly unknown[] = []): Promise<T[]> {
    return (await this.pool.query(text, params as unknown[])).rows as T[];
  }

  async exec(script: string): Promise<void> {
    await this.pool.query(script);
  }

  async transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      return await new PgClientSql(client).transaction(fn);
    } catch (e) {
      // A connection-level failure must not go back to the pool.
      if (e instanceof Error && !("code" in e)) broken = e;
      throw e;
    } finally {
      client.release(broken);
    }
  }
}

/**
 * PGlite is one connection: its query/exec/transaction methods queue on one mutex, so
 * concurrent callers (Prisma's and ours) are serialised and never interleave inside a
 * transaction.
 */
export class PGliteSql implements Sql {
  private readonly db: PGlite | PGliteTransaction;
  constructor(db: PGlite | PGliteTransaction) {
    this.db = db;
  }

  async query<T = Row>(text: string, params: readonly unknown[] = []): Promise<T[]> {
    return (await this.db.query<T>(text, params as unknown[])).rows;
  }

  async exec(script: string): Promise<void> {
    await this.db.exec(script);
  }

  async transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    if (!("transaction" in this.db)) throw new Error("nested transactions are not supported");
    return this.db.transaction((tx) => fn(new PGliteSql(tx)));
  }
}
