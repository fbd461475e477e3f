import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  AuditLog,
  checkSchemaDrift,
  type Database,
  DbError,
  defaultDataDir,
  migrationStatus,
  openDatabase,
  readMigrations,
  valuesRows,
  verifyAuditChain,
} from "@iaca/db";
import { clause } from "@iaca/policy";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// The embedded default: no DATABASE_URL, data under $IACA_DATA_DIR/db (here a temp dir).
let root: string;
let db: Database;
const saved = { url: process.env.DATABASE_URL, dir: process.env.IACA_DATA_DIR };
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "iaca-pglite-"));
  delete process.env.DATABASE_URL;
  process.env.IACA_DATA_DIR = root;
  db = await openDatabase({ migrate: true });
}, 300_000); // initdb of a new PGlite directory is slow on a busy machine
afterAll(async () => {
  await db?.close();
  if (saved.url !== undefined) process.env.DATABASE_URL = saved.url;
  if (saved.dir === undefined) delete process.env.IACA_DATA_DIR;
  else process.env.IACA_DATA_DIR = saved.dir;
  rmSync(root, { recursive: true, force: true });
});

describe("PGlite smoke test", () => {
  it("opens the embedded database under $IACA_DATA_DIR/db and applies the same migrations", async () => {
    expect(db.kind).toBe("pglite");
    expect(db.location).toBe(join(root, "db"));
    expect(defaultDataDir()).toBe(join(root, "db"));
    const status = await migrationStatus(db);
    expect(status.upToDate).toBe(true);
    expect(status.migrations.map((m) => m.name)).toEqual(readMigrations().map((m) => m.name));
    expect((await checkSchemaDrift(db)).problems).toEqual([]);
  });

  it("audit.chain.hash-linked: appends, verifies and rejects changes on PGlite", async () => {
    const log = new AuditLog(db);
    await Promise.all(
      [...Array(10).keys()].map((i) =>
        log.append({
          actor: "op:alice",
          action: "test.pglite",
          targets: [`t${i}`],
          outcome: "success",
          clause: clause("5.4.1"),
          details: { i },
        }),
      ),
    );
    expect(await verifyAuditChain(db)).toMatchObject({ ok: true, count: 10 });
    await expect(db.sql.query("DELETE FROM audit_event")).rejects.toThrow(/append-only/);
  });

  it("serialises concurrent Prisma calls on the single connection, also around a transaction", async () => {
    const inTx = db.prisma.$transaction(async (tx) => {
      const n = await tx.auditEvent.count();
      await new Promise((r) => setTimeout(r, 20));
      return n + (await tx.auditEvent.count());
    });
    const others = Promise.all([
      db.prisma.auditEvent.findMany({ where: { actor: "op:alice" }, orderBy: { seq: "asc" } }),
      db.prisma.auditEvent.aggregate({ _max: { seq: true } }),
      db.sql.query("SELECT count(*)::int AS n FROM audit_event"),
      db.withAdvisoryLock("k", async (sql) => sql.query("SELECT 1 AS one")),
    ]);
    const [rows, agg, counted, locked] = await others;
    expect(await inTx).toBe(20);
    expect(rows).toHaveLength(10);
    expect(agg._max.seq).toBe(10n);
    expect(counted[0]).toEqual({ n: 10 });
    expect(locked).toEqual([{ one: 1 }]);
  });

  it("refuses a second open of the same data directory", async () => {
    const err = await openDatabase({}).catch((e) => e);
    expect(err).toBeInstanceOf(DbError);
    expect(err.code).toBe("DB_LOCKED");
  });
});

describe("valuesRows (multi-row INSERT)", () => {
  it("numbers parameters row by row, writes casts and literals, and refuses a row of the wrong width", async () => {
    const v = valuesRows(
      ["", "::jsonb", "='fixed'"],
      [
        ["a", '{"n":1}'],
        ["b", '{"n":2}'],
      ],
    );
    expect(v.sql).toBe("($1, $2::jsonb, 'fixed'), ($3, $4::jsonb, 'fixed')");
    expect(v.params).toEqual(["a", '{"n":1}', "b", '{"n":2}']);
    const rows = await db.sql.query<{ k: string; j: { n: number }; s: string }>(
      `SELECT * FROM (VALUES ${v.sql}) AS t (k, j, s) ORDER BY k`,
      v.params,
    );
    expect(rows).toEqual([
      { k: "a", j: { n: 1 }, s: "fixed" },
      { k: "b", j: { n: 2 }, s: "fixed" },
    ]);
    expect(() => valuesRows(["", ""], [["only one"]])).toThrow(/1 values for 2 parameter columns/);
  });
});
