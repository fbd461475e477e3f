// Prints the longest functions (declarations, methods, arrows, function expressions) in the
// workspaces' src/ trees, longest first: `node scripts/long-functions.ts [N] [--max LINES]`.
// With --max it exits 1 when any function is longer than LINES (the ~80-line rule of
// docs/development.md). Nested functions count inside their parent and on their own.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import ts from "typescript";

const ROOT = resolve(import.meta.dirname, "..");

function* sourceFiles(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (name === "node_modules" || name === "generated") continue;
    if (statSync(p).isDirectory()) yield* sourceFiles(p);
    else if (name.endsWith(".ts") && !name.endsWith(".d.ts")) yield p;
  }
}

export interface FunctionLength {
  where: string;
  name: string;
  lines: number;
}

function nameOf(node: ts.Node): string {
  const n = (node as { name?: ts.Node }).name;
  if (n && ts.isIdentifier(n)) return n.text;
  if (ts.isVariableDeclaration(node.parent) && ts.isIdentifier(node.parent.name)) return node.parent.name.text;
  if (ts.isPropertyAssignment(node.parent) && ts.isIdentifier(node.parent.name)) return node.parent.name.text;
  return "(anonymous)";
}

export function functionLengths(): FunctionLength[] {
  const out: FunctionLength[] = [];
  for (const top of ["packages", "apps"])
    for (const ws of readdirSync(join(ROOT, top))) {
      const src = join(ROOT, top, ws, "src");
      if (!statSync(src, { throwIfNoEntry: false })?.isDirectory()) continue;
      for (const file of sourceFiles(src)) {
        const sf = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
        const visit = (node: ts.Node) => {
          if (ts.isFunctionLike(node) && (node as { body?: ts.Node }).body) {
            const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
            const end = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
            out.push({ where: `${relative(ROOT, file)}:${start + 1}`, name: nameOf(node), lines: end - start + 1 });
          }
          ts.forEachChild(node, visit);
        };
        visit(sf);
      }
    }
  return out.sort((a, b) => b.lines - a.lines);
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const maxAt = args.indexOf("--max");
  const max = maxAt >= 0 ? Number(args[maxAt + 1]) : undefined;
  const n = Number(args.find((a, i) => /^\d+$/.test(a) && !(maxAt >= 0 && i === maxAt + 1)) ?? 10);
  const all = functionLengths();
  for (const f of all.slice(0, n)) process.stdout.write(`${String(f.lines).padStart(4)}  ${f.name}  ${f.where}\n`);
  if (max !== undefined) {
    const over = all.filter((f) => f.lines > max);
    if (over.length) {
      process.stderr.write(`${over.length} functions longer than ${max} lines\n`);
      process.exitCode = 1;
    }
  }
}
