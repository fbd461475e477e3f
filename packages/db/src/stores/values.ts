// Column values as the stores hand them out, whichever driver read them (pg or PGlite).

/** bytea as a Uint8Array of its own (pg gives a Buffer that may share a pooled ArrayBuffer). */
export const bytes = (b: unknown): Uint8Array => new Uint8Array(b as Uint8Array);

/** int8: pg gives a string, PGlite a number. */
export const int8 = (v: unknown): bigint => BigInt(String(v));

/** A nullable timestamptz. */
export const at = (v: unknown): Date | null => (v == null ? null : (v as Date));

/** count(*)::int and the like, whichever way the driver parsed it. */
export const count = (rows: { n: unknown }[]): number => Number(rows[0]?.n ?? 0);
