// The runbook is a test: every command of every procedure in docs/runbook, in the runbook's
// order, on throwaway SoftHSM tokens, the root room on its own embedded database and the
// operations room on a fresh PostgreSQL database, as two rooms would run them. Values a step
// prints (serials, SHA-256s) feed the placeholders of later steps. Manual steps are not run.
//
// Commands run through the CLI's own entry point (main) in this process, one command at a time
// with the room's environment; RUNBOOK_EXEC=spawn runs each as `node apps/cli/bin/iaca.js ...`
// instead (the same, about 3 s slower per command on this machine). RUNBOOK_LOG=FILE appends every
// command and its output to FILE.
import { spawnSync } from "node:child_process";
import { appendFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { buildProgram, main } from "@iaca/cli/main";
import { DEFAULT_POLICY } from "@iaca/policy";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  checkArgs,
  checkRunbookCommands,
  commandArgs,
  loadRunbook,
  type Procedure,
  roomOf,
  type Step,
  splitArgs,
} from "../scripts/runbook.ts";
import { checkDualControl, prepareRunbook, renderRunbook } from "../scripts/runbook-build.ts";
import { createEmptyDatabase } from "./support/db.ts";
import { createSoftHsm, type SoftHsm } from "./support/softhsm.ts";

const BIN = resolve(import.meta.dirname, "../apps/cli/bin/iaca.js");
const runbook = loadRunbook();

interface Outcome {
  code: number;
  out: string;
}

