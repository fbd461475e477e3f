import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  checksumMatches,
  type Database,
  DEFAULT_MIGRATIONS_DIR,
  MIGRATIONS_TABLE_DDL,
  MigrationChecksumMismatchError,
  MigrationFailedError,
  MigrationUnresolvedError,
  migrate,
  migrationChecksum,
  migrationStatus,
  openDatabase,
  readMigrations,
  resolveMigration,
} from "@iaca/db";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEmptyDatabase, type FreshDatabase, freshDatabase } from "../../../test/support/db.ts";

const local = readMigrations();

function tempMigrations(): string {
  const dir = mkdtempSync(join(tmpdir(), "iaca-migrations-"));
  cpSync(DEFAULT_MIGRATIONS_DIR, dir, { recursive: true });
  return dir;
}

describe("Prisma checksum", () => {
  it("db.migrations.checksummed: is Prisma's SHA-256 hex of the migration.sql bytes", () => {
    // schema-engine checksum.rs test vector
    expect(migrationChecksum("hello")).toBe("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
    for (const m of local) expect(m.checksum).toBe(migrationChecksum(readFileSync(m.path)));
  });

  it("db.migrations.checksummed: matches across LF/CRLF and the old unpadded format, as Prisma does", () => {
    const lf = "CREATE TABLE a (id int);\nCREATE TABLE b (id int);\n";
    const crlf = lf.replaceAll("\n", "\r\n");
    expect(checksumMatches(crlf, migrationChecksum(lf))).toBe(true);
    expect(checksumMatches(lf, migrationChecksum(crlf))).toBe(true);
    expect(checksumMatches(`${lf}-- edit\n`, migrationChecksum(lf))).toBe(false);
    // find a script whose digest has a byte < 0x10, so the unpadded rendering is shorter
    for (let i = 0; ; i++) {
      const s = `SELECT ${i};`;
      const digest = Buffer.from(migrationChecksum(s), "hex");
      if (!digest.some((b) => b < 0x10)) continue;
      const old = [...digest].map((b) => b.toString(16)).join("");
      expect(checksumMatches(s, old)).toBe(true);
      break;
    }
  });

  it("migrations are in Prisma's layout", () => {
    expect(readFileSync(join(DEFAULT_MIGRATIONS_DIR, "migration_lock.toml"), "utf8")).toMatch(
      /^provider = "postgresql"$/m,
    );
    expect(local.length).toBeGreaterThan(0);
    for (const m of local) expect(m.name).toMatch(/^\d{14}_[a-z0-9_]+$/);
    expect(local.map((m) => m.name)).toEqual([...local.map((m) => m.name)].sort());
  });
});

describe("migration runner on PostgreSQL", () => {
  let fresh: FreshDatabase;
  beforeAll(async () => {
    fresh = await freshDatabase({ migrate: false });
  });
  afterAll(async () => {
    await fresh?.drop();
  });

  it("db.migrations.checksummed: applies every migration once, in order, recorded like Prisma", async () => {
    const before = await migrationStatus(fresh.db);
    expect(before.pending).toEqual(local.map((m) => m.name));
    const first = await migrate(fresh.db);
    expect(first.applied).toEqual(local.map((m) => m.name));
    const rows = await fresh.db.sql.query<{
      id: string;
      checksum: string;
      migration_name: string;
      finished_at: Date | null;
      applied_steps_count: number;
      logs: string | null;
    }>('SELECT * FROM "_prisma_migrations" ORDER BY started_at, migration_name');
    expect(rows.map((r) => [r.migration_name, r.checksum])).toEqual(local.map((m) => [m.name, m.checksum]));
    for (const r of rows) {
      expect(r.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(r.finished_at).toBeInstanceOf(Date);
      expect(r.applied_steps_count).toBe(1);
      expect(r.logs).toBeNull();
    }
    const second = await migrate(fresh.db);
    expect(second.applied).toEqual([]);
    const status = await migrationStatus(fresh.db);
    expect(status.upToDate).toBe(true);
    expect(status.migrations.every((m) => m.state === "applied")).toBe(true);
  });

  it("creates _prisma_migrations with Prisma's exact columns", async () => {
    const cols = await fresh.db.sql.query<{ column_name: string; data_type: string; is_nullable: string }>(
      `SELECT column_name, data_type, is_nullable, character_maximum_length FROM information_schema.columns
        WHERE table_name = '_prisma_migrations' ORDER BY ordinal_position`,
    );
    expect(cols.map((c) => [c.column_name, c.data_type, c.is_nullable])).toEqual([
      ["id", "character varying", "NO"],
      ["checksum", "character varying", "NO"],
      ["finished_at", "timestamp with time zone", "YES"],
      ["migration_name", "character varying", "NO"],
      ["logs", "text", "YES"],
      ["rolled_back_at", "timestamp with time zone", "YES"],
      ["started_at", "timestamp with time zone", "NO"],
      ["applied_steps_count", "integer", "NO"],
    ]);
    expect(MIGRATIONS_TABLE_DDL).toContain('"id"                    VARCHAR(36) PRIMARY KEY NOT NULL');
  });

  it("db.migrations.checksummed: 4 concurrent start-ups apply each migration exactly once", async () => {
    const empty = await createEmptyDatabase();
    const dbs: Database[] = [];
    try {
      for (let i = 0; i < 4; i++) dbs.push(await openDatabase({ url: empty.url, poolSize: 2 }));
      const results = await Promise.all(dbs.map((db) => migrate(db)));
      expect(results.flatMap((r) => r.applied).sort()).toEqual(local.map((m) => m.name).sort());
      const counts = await dbs[0]!.sql.query<{ migration_name: string; n: number }>(
        'SELECT migration_name, count(*)::int AS n FROM "_prisma_migrations" GROUP BY migration_name',
      );
      expect(counts).toHaveLength(local.length);
      for (const c of counts) expect(c.n).toBe(1);
    } finally {
      for (const db of dbs) await db.close();
      await empty.drop();
    }
  });

  it("db.migrations.checksummed: refuses to start when an applied migration was edited", async () => {
    const dir = tempMigrations();
    const f = await freshDatabase({ migrationsDir: dir });
    try {
      const target = readMigrations(dir)[0]!;
      writeFileSync(target.path, `${target.script}\n-- sneaky edit\n`);
      const err = await migrate(f.db, { migrationsDir: dir }).catch((e) => e);
      expect(err).toBeInstanceOf(MigrationChecksumMismatchError);
      expect(err.code).toBe("DB_MIGRATION_CHECKSUM_MISMATCH");
      expect(err.details.migration).toBe(target.name);
      const status = await migrationStatus(f.db, { migrationsDir: dir });
      expect(status.modified).toEqual([target.name]);
      expect(status.upToDate).toBe(false);
      // openDatabase({ migrate: true }) fails the start-up the same way
      await expect(openDatabase({ url: f.url, migrate: true, migrationsDir: dir })).rejects.toMatchObject({
        code: "DB_MIGRATION_CHECKSUM_MISMATCH",
      });
      // line-ending changes alone are not an edit
      writeFileSync(target.path, target.script.replaceAll("\n", "\r\n"));
      await expect(migrate(f.db, { migrationsDir: dir })).resolves.toMatchObject({ applied: [] });
    } finally {
      await f.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("db.migrations.checksummed: a failing migration rolls back, is recorded as failed, and blocks until resolved", async () => {
    const dir = tempMigrations();
    const f = await freshDatabase({ migrationsDir: dir });
    try {
      const name = "29991231235959_broken";
      const path = join(dir, name);
      mkdirSync(path);
      writeFileSync(join(path, "migration.sql"), 'CREATE TABLE "half_done" (id int);\nSELECT no_such_function();\n');
      const err = await migrate(f.db, { migrationsDir: dir }).catch((e) => e);
      expect(err).toBeInstanceOf(MigrationFailedError);
      expect(err.code).toBe("DB_MIGRATION_FAILED");
      const [half] = await f.db.sql.query<{ t: string | null }>("SELECT to_regclass('half_done')::text AS t");
      expect(half?.t).toBeNull(); // rolled back
      const [row] = await f.db.sql.query<{ finished_at: Date | null; logs: string }>(
        'SELECT finished_at, logs FROM "_prisma_migrations" WHERE migration_name = $1',
        [name],
      );
      expect(row?.finished_at).toBeNull();
      expect(row?.logs).toMatch(/no_such_function/);
      expect((await migrationStatus(f.db, { migrationsDir: dir })).failed).toEqual([name]);
      await expect(migrate(f.db, { migrationsDir: dir })).rejects.toBeInstanceOf(MigrationUnresolvedError);
      writeFileSync(join(path, "migration.sql"), 'CREATE TABLE "half_done" (id int);\n');
      await resolveMigration(f.db, name, "rolled-back", { migrationsDir: dir });
      await expect(migrate(f.db, { migrationsDir: dir })).resolves.toMatchObject({ applied: [name] });
      expect((await migrationStatus(f.db, { migrationsDir: dir })).upToDate).toBe(true);
    } finally {
      await f.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reports migrations the database has but this code lacks", async () => {
    const dir = tempMigrations();
    const f = await freshDatabase({ migrationsDir: dir });
    try {
      const last = readMigrations(dir).at(-1)!;
      rmSync(join(dir, last.name), { recursive: true });
      const status = await migrationStatus(f.db, { migrationsDir: dir });
      expect(status.missingLocally).toEqual([last.name]);
      await expect(migrate(f.db, { migrationsDir: dir })).rejects.toMatchObject({
        code: "DB_MIGRATION_MISSING_LOCALLY",
      });
    } finally {
      await f.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
