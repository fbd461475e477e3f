import { readFileSync } from "node:fs";

// The list of local public body codes shipped as data (packages/mdoc/data/local-gov-codes.txt,
// refreshed by scripts/local-gov-codes.ts): a localGovCode with a valid check digit that names
// no existing body (99999, a merged municipality) is refused.
const text = readFileSync(new URL("../data/local-gov-codes.txt", import.meta.url), "utf8");
const CODES = new Set(text.split("\n").filter((l) => /^\d{6}$/.test(l)));

/** Edition date of the shipped list (YYYY-MM-DD). */
export const LOCAL_GOV_CODES_EDITION = /^# edition: (\S+)$/m.exec(text)?.[1] ?? "unknown";

/** True for a six-digit code (with check digit) on the shipped list. */
export function isKnownLocalGovCode(code: string): boolean {
  return CODES.has(code);
}
