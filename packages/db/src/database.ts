import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { DbError } from "./errors.ts";
import { PrismaClient } from "./generated/client.ts";
import { migrate } from "./migrations/runner.ts";
import { advisoryKey, PGliteSql, PgClientSql, PgPoolSql, type Sql } from "./sql.ts";
import { openStores, type Stores } from "./stores/index.ts";

export interface OpenDatabaseOptions {
  /** PostgreSQL URL; default $DATABASE_URL. When neither is set the embedded PGlite is used. */
  url?: string;
  /** PGlite data directory; default `$IACA_DATA_DIR/db` ($IACA_DATA_DIR defaults to ./var). "memory://" keeps it in memory. */
  dataDir?: string;
  /** Apply pending migrations before returning (start-up). */
  migrate?: boolean;
  /** Migrations folder; default prisma/migrations of this repository. */
  migrationsDir?: string;
  /** Maximum PostgreSQL connections of this process's pool (default 10). */
  poolSize?: number;
}

export interface Database {
  readonly kind: "postgres" | "pglite";
  /** Where the data is: the URL without its password, or the PGlite directory. */
  readonly location: string;
  readonly prisma: PrismaClient;
  /** Raw SQL below Prisma (migration runner, audit log, stores); code outside packages/db uses `stores`. */
  readonly sql: Sql;
  /** One store per aggregate: the only way the rest of the system reads and writes tables. */
  readonly stores: Stores;
  /** Resolves when the database answers (readiness checks). */
  ping(): Promise<void>;
  /**
   * Runs `fn` while holding a cluster-wide lock (PostgreSQL `pg_advisory_lock` on a dedicated
   * session, which `fn` receives). PGlite serves one process, so there it is an in-process mutex.
   */
  withAdvisoryLock<T>(key: number | bigint | string, fn: (sql: Sql) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

async function ping(sql: Sql): Promise<void> {
  await sql.query("SELECT 1");
}

/** The PGlite directory openDatabase uses when no URL is configured. */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.IACA_DATA_DIR || "./var", "db");
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparseable database URL)";
  }
}

/** Opens PostgreSQL (when a URL is given or $DATABASE_URL is set) or the embedded PGlite. */
export async function openDatabase(options: OpenDatabaseOptions = {}): Promise<Database> {
  const url = options.url ?? (process.env.DATABASE_URL || undefined);
  const db = url ? await openPostgres(url, options) : await openPGlite(options);
  if (options.migrate) {
    try {
      await migrate(db, { migrationsDir: options.migrationsDir });
    } catch (e) {
      await db.close();
      throw e;
    }
  }
  return db;
}

async function openPostgres(url: string, options: OpenDatabaseOptions): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 10 });
  // An idle client losing its server connection emits 'error' on the pool; without a listener it would crash the process.
  pool.on("error", () => undefined);
  try {
    await pool.query("SELECT 1");
  } catch (e) {
    await pool.end().catch(() => undefined);
    throw new DbError("DB_UNAVAILABLE", `cannot connect to PostgreSQL at ${redact(url)}: ${(e as Error).message}`, {
      location: redact(url),
    });
  }
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  const sql = new PgPoolSql(pool);
  let closed = false;
  return {
    kind: "postgres",
    location: redact(url),
    prisma,
    sql,
    stores: openStores(sql),
    ping: () => ping(sql),
    async withAdvisoryLock(key, fn) {
      const k = advisoryKey(key);
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        await client.query("SELECT pg_advisory_lock($1::bigint)", [k]);
        try {
          return await fn(new PgClientSql(client));
        } finally {
          await client.query("SELECT pg_advisory_unlock($1::bigint)", [k]).catch((e: Error) => {
            broken = e; // the session ends with the connection, which frees the lock
          });
        }
      } finally {
        client.release(broken);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await prisma.$disconnect();
      await pool.end();
    },
  };
}

/** Data directories this process has open; PGlite must never run twice over one directory. */
const openDirs = new Set<string>();

function lockDataDir(dir: string): () => void {
  const lockFile = `${dir}.lock`;
  if (openDirs.has(dir)) throw new DbError("DB_LOCKED", `the database in ${dir} is already open in this process`);
  mkdirSync(dirname(lockFile), { recursive: true });
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(lockFile, "wx");
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST" || attempt > 0) throw e;
      const pid = Number(readFileSync(lockFile, "utf8"));
      if (pid && pid !== process.pid && isAlive(pid))
        throw new DbError("DB_LOCKED", `the database in ${dir} is in use by process ${pid} (lock file ${lockFile})`, {
          pid,
        });
      rmSync(lockFile, { force: true }); // stale: its process is gone
    }
  }
  openDirs.add(dir);
  return () => {
    openDirs.delete(dir);
    rmSync(lockFile, { force: true });
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function openPGlite(options: OpenDatabaseOptions): Promise<Database> {
  const dataDir = options.dataDir ?? defaultDataDir();
  const inMemory = dataDir.startsWith("memory://");
  const dir = inMemory ? dataDir : resolve(dataDir);
  const unlock = inMemory ? () => undefined : lockDataDir(dir);
  let client: PGlite;
  try {
    if (!inMemory) mkdirSync(dir, { recursive: true });
    client = await PGlite.create(dir);
  } catch (e) {
    unlock();
    throw new DbError("DB_UNAVAILABLE", `cannot open the embedded database in ${dir}: ${(e as Error).message}`);
  }
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(client) });
  const locks = new Map<string, Promise<unknown>>();
  const sql = new PGliteSql(client);
  let closed = false;
  return {
    kind: "pglite",
    location: dir,
    prisma,
    sql,
    stores: openStores(sql),
    ping: () => ping(sql),
    async withAdvisoryLock(key, fn) {
      const k = advisoryKey(key);
      const previous = locks.get(k) ?? Promise.resolve();
      const run = previous.catch(() => undefined).then(() => fn(sql));
      const tail = run.catch(() => undefined);
      locks.set(k, tail);
      try {
        return await run;
      } finally {
        if (locks.get(k) === tail) locks.delete(k);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        await prisma.$disconnect();
        await client.close();
      } finally {
        unlock();
      }
    },
  };
}
