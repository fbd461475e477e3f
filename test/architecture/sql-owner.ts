// Only packages/db issues SQL: this finds SQL and database access anywhere else in src/ (the
// rule of docs/database.md "Stores"). It reads the TypeScript syntax tree, so comments never
// count and code inside template literals does.
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";

export interface SqlViolation {
  /** Path relative to the scanned root. */
  file: string;
  line: number;
  what: string;
}

/** Members that reach the database below the stores. */
const MEMBERS = new Set([
  "sql",
  "prisma",
  "$transaction",
  "$queryRaw",
  "$queryRawUnsafe",
  "$executeRaw",
  "$executeRawUnsafe",
]);
/** Drivers and clients only packages/db may load. */
const DRIVERS = new Set([
  "pg",
  "@electric-sql/pglite",
  "@prisma/client",
  "@prisma/adapter-pg",
  "pglite-prisma-adapter",
]);
/** What @iaca/db exports for its own use below the stores. */
const DB_INTERNALS = new Set([
  "Sql",
  "Row",
  "PrismaClient",
  "Prisma",
  "valuesRows",
  "advisoryKey",
  "AUDIT_SUCCEEDED_SQL",
]);
/** SQL statements in a string (upper case, as this code base writes them). */
const STATEMENT =
  /\b(SELECT\s+(?:DISTINCT\s+)?[\w*(]|INSERT\s+INTO\b|UPDATE\s+\w+\s+(?:AS\s+\w+\s+)?SET\b|DELETE\s+FROM\b)/;

/** SQL or database access in one source text. */
export function scanSource(file: string, text: string): SqlViolation[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const out: SqlViolation[] = [];
  const report = (node: ts.Node, what: string) =>
    out.push({ file, line: source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1, what });
  const visit = (node: ts.Node): void => {
    if (ts.isPropertyAccessExpression(node) && MEMBERS.has(node.name.text)) report(node, `.${node.name.text}`);
    else if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression)) {
      const { expression: target, name } = node.expression;
      if (ts.isIdentifier(target) && target.text === "tx" && (name.text === "query" || name.text === "exec"))
        report(node, `tx.${name.text}(`);
    } else if (
      ts.isStringLiteral(node) ||
      ts.isNoSubstitutionTemplateLiteral(node) ||
      ts.isTemplateHead(node) ||
      ts.isTemplateMiddle(node) ||
      ts.isTemplateTail(node)
    ) {
      const m = STATEMENT.exec(node.text);
      if (m && !ts.isImportDeclaration(node.parent)) report(node, `SQL in a string (${m[1]!.split(/\s/)[0]})`);
    }
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) checkImport(node, report);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

function checkImport(node: ts.ImportDeclaration | ts.ExportDeclaration, report: (n: ts.Node, what: string) => void) {
  const spec = node.moduleSpecifier;
  if (!spec || !ts.isStringLiteral(spec)) return;
  if (DRIVERS.has(spec.text)) report(node, `imports ${spec.text}`);
  if (spec.text.includes("db/src/")) report(node, `imports ${spec.text}`);
  if (spec.text !== "@iaca/db") return;
  const names = ts.isImportDeclaration(node)
    ? node.importClause?.namedBindings && ts.isNamedImports(node.importClause.namedBindings)
      ? node.importClause.namedBindings.elements
      : []
    : node.exportClause && ts.isNamedExports(node.exportClause)
      ? node.exportClause.elements
      : [];
  for (const n of names) {
    const name = (n.propertyName ?? n.name).text;
    if (DB_INTERNALS.has(name)) report(n, `imports ${name} from @iaca/db`);
  }
}

const SOURCE = /\.(ts|mts|cts|js|mjs|cjs)$/;

function sourceFiles(dir: string): string[] {
  let entries: import("node:fs").Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : SOURCE.test(e.name) ? [join(dir, e.name)] : [],
  );
}

/** Every violation in `packages/<p>/src` and `apps/<a>/src` under `root`, packages/db excepted. */
export function findSqlOutsideStores(root: string): SqlViolation[] {
  const dirs = ["packages", "apps"].flatMap((group) =>
    sourceFiles(join(root, group)).length === 0
      ? []
      : readdirSync(join(root, group), { withFileTypes: true })
          .filter((e) => e.isDirectory() && !(group === "packages" && e.name === "db"))
          .map((e) => join(root, group, e.name, "src")),
  );
  return dirs.flatMap(sourceFiles).flatMap((f) => scanSource(relative(root, f), readFileSync(f, "utf8")));
}

/** One line per violation: `file:line: what`. */
export function formatViolations(v: SqlViolation[]): string[] {
  return v.map((x) => `${x.file}:${x.line}: ${x.what}`);
}
