// The operating procedures (運用手順書) as data: docs/runbook/index.yaml names the rooms, roles
// and placeholders and lists the procedures (docs/runbook/*.yaml) in the order they are run.
// This module loads and checks them; scripts/runbook-build.ts renders them (Markdown, DOCX, PDF)
// and test/runbook.test.ts runs every command of every procedure, in order, on throwaway tokens.
//
// A procedure's commands are checked against the CLI's own definitions: each `run` is parsed by
// the real commander program with no-op actions, so a renamed command or option, a missing
// required option or a surplus argument fails the build and the test.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { clause } from "@iaca/policy";
import { type Static, Type as T } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { type Command, CommanderError } from "commander";
import { parse as parseYaml } from "yaml";

export const RUNBOOK_DIR = resolve(new URL("../docs/runbook", import.meta.url).pathname);

const Room = T.Union([T.Literal("root"), T.Literal("ops")]);

const StepSchema = T.Object(
  {
    title: T.String({ minLength: 1 }),
    /** Role ids from index.yaml; two ceremony operators where the step is under dual control. */
    roles: T.Array(T.String(), { minItems: 1 }),
    /** Defaults to the procedure's room. */
    room: T.Optional(Room),
    /** The exact command, `iaca ...`, with `{placeholders}`. */
    run: T.Optional(T.String({ pattern: "^iaca( |$)" })),
    /** What people do by hand (a step without `run` is manual only). */
    manual: T.Optional(T.String({ minLength: 1 })),
    /** What the command prints (its shape, with <...> for varying parts). */
    prints: T.Optional(T.String()),
    /** What to check before going on. */
    check: T.String({ minLength: 1 }),
    clause: T.String(),
    /** Values later steps use: name -> regular expression with one group, on the command's output. */
    capture: T.Optional(T.Record(T.String(), T.String())),
    /** Exit codes that are a normal outcome (default 0). */
    exit: T.Optional(T.Array(T.Integer())),
    /** For the test only: what to expect where the real outcome depends on time or a failure drill. */
    test: T.Optional(
      T.Object(
        {
          exit: T.Optional(T.Integer()),
          /** A regular expression the output must match. */
          expect: T.Optional(T.String()),
          /** Extra environment (e.g. a lost HSM token) for this step only. */
          env: T.Optional(T.Record(T.String(), T.String())),
          /** Not run (a service that does not return); still checked against the CLI. */
          skip: T.Optional(T.String()),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

const ProcedureSchema = T.Object(
  {
    id: T.String({ pattern: "^R\\d{2}$" }),
    title: T.String({ minLength: 1 }),
    room: T.Union([Room, T.Literal("both")]),
    when: T.String({ minLength: 1 }),
    purpose: T.String({ minLength: 1 }),
    clauses: T.Array(T.String(), { minItems: 1 }),
    prerequisites: T.Optional(T.Array(T.String())),
    steps: T.Array(StepSchema, { minItems: 1 }),
    /** What cannot be run here (and so is not in the test) and why. */
    manualOnly: T.Optional(T.String()),
  },
  { additionalProperties: false },
);

const IndexSchema = T.Object(
  {
    title: T.String(),
    version: T.String(),
    /** The document's own date (not the build date). */
    date: T.String({ pattern: "^\\d{4}-\\d{2}-\\d{2}$" }),
    introduction: T.String(),
    rooms: T.Record(
      Room,
      T.Object({ name: T.String(), environment: T.String(), env: T.Record(T.String(), T.String()) }),
    ),
    roles: T.Record(T.String(), T.Object({ name: T.String(), duty: T.String() })),
    placeholders: T.Record(T.String(), T.String()),
    procedures: T.Array(T.String({ pattern: "^[a-z0-9-]+\\.yaml$" }), { minItems: 1 }),
  },
  { additionalProperties: false },
);

export type Step = Static<typeof StepSchema>;
export type Procedure = Static<typeof ProcedureSchema>;
export type RunbookIndex = Static<typeof IndexSchema>;
export interface Runbook {
  index: RunbookIndex;
  procedures: Procedure[];
}

function readChecked<S extends typeof IndexSchema | typeof ProcedureSchema>(schema: S, file: string): Static<S> {
  const doc = parseYaml(readFileSync(file, "utf8"));
  const errors = [...Value.Errors(schema, doc)];
  if (errors.length)
    throw new Error(
      `${file}: ${errors
        .slice(0, 5)
        .map((e) => `${e.path || "/"}: ${e.message}`)
        .join("; ")}`,
    );
  return doc as Static<S>;
}

/** Placeholders of a command or text: `{name}`. */
export function placeholdersOf(text: string): string[] {
  return [...text.matchAll(/\{([A-Za-z][A-Za-z0-9]*)\}/g)].map((m) => m[1]!);
}

/** Loads and cross-checks the runbook: roles, clauses, placeholders, procedure ids and order. */
export function loadRunbook(dir = RUNBOOK_DIR): Runbook {
  const index = readChecked(IndexSchema, join(dir, "index.yaml"));
  const procedures = index.procedures.map((f) => readChecked(ProcedureSchema, join(dir, f)));
  const problems: string[] = [];
  const known = new Set(Object.keys(index.placeholders));
  const seen = new Set<string>();
  for (const p of procedures) {
    if (seen.has(p.id)) problems.push(`${p.id}: id used twice`);
    seen.add(p.id);
    for (const c of [...p.clauses, ...p.steps.map((s) => s.clause)])
      try {
        clause(c);
      } catch {
        problems.push(`${p.id}: no CP/CPS clause ${c}`);
      }
    for (const [i, s] of p.steps.entries()) {
      const where = `${p.id} step ${i + 1}`;
      if (!s.run && !s.manual) problems.push(`${where}: neither run nor manual`);
      for (const r of s.roles) if (!index.roles[r]) problems.push(`${where}: unknown role ${r}`);
      for (const name of [...placeholdersOf(s.run ?? ""), ...Object.keys(s.capture ?? {})])
        if (!known.has(name)) problems.push(`${where}: placeholder {${name}} not described in index.yaml`);
      if (s.room === undefined && p.room === "both")
        problems.push(`${where}: say which room (the procedure spans both)`);
    }
  }
  if (problems.length) throw new Error(`runbook:\n  ${problems.join("\n  ")}`);
  return { index, procedures };
}

/** The room a step runs in. */
export function roomOf(p: Procedure, s: Step): "root" | "ops" {
  return s.room ?? (p.room as "root" | "ops");
}

/** Splits a command line into arguments: whitespace separates, "double quotes" group. */
export function splitArgs(line: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(/"([^"]*)"|(\S+)/g)) out.push(m[1] ?? m[2]!);
  return out;
}

/** The arguments after `iaca`, placeholders replaced (a missing value is an error). */
export function commandArgs(run: string, values: Record<string, string>): string[] {
  const [first, ...rest] = splitArgs(run);
  if (first !== "iaca") throw new Error(`not an iaca command: ${run}`);
  return rest.map((a) =>
    a.replace(/\{([A-Za-z][A-Za-z0-9]*)\}/g, (_m, name: string) => {
      const v = values[name];
      if (v === undefined) throw new Error(`no value for {${name}} in: ${run}`);
      return v;
    }),
  );
}

function stubbed(program: Command, errors: string[]): Command {
  const visit = (c: Command) => {
    c.exitOverride();
    c.configureOutput({ writeOut: () => undefined, writeErr: (s) => errors.push(s.trim()) });
    if (c.commands.length === 0) c.action(() => undefined);
    for (const sub of c.commands) visit(sub);
  };
  visit(program);
  return program;
}

/**
 * Parses `args` with a fresh copy of the CLI (from `build`), every action a no-op: returns what
 * commander refuses (unknown command or option, missing argument or required option, surplus
 * argument), or nothing.
 */
export async function checkArgs(build: () => Command, args: string[]): Promise<string | undefined> {
  const errors: string[] = [];
  const program = stubbed(build(), errors);
  try {
    await program.parseAsync(["node", "iaca", ...args]);
  } catch (e) {
    if (e instanceof CommanderError) return errors[0]?.split("\n")[0] || e.message;
    throw e;
  }
  return undefined;
}

/** Every command of the runbook checked against the CLI; placeholders stand in as sample values. */
export async function checkRunbookCommands(rb: Runbook, build: () => Command): Promise<string[]> {
  const sample = Object.fromEntries(Object.keys(rb.index.placeholders).map((k) => [k, `sample-${k}`]));
  const problems: string[] = [];
  for (const p of rb.procedures)
    for (const [i, s] of p.steps.entries()) {
      if (!s.run) continue;
      const refused = await checkArgs(build, commandArgs(s.run, sample));
      if (refused) problems.push(`${p.id} step ${i + 1} \`${s.run}\`: ${refused}`);
    }
  return problems;
}
