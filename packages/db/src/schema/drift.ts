import type { Database } from "../database.ts";
import type { Sql } from "../sql.ts";
import { type DmmfDatamodel, getDatamodel, readSchemaFiles } from "./dmmf.ts";

/** Tables, columns, indexes, foreign keys and enums, the same shape for the schema and the database. */
export interface SchemaShape {
  /** table -> column -> column shape */
  tables: Map<string, Map<string, ColumnShape>>;
  indexes: Map<string, IndexShape>;
  foreignKeys: ForeignKeyShape[];
  enums: Map<string, string[]>;
}

export interface ColumnShape {
  /** PostgreSQL type name as pg_type/udt_name spells it ("text", "int8", "_text", "bpchar", "timestamptz", an enum). */
  udt: string | undefined;
  /** undefined: not checked (lists, which Prisma creates nullable). */
  nullable: boolean | undefined;
  length?: number;
  precision?: number;
  scale?: number;
}

export interface IndexShape {
  table: string;
  kind: "primary" | "unique" | "index";
  columns: string[];
}

export interface ForeignKeyShape {
  table: string;
  columns: string[];
  refTable: string;
  refColumns: string[];
}

const SCALAR_UDT: Record<string, ColumnShape> = {
  String: { udt: "text", nullable: false },
  Int: { udt: "int4", nullable: false },
  BigInt: { udt: "int8", nullable: false },
  Float: { udt: "float8", nullable: false },
  Decimal: { udt: "numeric", nullable: false, precision: 65, scale: 30 },
  Boolean: { udt: "bool", nullable: false },
  DateTime: { udt: "timestamp", nullable: false, precision: 3 },
  Json: { udt: "jsonb", nullable: false },
  Bytes: { udt: "bytea", nullable: false },
};

const NATIVE_UDT: Record<string, { udt: string; args?: "length" | "precision" | "numeric" }> = {
  Text: { udt: "text" },
  Char: { udt: "bpchar", args: "length" },
  VarChar: { udt: "varchar", args: "length" },
  Bit: { udt: "bit", args: "length" },
  VarBit: { udt: "varbit", args: "length" },
  Uuid: { udt: "uuid" },
  Xml: { udt: "xml" },
  Inet: { udt: "inet" },
  Citext: { udt: "citext" },
  Integer: { udt: "int4" },
  SmallInt: { udt: "int2" },
  BigInt: { udt: "int8" },
  Oid: { udt: "oid" },
  DoublePrecision: { udt: "float8" },
  Real: { udt: "float4" },
  Decimal: { udt: "numeric", args: "numeric" },
  Money: { udt: "money" },
  Timestamp: { udt: "timestamp", args: "precision" },
  Timestamptz: { udt: "timestamptz", args: "precision" },
  Date: { udt: "date" },
  Time: { udt: "time", args: "precision" },
  Timetz: { udt: "timetz", args: "precision" },
  Boolean: { udt: "bool" },
  Json: { udt: "json" },
  JsonB: { udt: "jsonb" },
  ByteA: { udt: "bytea" },
};

/** PostgreSQL's identifier limit, which Prisma's default constraint names respect (63 bytes). */
const MAX_IDENTIFIER = 63;

function truncateBytes(s: string, max: number): string {
  const bytes = Buffer.from(s, "utf8");
  if (bytes.length <= max) return s;
  let end = max;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--; // floor to a char boundary
  return bytes.subarray(0, end).toString("utf8");
}

/** Prisma's default constraint/index names (psl ConstraintNames): `<table>_pkey`, `<table>_<cols>_key|_idx|_fkey`. */
export function defaultConstraintName(table: string, columns: string[], kind: "pkey" | "key" | "idx" | "fkey"): string {
  const suffix = `_${kind}`;
  const base = kind === "pkey" ? table : `${table}_${columns.join("_")}`;
  const limit = MAX_IDENTIFIER - suffix.length;
  return `${Buffer.byteLength(base) >= limit ? truncateBytes(base, limit) : base}${suffix}`;
}

