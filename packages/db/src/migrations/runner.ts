import { createHash, randomUUID } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DB_MIGRATIONS_CHECKSUMMED } from "../controls.ts";
import type { Database } from "../database.ts";
import {
  MigrationChecksumMismatchError,
  MigrationError,
  MigrationFailedError,
  MigrationLayoutError,
  MigrationMissingLocallyError,
  MigrationUnresolvedError,
} from "../errors.ts";
import type { Sql } from "../sql.ts";

/** prisma/migrations of this repository. */
export const DEFAULT_MIGRATIONS_DIR = fileURLToPath(new URL("../../../../prisma/migrations", import.meta.url));

/** The advisory lock `prisma migrate deploy` takes (schema-engine's postgres connector), so both exclude each other. */
export const MIGRATION_LOCK_KEY = 72707369;

/** Prisma's `_prisma_migrations` table, column for column as the schema engine creates it. */
export const MIGRATIONS_TABLE_DDL = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

export interface LocalMigration {
  /** Folder name, `<YYYYMMDDHHMMSS>_<name>`; migrations apply in name order. */
  name: string;
  path: string;
  script: string;
  /** Prisma's checksum: lower-case hex SHA-256 of the migration.sql bytes. */
  checksum: string;
}

export interface AppliedMigrationRow {
  id: string;
  checksum: string;
  migration_name: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
  started_at: Date;
  logs: string | null;
  applied_steps_count: number;
}

export interface MigrationOptions {
  migrationsDir?: string | undefined;
}

/** Prisma's checksum of a migration script (schema-engine `checksum.rs`: SHA-256 of the UTF-8 text, hex). */
export function migrationChecksum(script: string | Uint8Array): string {
  return createHash("sha256").update(script).digest("hex");
}

/**
 * Whether `script` matches a recorded checksum the way Prisma decides it: the script as it is,
 * with CRLF turned into LF, or with LF turned into CRLF (git may change line endings); and a
 * recorded checksum that is not 64 characters long is compared to the old unpadded hex format.
 */
export function checksumMatches(script: string, recorded: string): boolean {
  void DB_MIGRATIONS_CHECKSUMMED; // a modified applied migration is refused by migrate()
  const variants = [script, script.replaceAll("\r\n", "\n"), script.replaceAll("\n", "\r\n")];
  return variants.some((v) => {
    const digest = createHash("sha256").update(v).digest();
    const rendered =
      recorded.length !== 0 && recorded.length !== 64
        ? [...digest].map((b) => b.toString(16)).join("")
        : digest.toString("hex");
    return rendered === recorded;
  });
}

/** Reads `<dir>/<name>/migration.sql` for every folder, in name order; checks migration_lock.toml. */
export function readMigrations(dir: string = DEFAULT_MIGRATIONS_DIR): LocalMigration[] {
  if (!existsSync(dir)) return [];
  const lock = join(dir, "migration_lock.toml");
  if (existsSync(lock)) {
    const provider = /^\s*provider\s*=\s*"([^"]*)"/m.exec(readFileSync(lock, "utf8"))?.[1];
    if (provider !== "postgresql")
      throw new MigrationLayoutError("DB_MIGRATION_LAYOUT", `${lock} names provider "${provider}", not "postgresql"`);
  }
  const out: LocalMigration[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (!statSync(path).isDirectory()) continue;
    const file = join(path, "migration.sql");
    if (!existsSync(file))
      throw new MigrationLayoutError("DB_MIGRATION_LAYOUT", `migration folder ${name} has no migration.sql`, {
        migration: name,
      });
    const bytes = readFileSync(file);
    out.push({ name, path: file, script: bytes.toString("utf8"), checksum: migrationChecksum(bytes) });
  }
  return out;
}

async function hasMigrationsTable(sql: Sql): Promise<boolean> {
  const rows = await sql.query<{ t: string | null }>("SELECT to_regclass('\"_prisma_migrations\"')::text AS t");
  return rows[0]?.t != null;
}

async function appliedRows(sql: Sql): Promise<AppliedMigrationRow[]> {
  const rows = await sql.query<AppliedMigrationRow>(
    `SELECT id, checksum, migration_name, finished_at, rolled_back_at, started_at, logs, applied_steps_count
       FROM "_prisma_migrations" ORDER BY started_at, migration_name`,
  );
  return rows.map((r) => ({ ...r, applied_steps_count: Number(r.applied_steps_count) }));
}

export type MigrationState = "applied" | "pending" | "failed" | "modified" | "missing-locally";

export interface MigrationStatus {
  /** True when every local migration is applied, unmodified, and nothing failed. */
  upToDate: boolean;
  migrations: { name: string; state: MigrationState; appliedAt?: Date; checksum: string }[];
  pending: string[];
  failed: string[];
  modified: string[];
  missingLocally: string[];
}

