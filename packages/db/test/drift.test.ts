import {
  checkSchemaDrift,
  compareShapes,
  type DmmfDatamodel,
  defaultConstraintName,
  expectedShape,
  getDatamodel,
  readSchemaFiles,
} from "@iaca/db";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FreshDatabase, freshDatabase } from "../../../test/support/db.ts";

let fresh: FreshDatabase;
beforeAll(async () => {
  fresh = await freshDatabase();
});
afterAll(async () => {
  await fresh?.drop();
});

const clone = (dm: DmmfDatamodel): DmmfDatamodel => structuredClone(dm);

describe("schema drift (Prisma schema vs. migrations)", () => {
  it("drift: every model, field, unique constraint and index of the schema exists after all migrations", async () => {
    const dm = getDatamodel();
    // the check really covers the schema: every model of every prisma/schema/*.prisma file
    const files = readSchemaFiles();
    for (const [, text] of files)
      for (const m of text.matchAll(/^model\s+(\w+)/gm)) expect(dm.models.map((x) => x.name)).toContain(m[1]);
    const report = await checkSchemaDrift(fresh.db);
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
  });

  it("the audit table is as the schema says", () => {
    const shape = expectedShape(getDatamodel());
    const audit = shape.tables.get("audit_event")!;
    expect(audit.get("prev_hash")).toEqual({ udt: "bpchar", nullable: false, length: 64 });
    expect(audit.get("at")).toEqual({ udt: "timestamptz", nullable: false, precision: 3 });
    expect(audit.get("targets")).toEqual({ udt: "_text", nullable: undefined });
    expect(shape.indexes.get("audit_event_pkey")).toEqual({ table: "audit_event", kind: "primary", columns: ["seq"] });
    expect(shape.indexes.get("audit_event_hash_key")).toMatchObject({ kind: "unique", columns: ["hash"] });
    expect(shape.indexes.get("audit_event_at_idx")).toMatchObject({ kind: "index", columns: ["at"] });
    expect(shape.indexes.get("audit_event_action_idx")).toMatchObject({ kind: "index", columns: ["action"] });
  });

  it("detects a model, a field, a type, a nullability, a unique constraint and an index the migrations lack", async () => {
    const dm = clone(getDatamodel());
    const audit = dm.models.find((m) => m.dbName === "audit_event")!;
    dm.models.push({ ...structuredClone(audit), name: "Ghost", dbName: "ghost" });
    audit.fields.push({ ...structuredClone(audit.fields.find((f) => f.name === "actor")!), name: "extra" });
    audit.fields.find((f) => f.name === "action")!.isRequired = false;
    audit.fields.find((f) => f.name === "outcome")!.type = "Int";
    dm.indexes.push({ model: audit.name, type: "unique", isDefinedOnField: true, fields: [{ name: "actor" }] });
    dm.indexes.push({ model: audit.name, type: "normal", isDefinedOnField: false, fields: [{ name: "clause" }] });
    const { problems } = await checkSchemaDrift(fresh.db, { datamodel: dm });
    expect(problems).toEqual(
      expect.arrayContaining([
        "table ghost: missing in the database",
        "column audit_event.extra: missing in the database",
        "column audit_event.action: NOT NULL, schema wants nullable",
        "column audit_event.outcome: type text, schema wants int4",
        "unique audit_event_actor_key on audit_event(actor): missing in the database",
        "index audit_event_clause_idx on audit_event(clause): missing in the database",
      ]),
    );
  });

  it("detects a column, an index and a table the schema does not have", async () => {
    await fresh.db.sql.exec(`
      ALTER TABLE audit_event ADD COLUMN sneaky TEXT;
      CREATE INDEX audit_event_actor_idx ON audit_event(actor);
      CREATE TABLE orphan (id int PRIMARY KEY);`);
    try {
      const { ok, problems } = await checkSchemaDrift(fresh.db);
      expect(ok).toBe(false);
      expect(problems).toEqual(
        expect.arrayContaining([
          "column audit_event.sneaky: in the database but not in the schema",
          "index audit_event_actor_idx on audit_event(actor): in the database but not in the schema",
          "table orphan: in the database but not in the schema",
        ]),
      );
    } finally {
      await fresh.db.sql.exec(`
        DROP TABLE orphan; DROP INDEX audit_event_actor_idx; ALTER TABLE audit_event DROP COLUMN sneaky;`);
    }
    expect((await checkSchemaDrift(fresh.db)).ok).toBe(true);
  });

  it("parses enums, relations, @map and composite keys like Prisma", () => {
    const dm = getDatamodel([
      [
        "t.prisma",
        `datasource db {
  provider = "postgresql"
}
enum KeyState {
  active
  retired
  @@map("key_state")
}
model Key {
  id        String   @id @db.Uuid
  label     String   @unique
  state     KeyState
  certs     Cert[]
  createdAt DateTime @map("created_at")
  @@index([state, createdAt])
  @@map("keys")
}
model Cert {
  serial String
  keyId  String @map("key_id") @db.Uuid
  key    Key    @relation(fields: [keyId], references: [id])
  @@id([serial, keyId])
}`,
      ],
    ]);
    const shape = expectedShape(dm);
    expect(shape.enums.get("key_state")).toEqual(["active", "retired"]);
    expect(shape.tables.get("keys")?.get("state")).toEqual({ udt: "key_state", nullable: false });
    expect(shape.tables.get("keys")?.get("created_at")).toEqual({ udt: "timestamp", nullable: false, precision: 3 });
    expect(shape.indexes.get("keys_state_created_at_idx")).toEqual({
      table: "keys",
      kind: "index",
      columns: ["state", "created_at"],
    });
    expect(shape.indexes.get("Cert_pkey")).toEqual({ table: "Cert", kind: "primary", columns: ["serial", "key_id"] });
    expect(shape.foreignKeys).toEqual([{ table: "Cert", columns: ["key_id"], refTable: "keys", refColumns: ["id"] }]);
    expect(compareShapes(shape, shape)).toEqual([]);
    expect(() => getDatamodel([["bad.prisma", "model {"]])).toThrow(/invalid Prisma schema/);
  });

  it("names constraints like Prisma, truncating to PostgreSQL's 63 bytes", () => {
    expect(defaultConstraintName("audit_event", [], "pkey")).toBe("audit_event_pkey");
    expect(defaultConstraintName("a", ["b", "c"], "key")).toBe("a_b_c_key");
    const long = defaultConstraintName("t".repeat(40), ["c".repeat(40)], "idx");
    expect(long).toBe(`${`${"t".repeat(40)}_${"c".repeat(40)}`.slice(0, 59)}_idx`);
    expect(Buffer.byteLength(long)).toBe(63);
  });
});