/** What migrations must have created for this datamodel. */
export function expectedShape(dm: DmmfDatamodel): SchemaShape {
  const shape: SchemaShape = { tables: new Map(), indexes: new Map(), foreignKeys: [], enums: new Map() };
  const enumDb = new Map(dm.enums.map((e) => [e.name, e.dbName ?? e.name]));
  for (const e of dm.enums)
    shape.enums.set(
      e.dbName ?? e.name,
      e.values.map((v) => v.dbName ?? v.name),
    );
  const tableOf = new Map(dm.models.map((m) => [m.name, m.dbName ?? m.name]));
  const columnOf = (model: string, field: string) => {
    const m = dm.models.find((x) => x.name === model)!;
    const f = m.fields.find((x) => x.name === field);
    return f?.dbName ?? field;
  };
  for (const m of dm.models) {
    const table = tableOf.get(m.name)!;
    const cols = new Map<string, ColumnShape>();
    for (const f of m.fields) {
      if (f.kind === "object") {
        if (f.relationFromFields?.length)
          shape.foreignKeys.push({
            table,
            columns: f.relationFromFields.map((x) => columnOf(m.name, x)),
            refTable: tableOf.get(f.type)!,
            refColumns: (f.relationToFields ?? []).map((x) => columnOf(f.type, x)),
          });
        continue;
      }
      let col: ColumnShape;
      if (f.kind === "enum") col = { udt: enumDb.get(f.type), nullable: false };
      else if (f.kind === "unsupported") col = { udt: undefined, nullable: false };
      else if (f.nativeType) {
        const [name, args] = f.nativeType;
        const native = NATIVE_UDT[name];
        col = { udt: native?.udt, nullable: false };
        if (native?.args === "length" && args[0]) col.length = Number(args[0]);
        if (native?.args === "precision" && args[0]) col.precision = Number(args[0]);
        if (native?.args === "numeric" && args[0]) {
          col.precision = Number(args[0]);
          col.scale = Number(args[1] ?? 0);
        }
      } else col = { ...(SCALAR_UDT[f.type] ?? { udt: undefined, nullable: false }) };
      col.nullable = f.isList ? undefined : !f.isRequired;
      if (f.isList && col.udt) col.udt = `_${col.udt}`;
      cols.set(f.dbName ?? f.name, col);
    }
    shape.tables.set(table, cols);
  }
  for (const ix of dm.indexes) {
    const table = tableOf.get(ix.model)!;
    const columns = ix.fields.map((f) => columnOf(ix.model, f.name));
    const kind = ix.type === "id" ? "primary" : ix.type === "unique" ? "unique" : "index";
    const name =
      ix.dbName ??
      defaultConstraintName(table, columns, kind === "primary" ? "pkey" : kind === "unique" ? "key" : "idx");
    shape.indexes.set(name, { table, kind, columns });
  }
  return shape;
}

/** What the database has, in the current schema (search_path), ignoring Prisma's `_prisma_migrations`. */
export async function actualShape(sql: Sql): Promise<SchemaShape> {
  const shape: SchemaShape = { tables: new Map(), indexes: new Map(), foreignKeys: [], enums: new Map() };
  const columns = await sql.query<{
    table_name: string;
    column_name: string;
    udt_name: string;
    is_nullable: string;
    character_maximum_length: number | null;
    datetime_precision: number | null;
    numeric_precision: number | null;
    numeric_scale: number | null;
    data_type: string;
  }>(
    `SELECT c.table_name, c.column_name, c.udt_name, c.is_nullable, c.character_maximum_length,
            c.datetime_precision, c.numeric_precision, c.numeric_scale, c.data_type
       FROM information_schema.columns c
       JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
      WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' AND c.table_name <> '_prisma_migrations'
      ORDER BY c.table_name, c.ordinal_position`,
  );
  for (const c of columns) {
    const cols = shape.tables.get(c.table_name) ?? new Map<string, ColumnShape>();
    shape.tables.set(c.table_name, cols);
    const col: ColumnShape = { udt: c.udt_name, nullable: c.is_nullable === "YES" };
    if (c.character_maximum_length != null) col.length = Number(c.character_maximum_length);
    if (c.datetime_precision != null && /^(timestamp|timestamptz|time|timetz)$/.test(c.udt_name))
      col.precision = Number(c.datetime_precision);
    if (c.udt_name === "numeric" && c.numeric_precision != null) {
      col.precision = Number(c.numeric_precision);
      col.scale = Number(c.numeric_scale ?? 0);
    }
    cols.set(c.column_name, col);
  }
  const indexes = await sql.query<{
    table: string;
    name: string;
    unique: boolean;
    primary: boolean;
    columns: string[];
  }>(
    `SELECT t.relname AS table, i.relname AS name, ix.indisunique AS unique, ix.indisprimary AS primary,
            array(SELECT a.attname::text FROM unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
                   JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum ORDER BY k.ord) AS columns
       FROM pg_index ix
       JOIN pg_class i ON i.oid = ix.indexrelid
       JOIN pg_class t ON t.oid = ix.indrelid
       JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE n.nspname = current_schema() AND t.relname <> '_prisma_migrations'`,
  );
  for (const ix of indexes)
    shape.indexes.set(ix.name, {
      table: ix.table,
      kind: ix.primary ? "primary" : ix.unique ? "unique" : "index",
      columns: ix.columns,
    });
  const fks = await sql.query<{ table: string; columns: string[]; ref_table: string; ref_columns: string[] }>(
    `SELECT t.relname AS table, r.relname AS ref_table,
            array(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
                   JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum ORDER BY k.ord) AS columns,
            array(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY AS k(attnum, ord)
                   JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum ORDER BY k.ord) AS ref_columns
       FROM pg_constraint c
       JOIN pg_class t ON t.oid = c.conrelid
       JOIN pg_class r ON r.oid = c.confrelid
       JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE c.contype = 'f' AND n.nspname = current_schema()`,
  );
  for (const fk of fks)
    shape.foreignKeys.push({
      table: fk.table,
      columns: fk.columns,
      refTable: fk.ref_table,
      refColumns: fk.ref_columns,
    });
  const enums = await sql.query<{ name: string; values: string[] }>(
    `SELECT t.typname AS name, array(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid
                                      ORDER BY e.enumsortorder) AS values
       FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE t.typtype = 'e' AND n.nspname = current_schema()`,
  );
  for (const e of enums) shape.enums.set(e.name, e.values);
  return shape;
}

