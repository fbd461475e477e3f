// Each workspace declares what it imports: the `dependencies` of its package.json are exactly the
// packages its src/ imports, and its tests import only what `dependencies` or `devDependencies`
// name. TypeScript's own scanner finds the imports (static, dynamic, type-only, re-exports).
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { isBuiltin } from "node:module";
import { join, relative } from "node:path";
import ts from "typescript";

export interface Manifest {
  name?: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  workspaces?: string[];
}

const SOURCE = /\.(ts|mts|cts|js|mjs|cjs)$/;

function sourceFiles(dir: string, out: string[] = []): string[] {
  if (!existsSync(dir)) return out;
  if (statSync(dir).isFile()) return SOURCE.test(dir) ? [...out, dir] : out;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== "node_modules") sourceFiles(p, out);
    } else if (SOURCE.test(e.name)) out.push(p);
  }
  return out;
}

/** The package a bare specifier names ("@scope/name/sub" -> "@scope/name"); undefined for relative and node: imports. */
export function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith(".") || specifier.startsWith("/") || isBuiltin(specifier)) return undefined;
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

/** Package name -> the files (relative to `root`) under `dirs` that import it. */
export function importsUnder(root: string, dirs: string[]): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const file of dirs.flatMap((d) => sourceFiles(join(root, d)))) {
    for (const ref of ts.preProcessFile(readFileSync(file, "utf8"), true, true).importedFiles) {
      const pkg = packageOf(ref.fileName);
      if (!pkg) continue;
      const files = found.get(pkg) ?? [];
      files.push(relative(root, file));
      found.set(pkg, files);
    }
  }
  return found;
}

/**
 * What is wrong with one workspace's declarations: an import of src/ missing from `dependencies`,
 * an import of test/ (or bin/) missing from both lists, a dependency src/ never imports.
 */
export function dependencyProblems(dir: string, also: ReadonlySet<string> = new Set()): string[] {
  const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as Manifest;
  const deps = new Set([...Object.keys(manifest.dependencies ?? {}), ...also]);
  const devDeps = new Set(Object.keys(manifest.devDependencies ?? {}));
  const problems: string[] = [];
  const src = importsUnder(dir, ["src", "bin"]);
  for (const [pkg, files] of src) {
    if (!deps.has(pkg) && pkg !== manifest.name) problems.push(`${files[0]} imports ${pkg}, not in dependencies`);
  }
  for (const [pkg, files] of importsUnder(dir, ["test"])) {
    if (!deps.has(pkg) && !devDeps.has(pkg) && pkg !== manifest.name) {
      problems.push(`${files[0]} imports ${pkg}, not in dependencies or devDependencies`);
    }
  }
  for (const pkg of Object.keys(manifest.dependencies ?? {})) {
    if (!src.has(pkg)) problems.push(`dependency ${pkg} is not imported by src/`);
  }
  return problems;
}

/** The workspace folders of the root package.json (`packages/*`, `apps/*`). */
export function workspaceDirs(root: string): string[] {
  const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as Manifest;
  return (manifest.workspaces ?? []).flatMap((pattern) => {
    if (!pattern.endsWith("/*")) return [join(root, pattern)];
    const parent = join(root, pattern.slice(0, -2));
    return readdirSync(parent, { withFileTypes: true })
      .filter((e) => e.isDirectory() && existsSync(join(parent, e.name, "package.json")))
      .map((e) => join(parent, e.name));
  });
}

/** Imports of the root's own folders (tests across workspaces, benchmarks, scripts, tool configuration). */
export function rootProblems(root: string): string[] {
  const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as Manifest;
  const declared = new Set([
    ...Object.keys(manifest.dependencies ?? {}),
    ...Object.keys(manifest.devDependencies ?? {}),
    ...workspaceDirs(root).map((d) => (JSON.parse(readFileSync(join(d, "package.json"), "utf8")) as Manifest).name),
  ]);
  const configs = readdirSync(root).filter((f) => SOURCE.test(f));
  return [...importsUnder(root, ["test", "bench", "scripts", ...configs])]
    .filter(([pkg]) => !declared.has(pkg))
    .map(([pkg, files]) => `${files[0]} imports ${pkg}, not in the root package.json`);
}
