// Each store test runs twice: on PostgreSQL (a fresh database on $TEST_PG_URL) and on the
// embedded PGlite (in memory), both migrated by the project's runner.
import { type Database, openDatabase } from "@iaca/db";
import { afterAll, beforeAll, describe } from "vitest";
import { freshDatabase } from "../../../../test/support/db.ts";

export interface Backend {
  name: string;
  open(): Promise<{ db: Database; close(): Promise<void> }>;
}

export const BACKENDS: Backend[] = [
  {
    name: "PostgreSQL",
    async open() {
      const fresh = await freshDatabase();
      return { db: fresh.db, close: () => fresh.drop() };
    },
  },
  {
    name: "PGlite",
    async open() {
      const db = await openDatabase({ url: "", dataDir: "memory://", migrate: true });
      return { db, close: () => db.close() };
    },
  },
];

/** `describe` once per backend; `db()` is that backend's database, opened once for the block. */
export function describeOnBothBackends(title: string, body: (db: () => Database) => void): void {
  describe.each(BACKENDS)(`${title} ($name)`, (backend) => {
    let opened: Awaited<ReturnType<Backend["open"]>> | undefined;
    beforeAll(async () => {
      opened = await backend.open();
    }, 300_000);
    afterAll(async () => {
      await opened?.close();
    });
    body(() => {
      if (!opened) throw new Error(`${backend.name} is not open`);
      return opened.db;
    });
  });
}
