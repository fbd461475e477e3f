// Refreshes packages/mdoc/data/local-gov-codes.txt, the list of local public body codes
// (全国地方公共団体コード, JIS X 0402 with check digit) a holder's localGovCode must be on.
//   node scripts/local-gov-codes.ts LIST.csv --edition YYYY-MM-DD --source "TEXT"
// LIST.csv: the Ministry of Internal Affairs list (総務省 全国地方公共団体コード, both sheets saved
// as CSV and concatenated) or any CSV with a column "団体コード" or "lgcode". Municipalities,
// special wards and the wards of designated cities are kept; prefectures (xx0000 + check) are not
// a resident's local government. Exit 1 on a code with a wrong check digit.
import { readFileSync, writeFileSync } from "node:fs";
import { isValidJisX0402, jisX0402CheckDigit } from "../packages/mdoc/src/checks.ts";

const [file, ...rest] = process.argv.slice(2);
const opt = (name: string) => {
  const i = rest.indexOf(name);
  return i >= 0 ? rest[i + 1] : undefined;
};
const edition = opt("--edition");
const source = opt("--source") ?? "総務省 全国地方公共団体コード";
if (!file || !edition || !/^\d{4}-\d{2}-\d{2}$/.test(edition)) {
  process.stderr.write("usage: local-gov-codes.ts LIST.csv --edition YYYY-MM-DD [--source TEXT]\n");
  process.exit(2);
}
const lines = readFileSync(file, "utf8")
  .replace(/^\uFEFF/, "")
  .split(/\r?\n/);
const codes = new Set<string>();
let column = -1;
for (const line of lines) {
  const cells = line.split(",").map((c) => c.trim().replace(/^"|"$/g, ""));
  const named = cells.findIndex((c) => c === "団体コード" || c === "lgcode");
  if (named >= 0) {
    column = named;
    continue;
  }
  const raw = cells[column];
  if (column < 0 || !raw || !/^\d{5,6}$/.test(raw)) continue;
  const code = raw.length === 5 ? raw.padStart(6, "0") : raw;
  const five = code.slice(0, 5);
  const full = /^\d{6}$/.test(code) && isValidJisX0402(code) ? code : `${five}${jisX0402CheckDigit(five)}`;
  if (!isValidJisX0402(full)) {
    process.stderr.write(`check digit mismatch in ${raw}\n`);
    process.exit(1);
  }
  if (full.slice(2, 5) === "000") continue; // a prefecture
  codes.add(full);
}
const out = [
  "# Local public body codes (全国地方公共団体コード) a holder's localGovCode must be on: municipalities,",
  "# special wards, wards of designated cities; six digits with the JIS X 0402 check digit.",
  `# source: ${source}`,
  `# edition: ${edition}`,
  `# count: ${codes.size}`,
  "# refresh: node scripts/local-gov-codes.ts LIST.csv --edition YYYY-MM-DD (docs/api.md)",
  ...[...codes].sort(),
  "",
].join("\n");
writeFileSync("packages/mdoc/data/local-gov-codes.txt", out);
process.stdout.write(`${codes.size} codes, edition ${edition}\n`);