/** Runs one command in this process with `env` as the whole environment. */
async function inProcess(args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<Outcome> {
  const saved = { ...process.env };
  const savedCwd = process.cwd();
  const chunks: string[] = [];
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  const capture = (chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
    return true;
  };
  for (const k of Object.keys(process.env)) delete process.env[k];
  Object.assign(process.env, env);
  process.chdir(cwd);
  process.stdout.write = capture as typeof process.stdout.write;
  process.stderr.write = capture as typeof process.stderr.write;
  process.exitCode = undefined;
  try {
    const code = await main(["node", "iaca", ...args]);
    return { code, out: chunks.join("") };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
    process.exitCode = undefined;
    process.chdir(savedCwd);
    for (const k of Object.keys(process.env)) delete process.env[k];
    Object.assign(process.env, saved);
  }
}

function spawned(args: string[], env: NodeJS.ProcessEnv, cwd: string): Outcome {
  const r = spawnSync(process.execPath, [BIN, ...args], { env, cwd, encoding: "utf8", timeout: 300_000 });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

const exec = process.env.RUNBOOK_EXEC === "spawn" ? spawned : inProcess;

describe("runbook: every command matches the CLI's own definitions", () => {
  it("every procedure's commands parse with the real commander program", async () => {
    expect(await checkRunbookCommands(runbook, buildProgram)).toEqual([]);
  });

  it("a renamed command or option, a missing required option or argument, a surplus argument is refused", async () => {
    const refused = async (line: string) => checkArgs(buildProgram, splitArgs(line).slice(1));
    expect(await refused("iaca root init --operator a --out x.pem")).toBeUndefined();
    expect(await refused("iaca root initialise --operator a")).toMatch(/unknown command|too many arguments/);
    expect(await refused("iaca root init --operators a")).toMatch(/unknown option '--operators'/);
    expect(await refused("iaca root sign-csr ds.csr --operator a")).toMatch(/required option '--expect-sha256/);
    expect(await refused("iaca root revoke --reason keyCompromise")).toMatch(/missing required argument 'serial'/);
    expect(await refused("iaca ds list extra")).toMatch(/too many arguments/);
    // and the runbook's own check finds it in a procedure
    const broken = structuredClone(runbook);
    broken.procedures[0]!.steps.find((s) => s.run)!.run = "iaca db migrate --dry-run";
    expect((await checkRunbookCommands(broken, buildProgram)).join("\n")).toMatch(
      /R01 step \d+ `iaca db migrate --dry-run`: error: unknown option '--dry-run'/,
    );
    // a program that lost an option (renamed in the CLI) refuses the runbook's command
    const renamed = () => {
      const p = buildProgram();
      const status = p.commands.find((c) => c.name() === "status")!;
      (status as unknown as { options: unknown[] }).options = status.options.filter((o) => o.long !== "--room");
      return p;
    };
    expect((await checkRunbookCommands(runbook, renamed)).some((p) => p.includes("unknown option '--room'"))).toBe(
      true,
    );
  });
});

describe("runbook: the document", () => {
  it("renders every procedure with its room, roles, dual control, commands, checks and clauses", () => {
    const md = renderRunbook(runbook, DEFAULT_POLICY);
    for (const p of runbook.procedures) expect(md).toContain(`# ${p.id} ${p.title}`);
    expect(md).toContain('date: "2026-11-30"');
    expect(md).toContain("iaca root init --operator <rootOp1> --operator <rootOp2>");
    expect(md).toMatch(/\| 役割 \| セレモニー管理者、立会人（二人制御：異なる2名のセレモニー管理者が認証する） \|/);
    expect(md).toContain("| CP/CPS | 6.1.1 鍵ペアの生成 |");
    expect(md).not.toMatch(/\{[A-Za-z]+\}/); // every placeholder shown as <name>
  });

  it("a step the policy puts under dual control must name two operators", () => {
    expect(checkDualControl(runbook, DEFAULT_POLICY)).toEqual([]);
    const broken = structuredClone(runbook);
    const keygen = broken.procedures.find((p) => p.id === "R04")!.steps[0]!;
    keygen.run = keygen.run!.replace(" --operator {opsOp2}", "");
    expect(checkDualControl(broken, DEFAULT_POLICY)).toEqual([
      "R04 step 1: ds.keygen is under dual control (policy) but names fewer than two operators",
    ]);
  });

  it("prepareRunbook checks the procedures and counts their commands", async () => {
    const r = await prepareRunbook(DEFAULT_POLICY);
    expect(r.procedures).toBe(runbook.procedures.length);
    expect(r.commands).toBe(runbook.procedures.flatMap((p) => p.steps).filter((s) => s.run).length);
    for (const p of runbook.procedures) expect(r.markdown).toContain(`# ${p.id} ${p.title}`);
  });
});

describe("runbook: the procedures run in order on throwaway HSM tokens and databases", { timeout: 900_000 }, () => {
  let hsm: SoftHsm;
  let pg: Awaited<ReturnType<typeof createEmptyDatabase>>;
  let dir: string;
  const values: Record<string, string> = {};
  const env: Record<"root" | "ops", NodeJS.ProcessEnv> = { root: {}, ops: {} };
  const cwd: Record<"root" | "ops", string> = { root: "", ops: "" };

  beforeAll(async () => {
    // the operators' shells in both rooms run with umask 077 (R01; `iaca status` checks the data directory)
    process.umask(0o077);
    hsm = createSoftHsm(["iaca-root", "iaca-ds"]);
    pg = await createEmptyDatabase();
    dir = mkdtempSync(join(tmpdir(), "iaca-runbook-"));
    for (const d of ["media", "root", "root/work", "ops", "ops/work"]) mkdirSync(join(dir, d), { recursive: true });
    const day = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString();
    Object.assign(values, {
      rootOp1: "alice",
      rootOp2: "bob",
      opsOp1: "carol",
      opsOp2: "dave",
      newOp: "erin",
      media: join(dir, "media"),
      rootWork: join(dir, "root/work"),
      opsWork: join(dir, "ops/work"),
      planFrom: day(0).slice(0, 10),
      whatIf: day(45),
      presignDate: day(2).slice(0, 10),
    });
    const { DATABASE_URL: _db, IACA_POLICY: _policy, IACA_DATA_DIR: _data, ...base } = process.env;
    const common = { ...base, SOFTHSM2_CONF: hsm.conf, IACA_PKCS11_MODULE: hsm.module };
    const secret = (id: string) => ({ [`IACA_OPERATOR_SECRET_${id.toUpperCase()}`]: `${id}-runbook-secret` });
    env.root = {
      ...common,
      IACA_DATA_DIR: join(dir, "root"),
      IACA_HSM_ROOT_TOKEN: "iaca-root",
      IACA_HSM_ROOT_PIN: "iaca-root-pin",
      ...secret("alice"),
      ...secret("bob"),
    };
    env.ops = {
      ...common,
      DATABASE_URL: pg.url,
      IACA_DATA_DIR: join(dir, "ops"),
      IACA_HSM_DS_TOKEN: "iaca-ds",
      IACA_HSM_DS_PIN: "iaca-ds-pin",
      ...secret("carol"),
      ...secret("dave"),
      ...secret("erin"),
    };
    cwd.root = join(dir, "root/work");
    cwd.ops = join(dir, "ops/work");
  });

  afterAll(async () => {
    hsm?.cleanup();
    await pg?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const fill = (text: string) => text.replace(/\{([A-Za-z][A-Za-z0-9]*)\}/g, (_m, k: string) => values[k] ?? `{${k}}`);

  async function runStep(p: Procedure, s: Step, n: number): Promise<void> {
    const room = roomOf(p, s);
    const args = commandArgs(s.run!, values);
    const r = await exec(args, { ...env[room], ...s.test?.env }, cwd[room]);
    const where = `${p.id} step ${n} (${room}) iaca ${args.join(" ")}\n${r.out}`;
    if (process.env.RUNBOOK_LOG) appendFileSync(process.env.RUNBOOK_LOG, `== ${where}[exit ${r.code}]\n`);
    const expected = s.test?.exit !== undefined ? [s.test.exit] : (s.exit ?? [0]);
    expect(expected, where).toContain(r.code);
    if (s.test?.expect) expect(r.out, where).toMatch(new RegExp(fill(s.test.expect)));
    for (const [name, re] of Object.entries(s.capture ?? {})) {
      const m = new RegExp(re, "m").exec(r.out);
      expect(m?.[1], `${where}\ncapture ${name} /${re}/`).toBeDefined();
      values[name] = m![1]!;
    }
  }

  for (const p of runbook.procedures) {
    const runnable = p.steps.filter((s) => s.run && !s.test?.skip);
    it.skipIf(runnable.length === 0)(`${p.id} ${p.title}: ${runnable.length} commands`, async () => {
      for (const [i, s] of p.steps.entries()) if (s.run && !s.test?.skip) await runStep(p, s, i + 1);
    });
  }
});