function analyse(local: LocalMigration[], rows: AppliedMigrationRow[]): MigrationStatus {
  const active = rows.filter((r) => r.rolled_back_at == null);
  const finished = new Map(active.filter((r) => r.finished_at != null).map((r) => [r.migration_name, r]));
  const failedNames = new Set(active.filter((r) => r.finished_at == null).map((r) => r.migration_name));
  const localNames = new Set(local.map((m) => m.name));
  const status: MigrationStatus = {
    upToDate: false,
    migrations: [],
    pending: [],
    failed: [],
    modified: [],
    missingLocally: [],
  };
  for (const m of local) {
    const row = finished.get(m.name);
    let state: MigrationState;
    if (row) state = checksumMatches(m.script, row.checksum) ? "applied" : "modified";
    else if (failedNames.has(m.name)) state = "failed";
    else state = "pending";
    if (state === "pending") status.pending.push(m.name);
    if (state === "failed") status.failed.push(m.name);
    if (state === "modified") status.modified.push(m.name);
    status.migrations.push({
      name: m.name,
      state,
      checksum: m.checksum,
      ...(row?.finished_at ? { appliedAt: row.finished_at } : {}),
    });
  }
  for (const name of new Set([...finished.keys(), ...failedNames])) {
    if (localNames.has(name)) continue;
    status.missingLocally.push(name);
    if (failedNames.has(name) && !finished.has(name)) status.failed.push(name);
    status.migrations.push({ name, state: "missing-locally", checksum: finished.get(name)?.checksum ?? "" });
  }
  status.upToDate =
    status.pending.length + status.failed.length + status.modified.length + status.missingLocally.length === 0;
  return status;
}

/** For `iaca status`: which migrations are applied, pending, failed, edited, or unknown here. Read-only. */
export async function migrationStatus(db: Database, options: MigrationOptions = {}): Promise<MigrationStatus> {
  const local = readMigrations(options.migrationsDir);
  const rows = (await hasMigrationsTable(db.sql)) ? await appliedRows(db.sql) : [];
  return analyse(local, rows);
}

export interface MigrateResult {
  /** Migrations applied by this call, in order. */
  applied: string[];
  /** Migrations that were already applied. */
  alreadyApplied: string[];
}

/**
 * Applies pending migrations in name order, each in its own transaction together with its
 * `_prisma_migrations` row, while holding Prisma's migration advisory lock (concurrent
 * start-ups wait, then find nothing to do). Refuses to run when an applied migration was
 * edited, a failed one is unresolved, or the database knows migrations this code lacks.
 */
export async function migrate(db: Database, options: MigrationOptions = {}): Promise<MigrateResult> {
  const local = readMigrations(options.migrationsDir);
  return db.withAdvisoryLock(MIGRATION_LOCK_KEY, async (sql) => {
    await sql.exec(MIGRATIONS_TABLE_DDL);
    const rows = await appliedRows(sql);
    const status = analyse(local, rows);
    for (const name of status.modified) {
      const m = local.find((l) => l.name === name)!;
      const row = rows.find((r) => r.migration_name === name && r.finished_at && !r.rolled_back_at)!;
      throw new MigrationChecksumMismatchError(name, row.checksum, m.checksum);
    }
    if (status.failed.length > 0) throw new MigrationUnresolvedError(status.failed[0]!);
    if (status.missingLocally.length > 0) throw new MigrationMissingLocallyError(status.missingLocally);
    const applied: string[] = [];
    for (const m of local) {
      if (!status.pending.includes(m.name)) continue;
      const id = randomUUID();
      try {
        await sql.transaction(async (tx) => {
          await tx.query(
            `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count)
             VALUES ($1, $2, $3, now(), 0)`,
            [id, m.checksum, m.name],
          );
          await tx.exec(m.script);
          await tx.query(
            `UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = applied_steps_count + 1
              WHERE id = $1`,
            [id],
          );
        });
      } catch (e) {
        // Record the failure as Prisma does (finished_at empty, logs = the error), outside the rolled-back transaction.
        await sql
          .query(
            `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, logs, applied_steps_count)
             VALUES ($1, $2, $3, now(), $4, 0)`,
            [id, m.checksum, m.name, e instanceof Error ? e.message : String(e)],
          )
          .catch(() => undefined);
        throw new MigrationFailedError(m.name, e);
      }
      applied.push(m.name);
    }
    return { applied, alreadyApplied: local.filter((m) => !applied.includes(m.name)).map((m) => m.name) };
  });
}

/**
 * Marks a failed migration as rolled back (it may then be fixed and re-applied) or as applied
 * (after completing it by hand), like `prisma migrate resolve`.
 */
export async function resolveMigration(
  db: Database,
  name: string,
  as: "rolled-back" | "applied",
  options: MigrationOptions = {},
): Promise<void> {
  await db.withAdvisoryLock(MIGRATION_LOCK_KEY, async (sql) => {
    await sql.exec(MIGRATIONS_TABLE_DDL);
    const failed = (await appliedRows(sql)).filter(
      (r) => r.migration_name === name && r.finished_at == null && r.rolled_back_at == null,
    );
    if (failed.length === 0)
      throw new MigrationError("DB_MIGRATION_NOT_FAILED", `migration ${name} is not in a failed state`, {
        migration: name,
      });
    if (as === "rolled-back") {
      await sql.query(`UPDATE "_prisma_migrations" SET rolled_back_at = now() WHERE id = ANY($1::varchar[])`, [
        failed.map((r) => r.id),
      ]);
      return;
    }
    const m = readMigrations(options.migrationsDir).find((l) => l.name === name);
    if (!m) throw new MigrationMissingLocallyError([name]);
    await sql.transaction(async (tx) => {
      await tx.query(`UPDATE "_prisma_migrations" SET rolled_back_at = now() WHERE id = ANY($1::varchar[])`, [
        failed.map((r) => r.id),
      ]);
      await tx.query(
        `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
         VALUES ($1, $2, $3, now(), now(), 0)`,
        [randomUUID(), m.checksum, m.name],
      );
    });
  });
}
