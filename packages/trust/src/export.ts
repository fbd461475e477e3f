import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import { sha256 } from "@iaca/pki";
import { DTS_EXPORT_IDENTICAL } from "./controls.ts";
import { DtsError, PATHS } from "./paths.ts";
import type { PublishedTree } from "./tree.ts";

/** Where a tree path lands in an export directory ("/crl/ds.crl" -> DIR/crl/ds.crl). */
export function exportFilePath(dir: string, path: string): string {
  const root = resolve(dir);
  const file = resolve(root, `.${path}`);
  if (!file.startsWith(root + sep)) throw new DtsError("DTS_EXPORT_PATH", `refusing to write outside ${root}: ${path}`);
  return file;
}

/**
 * Writes the published tree as static files (control dts.export.identical): the same bytes the
 * server serves, plus manifest.json with the SHA-256 of every file. The landing page is index.html.
 */
export async function exportTree(tree: PublishedTree, dir: string): Promise<{ files: number; manifest: string }> {
  void DTS_EXPORT_IDENTICAL;
  await mkdir(dir, { recursive: true });
  for (const e of tree.entries.values()) {
    const file = exportFilePath(dir, e.path);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, e.bytes);
  }
  return { files: tree.entries.size, manifest: join(dir, PATHS.manifest.slice(1)) };
}

/** Re-reads an export directory against its manifest; returns the paths whose bytes differ. */
export async function verifyExport(dir: string): Promise<string[]> {
  const manifest = JSON.parse(await readFile(join(dir, PATHS.manifest.slice(1)), "utf8")) as {
    files: { path: string; sha256: string }[];
  };
  const bad: string[] = [];
  for (const f of manifest.files) {
    try {
      if (sha256(await readFile(exportFilePath(dir, f.path))) !== f.sha256) bad.push(f.path);
    } catch {
      bad.push(f.path);
    }
  }
  return bad;
}

/** Removes an export directory (tests, benchmarks). */
export const removeExport = (dir: string) => rm(dir, { recursive: true, force: true });
