import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** prisma/schema of this repository (every *.prisma file in it forms the one schema). */
export const DEFAULT_SCHEMA_DIR = fileURLToPath(new URL("../../../../prisma/schema", import.meta.url));

export interface DmmfField {
  name: string;
  dbName?: string | null;
  kind: "scalar" | "object" | "enum" | "unsupported";
  isList: boolean;
  isRequired: boolean;
  isId: boolean;
  isUnique: boolean;
  type: string;
  nativeType?: [string, string[]] | null;
  relationFromFields?: string[];
  relationToFields?: string[];
}

export interface DmmfModel {
  name: string;
  dbName: string | null;
  schema?: string | null;
  fields: DmmfField[];
}

export interface DmmfIndex {
  model: string;
  type: "id" | "unique" | "normal" | "fulltext";
  isDefinedOnField: boolean;
  dbName?: string;
  name?: string;
  fields: { name: string }[];
}

export interface DmmfDatamodel {
  models: DmmfModel[];
  enums: { name: string; dbName?: string | null; values: { name: string; dbName?: string | null }[] }[];
  indexes: DmmfIndex[];
}

// Minimal WebAssembly typings (the project's lib has no DOM and @types/node 20 does not declare them).
interface WasmTable {
  grow(n: number): number;
  get(i: number): unknown;
  set(i: number, v: unknown): void;
}
type WasmModule = object;
interface WebAssemblyApi {
  Module: { new (bytes: Uint8Array): WasmModule; imports(m: WasmModule): { module: string; name: string }[] };
  Instance: new (m: WasmModule, imports: object) => { exports: unknown };
}
const WA = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

type WasmExports = {
  memory: { buffer: ArrayBuffer };
  __wbindgen_externrefs: WasmTable;
  __wbindgen_start(): void;
  __wbindgen_malloc(size: number, align: number): number;
  __wbindgen_free(ptr: number, size: number, align: number): void;
  get_dmmf(ptr: number, len: number): [number, number, number, number];
};

let wasm: WasmExports | undefined;

/**
 * Prisma's own schema parser (prisma-schema-wasm, shipped as prisma/build/prisma_schema_build_bg.wasm
 * inside the installed CLI) with a minimal wasm-bindgen glue: the module imports only an error
 * constructor, a throw, a panic-message hook and the externref-table initialiser.
 */
function schemaWasm(): WasmExports {
  if (wasm) return wasm;
  const require = createRequire(import.meta.url);
  const file = join(dirname(require.resolve("prisma/package.json")), "build", "prisma_schema_build_bg.wasm");
  const mod = new WA.Module(readFileSync(file));
  const decoder = new TextDecoder();
  let exports: WasmExports | undefined;
  const text = (ptr: number, len: number) =>
    decoder.decode(new Uint8Array(exports!.memory.buffer, ptr >>> 0, len >>> 0));
  const imports: Record<string, Record<string, (...args: number[]) => unknown>> = {};
  for (const imp of WA.Module.imports(mod)) {
    let fn: (...args: number[]) => unknown;
    if (imp.name.startsWith("__wbg_Error_")) fn = (p, l) => new Error(text(p!, l!));
    else if (imp.name.includes("wbindgen_throw"))
      fn = (p, l) => {
        throw new Error(text(p!, l!));
      };
    else if (imp.name.startsWith("__wbg_set_message_")) fn = () => undefined;
    else if (imp.name === "__wbindgen_init_externref_table")
      fn = () => {
        const table = exports!.__wbindgen_externrefs;
        const offset = table.grow(4);
        table.set(0, undefined);
        table.set(offset, undefined);
        table.set(offset + 1, null);
        table.set(offset + 2, true);
        table.set(offset + 3, false);
      };
    else throw new Error(`prisma_schema_build_bg.wasm needs an unknown import ${imp.name}`);
    imports[imp.module] ??= {};
    imports[imp.module]![imp.name] = fn;
  }
  exports = new WA.Instance(mod, imports).exports as WasmExports;
  exports.__wbindgen_start();
  wasm = exports;
  return exports;
}

/** Prisma schema files of a folder as [path, content] pairs (Prisma's multi-file schema input). */
export function readSchemaFiles(dir: string = DEFAULT_SCHEMA_DIR): [string, string][] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".prisma"))
    .sort()
    .map((f) => [join(dir, f), readFileSync(join(dir, f), "utf8")]);
}

/** The DMMF datamodel of a (multi-file) Prisma schema, as `getDMMF` from @prisma/internals returns it. */
export function getDatamodel(files: [string, string][] = readSchemaFiles()): DmmfDatamodel {
  const w = schemaWasm();
  const input = new TextEncoder().encode(JSON.stringify({ prismaSchema: files, noColor: true }));
  const ptr = w.__wbindgen_malloc(input.length, 1);
  new Uint8Array(w.memory.buffer, ptr, input.length).set(input);
  const [outPtr, outLen, errRef, isErr] = w.get_dmmf(ptr, input.length);
  if (isErr) {
    const err = w.__wbindgen_externrefs.get(errRef) as Error;
    let message = err.message;
    try {
      message = (JSON.parse(err.message) as { message: string }).message;
    } catch {}
    throw new Error(`invalid Prisma schema: ${message}`);
  }
  const json = new TextDecoder().decode(new Uint8Array(w.memory.buffer, outPtr, outLen));
  w.__wbindgen_free(outPtr, outLen, 1);
  return (JSON.parse(json) as { datamodel: DmmfDatamodel }).datamodel;
}
