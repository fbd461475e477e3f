// Traceability matrix: CP/CPS clause → control → code location → test.
//
//   node scripts/cpcps-trace.ts [--json] [--root DIR]
//
// Controls are discovered by importing every packages/*/src/index.ts (and any
// packages/*/src/controls.ts, apps/*/src/controls.ts) that exists; code locations by scanning
// sources for the control's exported constant or its id; tests by scanning *.test.ts for test
// names that contain the id. Exits 1 when a technical clause has no control, a control has no
// clause, a control has no test, a declared control could not be loaded, or an import failed.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { allClauses, allControls, type Clause, type Control } from "@iaca/policy";
import ts from "typescript";

export interface Location {
  file: string;
  line: number;
}

/** A reference inside the function that enforces the control (not a top-level marker or a list entry). */
export interface Enforcement extends Location {
  /** The enclosing function or method, e.g. `IssuerService.issue` or `buildTree`. */
  function: string;
}

export interface TestRef extends Location {
  name: string;
}

export interface ControlTrace {
  id: string;
  summary: string;
  clauseId: string | undefined;
  /** Where defineControl declares it. */
  definedAt: Location | undefined;
  /** Exported constant name (`export const NAME = defineControl(`), when there is one. */
  constant: string | undefined;
  /** Non-test source lines that reference the constant or the id. */
  references: Location[];
  /**
   * The references that sit inside a function (the enforcing code). A reference at module level
   * (a `void X;` marker, a list of controls) is a label, not evidence, and does not count.
   */
  enforcedBy: Enforcement[];
  tests: TestRef[];
}

export interface ClauseTrace {
  clause: Clause;
  controls: ControlTrace[];
}

export interface TraceResult {
  clauses: ClauseTrace[];
  controls: ControlTrace[];
  /** Technical clauses without any control. */
  uncovered: Clause[];
  /** Controls whose clause is missing or not in the RFC 3647 registry. */
  withoutClause: ControlTrace[];
  withoutTest: ControlTrace[];
  /** Controls no function references: nothing in the code can be shown to enforce them. */
  withoutEnforcement: ControlTrace[];
  /** Controls on clauses flagged procedural (allowed; the flag may deserve a second look). */
  onProcedural: ControlTrace[];
  /** defineControl ids found in source but not loaded by any import. */
  notLoaded: (Location & { id: string })[];
  importErrors: { module: string; error: string }[];
  modules: string[];
}

const SKIP_DIRS = new Set(["node_modules", "generated", "dist", ".git", "var", "coverage"]);