const same = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Differences between the schema and the database, one readable line each; empty when they agree. */
export function compareShapes(expected: SchemaShape, actual: SchemaShape): string[] {
  const problems: string[] = [];
  for (const [table, cols] of expected.tables) {
    const dbCols = actual.tables.get(table);
    if (!dbCols) {
      problems.push(`table ${table}: missing in the database`);
      continue;
    }
    for (const [name, col] of cols) {
      const db = dbCols.get(name);
      if (!db) {
        problems.push(`column ${table}.${name}: missing in the database`);
        continue;
      }
      if (col.udt && col.udt !== db.udt)
        problems.push(`column ${table}.${name}: type ${db.udt}, schema wants ${col.udt}`);
      for (const k of ["length", "precision", "scale"] as const)
        if (col[k] !== undefined && col[k] !== db[k])
          problems.push(`column ${table}.${name}: ${k} ${db[k] ?? "none"}, schema wants ${col[k]}`);
      if (col.nullable !== undefined && col.nullable !== db.nullable)
        problems.push(
          `column ${table}.${name}: ${db.nullable ? "nullable" : "NOT NULL"}, schema wants ${col.nullable ? "nullable" : "NOT NULL"}`,
        );
    }
    for (const name of dbCols.keys())
      if (!cols.has(name)) problems.push(`column ${table}.${name}: in the database but not in the schema`);
  }
  for (const table of actual.tables.keys())
    if (!expected.tables.has(table)) problems.push(`table ${table}: in the database but not in the schema`);
  for (const [name, ix] of expected.indexes) {
    const db = actual.indexes.get(name);
    if (!db) problems.push(`${ix.kind} ${name} on ${ix.table}(${ix.columns.join(", ")}): missing in the database`);
    else if (db.table !== ix.table || db.kind !== ix.kind || !same(db.columns, ix.columns))
      problems.push(
        `${name}: database has ${db.kind} on ${db.table}(${db.columns.join(", ")}), schema wants ${ix.kind} on ${ix.table}(${ix.columns.join(", ")})`,
      );
  }
  for (const [name, db] of actual.indexes)
    if (!expected.indexes.has(name) && expected.tables.has(db.table))
      problems.push(
        `${db.kind} ${name} on ${db.table}(${db.columns.join(", ")}): in the database but not in the schema`,
      );
  for (const fk of expected.foreignKeys)
    if (
      !actual.foreignKeys.some(
        (a) =>
          a.table === fk.table &&
          a.refTable === fk.refTable &&
          same(a.columns, fk.columns) &&
          same(a.refColumns, fk.refColumns),
      )
    )
      problems.push(
        `foreign key ${fk.table}(${fk.columns.join(", ")}) -> ${fk.refTable}(${fk.refColumns.join(", ")}): missing in the database`,
      );
  for (const [name, values] of expected.enums) {
    const db = actual.enums.get(name);
    if (!db) problems.push(`enum ${name}: missing in the database`);
    else if (!same(db, values))
      problems.push(`enum ${name}: values (${db.join(", ")}), schema wants (${values.join(", ")})`);
  }
  return problems;
}

export interface DriftReport {
  ok: boolean;
  problems: string[];
}

/** Compares the Prisma schema (every *.prisma file in `schemaDir`) with the database's tables. */
export async function checkSchemaDrift(
  db: Pick<Database, "sql">,
  options: { schemaDir?: string; datamodel?: DmmfDatamodel } = {},
): Promise<DriftReport> {
  const dm = options.datamodel ?? getDatamodel(readSchemaFiles(options.schemaDir));
  const problems = compareShapes(expectedShape(dm), await actualShape(db.sql));
  return { ok: problems.length === 0, problems };
}
