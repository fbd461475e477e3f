// A fresh PostgreSQL database per test file: created on the server at $TEST_PG_URL, migrated
// with the project's runner, dropped by drop(). Names carry their creation time so the global
// setup can sweep databases a crashed run left behind.
import { randomBytes } from "node:crypto";
import { type Database, migrate, openDatabase } from "@iaca/db";
import pg from "pg";

export const TEST_PG_URL = process.env.TEST_PG_URL || "postgresql://postgres@127.0.0.1:5432/postgres";

/** Prefix of every database freshDatabase() creates: iaca_test_<UTC yyyymmddhhmmss>_<pid>_<random>. */
export const TEST_DB_PREFIX = "iaca_test_";

export interface FreshDatabase {
  name: string;
  url: string;
  db: Database;
  /** Closes `db` and drops the database (also when other connections are still open). */
  drop(): Promise<void>;
}

export function databaseUrl(name: string, base: string = TEST_PG_URL): string {
  const u = new URL(base);
  u.pathname = `/${name}`;
  return u.toString();
}

export async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_PG_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Creates an empty uniquely named database (no migrations); returns its name and URL. */
export async function createEmptyDatabase(): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  const stamp = new Date().toISOString().replace(/\D/g, "").slice(0, 14);
  const name = `${TEST_DB_PREFIX}${stamp}_${process.pid}_${randomBytes(4).toString("hex")}`;
  await withAdmin((c) => c.query(`CREATE DATABASE "${name}"`));
  return {
    name,
    url: databaseUrl(name),
    drop: () => withAdmin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => undefined),
  };
}

/** A new database with every migration applied (pass `migrate: false` for an empty one). */
export async function freshDatabase(
  options: { migrate?: boolean; migrationsDir?: string } = {},
): Promise<FreshDatabase> {
  const empty = await createEmptyDatabase();
  let db: Database;
  try {
    db = await openDatabase({ url: empty.url, poolSize: 4 });
    if (options.migrate !== false) await migrate(db, { migrationsDir: options.migrationsDir });
  } catch (e) {
    await empty.drop();
    throw e;
  }
  return {
    name: empty.name,
    url: empty.url,
    db,
    async drop() {
      await db.close().catch(() => undefined);
      await empty.drop();
    },
  };
}

/** Drops test databases created more than `maxAgeMs` ago (default one day). */
export async function sweepStaleTestDatabases(maxAgeMs = 86_400_000): Promise<string[]> {
  return withAdmin(async (c) => {
    const { rows } = await c.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE $1", [
      `${TEST_DB_PREFIX}%`,
    ]);
    const dropped: string[] = [];
    for (const { datname } of rows) {
      const m = /^iaca_test_(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})_/.exec(datname);
      if (!m) continue;
      const created = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
      if (Date.now() - created < maxAgeMs) continue;
      await c.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`).catch(() => undefined);
      dropped.push(datname);
    }
    return dropped;
  });
}
