// Only packages/db issues SQL; everything else uses its stores (docs/database.md).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { findSqlOutsideStores, formatViolations, scanSource } from "./sql-owner.ts";

const ROOT = join(import.meta.dirname, "..", "..");

const PLANTED = `import type { Sql } from "@iaca/db";
import pg from "pg";
// a comment may say SELECT * FROM issuance; it is not code
export async function leak(db: { sql: Sql; prisma: any }, tx: Sql) {
  await db.sql.query("SELECT 1");
  await db.prisma.pkiCertificate.count();
  await tx.query(\`UPDATE issuance SET state = 'x' WHERE id = \${db.sql}\`);
  return ["DELETE FROM ra_nonce", 'INSERT INTO api_client (id) VALUES ($1)'];
}
`;

let scratch: string | undefined;
afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe("SQL owner: only packages/db issues SQL", () => {
  it("no file in packages/*/src or apps/*/src outside packages/db queries the database", () => {
    expect(formatViolations(findSqlOutsideStores(ROOT))).toEqual([]);
  });

  it("catches planted access, naming the file and line of each", () => {
    expect(formatViolations(scanSource("apps/x/src/leak.ts", PLANTED))).toEqual([
      "apps/x/src/leak.ts:1: imports Sql from @iaca/db",
      "apps/x/src/leak.ts:2: imports pg",
      "apps/x/src/leak.ts:5: .sql",
      "apps/x/src/leak.ts:5: SQL in a string (SELECT)",
      "apps/x/src/leak.ts:6: .prisma",
      "apps/x/src/leak.ts:7: tx.query(",
      "apps/x/src/leak.ts:7: SQL in a string (UPDATE)",
      "apps/x/src/leak.ts:7: .sql",
      "apps/x/src/leak.ts:8: SQL in a string (DELETE)",
      "apps/x/src/leak.ts:8: SQL in a string (INSERT)",
    ]);
  });

  it("finds a planted file in a tree, and leaves packages/db and tests alone", () => {
    scratch = mkdtempSync(join(tmpdir(), "iaca-sql-owner-"));
    const put = (path: string, text: string) => {
      mkdirSync(join(scratch!, path, ".."), { recursive: true });
      writeFileSync(join(scratch!, path), text);
    };
    put("apps/ra/src/ok.ts", "export const ok = (db: { stores: unknown }) => db.stores;\n");
    put("packages/lifecycle/src/deep/leak.ts", 'export const q = "SELECT id FROM issuance";\n');
    put("packages/db/src/stores/x.ts", PLANTED);
    put("apps/ra/test/x.test.ts", PLANTED);
    expect(formatViolations(findSqlOutsideStores(scratch))).toEqual([
      "packages/lifecycle/src/deep/leak.ts:1: SQL in a string (SELECT)",
    ]);
  });
});