function walk(dir: string, out: string[] = []): string[] {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    if (SKIP_DIRS.has(name)) continue;
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) walk(p, out);
    else if (/\.(ts|mts|tsx)$/.test(name) && !name.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

function subdirs(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((n) => join(dir, n))
    .filter((p) => statSync(p).isDirectory())
    .sort();
}

/** Modules to import: every package index, and the controls modules of packages and apps. */
export function discoverModules(root: string): string[] {
  const mods: string[] = [];
  for (const pkg of subdirs(join(root, "packages"))) {
    for (const f of ["src/index.ts", "src/controls.ts"]) if (existsSync(join(pkg, f))) mods.push(join(pkg, f));
  }
  for (const app of subdirs(join(root, "apps"))) {
    if (existsSync(join(app, "src/controls.ts"))) mods.push(join(app, "src/controls.ts"));
  }
  return mods;
}

function isTestFile(f: string): boolean {
  return /\.(test|spec)\.tsx?$/.test(f);
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Matches `it("id: ...")`, `test.skipIf(x)("id ...")`, `describe("id", ...)`, and `it.each(...)("...")`. */
const TEST_CALL = /\b(?:it|test|describe)(?:\.[A-Za-z]+(?:\([^)]*\))?)*\(\s*(["'`])((?:\\.|(?!\1).)*)\1/g;

export async function collectTrace(root = process.cwd()): Promise<TraceResult> {
  root = resolve(root);
  const modules = discoverModules(root);
  const importErrors: TraceResult["importErrors"] = [];
  for (const m of modules) {
    try {
      await import(pathToFileURL(m).href);
    } catch (e) {
      importErrors.push({ module: relative(root, m), error: (e as Error).message.split("\n")[0] ?? String(e) });
    }
  }

  const srcFiles = [
    ...subdirs(join(root, "packages")).flatMap((p) => walk(join(p, "src"))),
    ...subdirs(join(root, "apps")).flatMap((p) => walk(join(p, "src"))),
  ].filter((f) => !isTestFile(f));
  const testFiles = [
    ...subdirs(join(root, "packages")).flatMap((p) => walk(join(p, "test"))),
    ...subdirs(join(root, "apps")).flatMap((p) => walk(join(p, "test"))),
    ...walk(join(root, "test")),
    ...subdirs(join(root, "packages")).flatMap((p) => walk(join(p, "src"))),
  ].filter(isTestFile);

  const read = new Map<string, string[]>();
  const lines = (f: string) => {
    let l = read.get(f);
    if (!l) {
      l = readFileSync(f, "utf8").split("\n");
      read.set(f, l);
    }
    return l;
  };

  // Declarations in source: id → location and constant name.
  const declared = new Map<string, { loc: Location; constant: string | undefined; property: string | undefined }>();
  for (const f of srcFiles) {
    const ls = lines(f);
    ls.forEach((line, i) => {
      if (!/\bdefineControl\(/.test(line) || /function defineControl/.test(line)) return;
      // `export const NAME = defineControl(` or, inside an exported object, `name: defineControl(`.
      const constant =
        /(?:export\s+)?const\s+([A-Za-z_$][\w$]*)\s*(?::[^=]+)?=\s*defineControl\(/.exec(line)?.[1] ??
        /^\s*([A-Za-z_$][\w$]*)\s*:\s*defineControl\(/.exec(line)?.[1];
      let property: string | undefined;
      if (constant && !/\bconst\b/.test(line)) {
        for (let j = i; j >= 0 && !property; j--)
          property = /\bconst\s+([A-Za-z_$][\w$]*)[^=]*=\s*\{/.exec(ls[j] ?? "")?.[1];
        property ??= "";
      }
      // The id is on this line or within the next few lines of the object literal.
      for (let j = i; j < Math.min(ls.length, i + 8); j++) {
        const m = /\bid:\s*["'`]([^"'`]+)["'`]/.exec(ls[j] ?? "");
        if (m?.[1]) {
          declared.set(m[1], { loc: { file: relative(root, f), line: j + 1 }, constant, property });
          break;
        }
      }
    });
  }

  const loaded = allControls();
  const known = new Set(allClauses().map((c) => c.id));
  const controls: ControlTrace[] = loaded
    .map((c: Control): ControlTrace => {
      const decl = declared.get(c.id);
      const constant = decl?.property ? `${decl.property}.${decl.constant}` : decl?.constant;
      const references: Location[] = [];
      const idRe = new RegExp(`["'\`]${escapeRe(c.id)}["'\`]`);
      // A property of an exported object is referenced as `OBJ.name`.
      const constRe = decl?.constant
        ? new RegExp(
            decl?.property !== undefined
              ? `${decl.property ? `\\b${escapeRe(decl.property)}` : ""}\\.${escapeRe(decl.constant)}\\b`
              : `\\b${escapeRe(decl.constant)}\\b`,
          )
        : undefined;
      for (const f of srcFiles) {
        let inImport = false;
        lines(f).forEach((line, i) => {
          const rel = relative(root, f);
          if (/^\s*(import|export)\s+(type\s+)?\{[^}]*$/.test(line) && !/from\s+["']/.test(line)) inImport = true;
          const isImport =
            inImport || /^\s*(import|export)\b.*\bfrom\s+["']/.test(line) || /^\s*export\s*\*/.test(line);
          if (inImport && /from\s+["']|^\s*\}\s*;?\s*$/.test(line)) inImport = false;
          if (isImport) return;
          if (decl && rel === decl.loc.file && Math.abs(i + 1 - decl.loc.line) <= 8) return;
          if (constRe?.test(line) || idRe.test(line)) references.push({ file: rel, line: i + 1 });
        });
      }
      const tests: TestRef[] = [];
      const nameRe = new RegExp(`(^|[^\\w.-])${escapeRe(c.id)}($|[^\\w.-])`);
      for (const f of testFiles) {
        lines(f).forEach((line, i) => {
          for (const m of line.matchAll(TEST_CALL)) {
            const name = m[2] ?? "";
            if (nameRe.test(name)) tests.push({ file: relative(root, f), line: i + 1, name });
          }
        });
      }
      return {
        id: c.id,
        summary: c.summary,
        clauseId: c.clause && known.has(c.clause.id) ? c.clause.id : undefined,
        definedAt: decl?.loc,
        constant,
        references,
        enforcedBy: [
          ...references.flatMap((r) => enforcingFunction(join(root, r.file), r)),
          ...sqlEnforcement(root, c.id),
        ],
        tests,
      };
    })
    .sort((a, b) => a.id.localeCompare(b.id));

  const byClause = new Map<string, ControlTrace[]>();
  for (const c of controls) if (c.clauseId) byClause.set(c.clauseId, [...(byClause.get(c.clauseId) ?? []), c]);
  const clauses = allClauses().map((clause) => ({ clause, controls: byClause.get(clause.id) ?? [] }));
  const kindOf = new Map(allClauses().map((c) => [c.id, c.kind]));
  const loadedIds = new Set(loaded.map((c) => c.id));

  return {
    clauses,
    controls,
    uncovered: clauses.filter((c) => c.clause.kind === "technical" && c.controls.length === 0).map((c) => c.clause),
    withoutClause: controls.filter((c) => !c.clauseId),
    withoutTest: controls.filter((c) => c.tests.length === 0),
    withoutEnforcement: controls.filter((c) => c.enforcedBy.length === 0),
    onProcedural: controls.filter((c) => c.clauseId && kindOf.get(c.clauseId) === "procedural"),
    notLoaded: [...declared.entries()].filter(([id]) => !loadedIds.has(id)).map(([id, d]) => ({ id, ...d.loc })),
    importErrors,
    modules: modules.map((m) => relative(root, m)),
  };
}

const sourceFiles = new Map<string, ts.SourceFile>();

/** The name of the function-like node around `loc`, qualified by its class; [] at module level. */
function enforcingFunction(path: string, l: Location): Enforcement[] {
  let sf = sourceFiles.get(path);
  if (!sf) {
    sf = ts.createSourceFile(path, readFileSync(path, "utf8"), ts.ScriptTarget.Latest, true);
    sourceFiles.set(path, sf);
  }
  const pos = sf.getPositionOfLineAndCharacter(l.line - 1, 0);
  const end = sf.getLineEndOfPosition(pos);
  let best: ts.Node | undefined;
  const visit = (node: ts.Node) => {
    if (node.getStart(sf) > end || node.getEnd() < pos) return;
    if (ts.isFunctionLike(node) && (node as { body?: ts.Node }).body && node.getStart(sf) <= pos) best = node;
    ts.forEachChild(node, visit);
  };
  visit(sf);
  if (best) return [{ ...l, function: functionName(best) }];
  const rule = ruleAt(sf, pos, end);
  return rule ? [{ ...l, function: rule }] : [];
}

/**
 * A rule table entry at module level: a call such as `certRule("id", "text", (t) => check, { control })`
 * whose arguments include the checking function. The entry is named by its first string argument.
 */
function ruleAt(sf: ts.SourceFile, pos: number, end: number): string | undefined {
  let found: string | undefined;
  const visit = (node: ts.Node) => {
    if (node.getStart(sf) > end || node.getEnd() < pos) return;
    if (ts.isCallExpression(node) && node.arguments.some((a) => ts.isArrowFunction(a) || ts.isFunctionExpression(a))) {
      const name = node.arguments.find(ts.isStringLiteralLike)?.text;
      found = `rule ${name ?? node.expression.getText(sf)}`;
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

/** Hand-written SQL migrations that name the control (triggers the ORM cannot model). */
function sqlEnforcement(root: string, id: string): Enforcement[] {
  const dir = join(root, "prisma/migrations");
  if (!existsSync(dir)) return [];
  const out: Enforcement[] = [];
  for (const m of readdirSync(dir).sort()) {
    const f = join(dir, m, "migration.sql");
    if (!existsSync(f)) continue;
    const lines = readFileSync(f, "utf8").split("\n");
    const i = lines.findIndex((l) => !/^\s*--/.test(l) && l.includes(id));
    if (i >= 0) out.push({ file: relative(root, f), line: i + 1, function: `SQL migration ${m}` });
  }
  return out;
}

function functionName(node: ts.Node): string {
  const own = (n: ts.Node): string | undefined => {
    const name = (n as { name?: ts.Node }).name;
    if (name && (ts.isIdentifier(name) || ts.isPrivateIdentifier(name))) return name.text;
    const p = n.parent;
    if (p && ts.isVariableDeclaration(p) && ts.isIdentifier(p.name)) return p.name.text;
    if (p && ts.isPropertyAssignment(p) && ts.isIdentifier(p.name)) return p.name.text;
    return undefined;
  };
  const parts: string[] = [];
  for (let n: ts.Node | undefined = node; n && !ts.isSourceFile(n); n = n.parent) {
    if (ts.isFunctionLike(n) || ts.isClassLike(n)) {
      const name = own(n);
      if (name) parts.unshift(name);
    }
  }
  return parts.join(".") || "(anonymous function)";
}

export function traceFailures(t: TraceResult): string[] {
  return [
    ...t.importErrors.map((e) => `import failed: ${e.module}: ${e.error}`),
    ...t.notLoaded.map(
      (n) => `control ${n.id} declared at ${n.file}:${n.line} but not loaded (export it from index.ts)`,
    ),
    ...t.withoutClause.map((c) => `control ${c.id} has no clause in the RFC 3647 registry`),
    ...t.withoutTest.map((c) => `control ${c.id} has no test (no test name contains "${c.id}")`),
    ...t.withoutEnforcement.map(
      (c) => `control ${c.id} is referenced by no function (a module-level marker or list entry is not enforcement)`,
    ),
    ...t.uncovered.map((c) => `technical clause ${c.id} ${c.title} has no control`),
  ];
}

const loc = (l: Location | undefined) => (l ? `${l.file}:${l.line}` : "-");

/** Plain-text matrix for the console. */
export function formatTraceText(t: TraceResult): string {
  const out: string[] = [];
  for (const { clause, controls } of t.clauses) {
    if (clause.kind !== "technical" && controls.length === 0) continue;
    const flag = clause.kind === "technical" ? "T" : "P";
    out.push(`${clause.id} ${clause.title} [${flag}]${controls.length === 0 ? "  ** NO CONTROL **" : ""}`);
    for (const c of controls) {
      out.push(`  ${c.id}  defined ${loc(c.definedAt)}${c.constant ? ` (${c.constant})` : ""}`);
      for (const r of c.enforcedBy.slice(0, 5)) out.push(`    enforced ${loc(r)} in ${r.function}`);
      if (c.enforcedBy.length > 5) out.push(`    ... ${c.enforcedBy.length - 5} more`);
      if (c.enforcedBy.length === 0) out.push("    ** NOT ENFORCED BY ANY FUNCTION **");
      if (c.tests.length === 0) out.push("    ** NO TEST **");
      for (const s of c.tests) out.push(`    test ${s.file}:${s.line}  ${s.name}`);
    }
  }
  const tech = t.clauses.filter((c) => c.clause.kind === "technical").length;
  out.push("");
  out.push(
    `modules: ${t.modules.length}, controls: ${t.controls.length}, technical clauses: ${tech}, covered: ${tech - t.uncovered.length}, uncovered: ${t.uncovered.length}`,
  );
  if (t.uncovered.length) out.push(`uncovered technical clauses: ${t.uncovered.map((c) => c.id).join(", ")}`);
  if (t.onProcedural.length)
    out.push(`note: controls on procedural clauses: ${t.onProcedural.map((c) => `${c.id}→${c.clauseId}`).join(", ")}`);
  return out.join("\n");
}

const md = (s: string) => s.replace(/\|/g, "\\|");

/** Markdown table for the full edition's appendix. */
export function formatTraceMarkdown(t: TraceResult, summary: (c: ControlTrace) => string = (c) => c.summary): string {
  const rows = ["| 条項 | 管理策 | 実装箇所 | 試験 |", "|---|---|---|---|"];
  for (const { clause, controls } of t.clauses) {
    if (clause.kind !== "technical" && controls.length === 0) continue;
    const head = `${clause.id} ${clause.title}${clause.kind === "technical" ? "" : "（運用）"}`;
    if (controls.length === 0) {
      rows.push(`| ${md(head)} | **未登録** | - | - |`);
      continue;
    }
    controls.forEach((c, i) => {
      const where = [loc(c.definedAt), ...c.enforcedBy.slice(0, 3).map((r) => `${loc(r)} ${r.function}`)]
        .map((s) => `\`${s}\``)
        .join(" ");
      const tests = c.tests.length ? c.tests.map((s) => `\`${s.file}:${s.line}\``).join(" ") : "**なし**";
      rows.push(`| ${i === 0 ? md(head) : ""} | \`${c.id}\`: ${md(summary(c))} | ${where} | ${tests} |`);
    });
  }
  return rows.join("\n");
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const rootIdx = args.indexOf("--root");
  const root = rootIdx >= 0 ? (args[rootIdx + 1] ?? ".") : process.cwd();
  const t = await collectTrace(root);
  if (args.includes("--json")) console.log(JSON.stringify(t, null, 2));
  else console.log(formatTraceText(t));
  const failures = traceFailures(t);
  if (failures.length) {
    console.error(`\ncpcps:trace FAILED (${failures.length}):\n  ${failures.join("\n  ")}`);
    process.exitCode = 1;
  } else console.error("\ncpcps:trace OK");
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href)
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exitCode = 1;
  });
