// Column values as the stores hand them out, whichever driver read them (pg or PGlite).
import type { Row } from "../sql.ts";

/** bytea as a Uint8Array of its own (pg gives a Buffer that may share a pooled ArrayBuffer). */
export const bytes = (b: unknown): Uint8Array => new Uint8Array(b as Uint8Array);

/** A nullable timestamptz. */
export const at = (v: unknown): Date | null => (v == null ? null : (v as Date));

/** count(*)::int and the like, whichever way the driver parsed it. */
export const count = (rows: { n: unknown }[]): number => Number(rows[0]?.n ?? 0);

/**
 * How a column is read: as the driver gives it (text, timestamptz, text[]), as a number
 * (integer), as a bigint (int8: pg gives a string, PGlite a number) or as bytes. NULL stays null.
 */
export type Column = "value" | "number" | "int8" | "bytes";

const READ: Record<Column, (v: unknown) => unknown> = {
  value: (v) => v,
  number: (v) => Number(v),
  int8: (v) => BigInt(String(v)),
  bytes,
};

const snake = (field: string) => field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/**
 * One declaration per record type: its fields (camelCase, in SELECT order) and how each is read.
 * `select` is the column list (snake_case), `read` turns a driver row into the record.
 */
export function record<T>(fields: { [K in keyof T]-?: Column }): { select: string; read: (r: Row) => T } {
  const spec = Object.entries(fields as Record<string, Column>).map(([field, column]) => ({
    field,
    column: snake(field),
    read: READ[column],
  }));
  return {
    select: spec.map((c) => c.column).join(", "),
    read: (r) => Object.fromEntries(spec.map((c) => [c.field, r[c.column] == null ? null : c.read(r[c.column])])) as T,
  };
}
