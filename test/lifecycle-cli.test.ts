// `iaca rotate` and `iaca simulate` as an operator runs them: own process, embedded database.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSoftHsm, type SoftHsm } from "./support/softhsm.ts";

const BIN = resolve(import.meta.dirname, "../apps/cli/bin/iaca.js");
let hsm: SoftHsm;
let dir: string;
let env: NodeJS.ProcessEnv;

function iaca(args: string[], cwd = dir) {
  const r = spawnSync(process.execPath, [BIN, ...args], { env, encoding: "utf8", cwd });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

beforeAll(() => {
  hsm = createSoftHsm();
  dir = mkdtempSync(join(tmpdir(), "iaca-lifecycle-cli-"));
  const { DATABASE_URL: _ignored, ...rest } = process.env;
  env = { ...rest, ...hsm.env, SOFTHSM2_CONF: hsm.conf, IACA_DATA_DIR: dir };
});

afterAll(() => {
  hsm?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

describe("iaca rotate / simulate", { timeout: 600_000 }, () => {
  it("lifecycle.rotate.exclusive: iaca rotate --dry-run --json on a fresh installation: nothing due, exit 0, metrics file", () => {
    const r = iaca(["rotate", "--dry-run", "--json", "--metrics-file", join(dir, "rotate.prom")]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const json = JSON.parse(r.out) as { dryRun: boolean; actions: unknown[]; exitCode: number };
    expect(json).toMatchObject({ dryRun: true, actions: [], exitCode: 0 });
    expect(readFileSync(join(dir, "rotate.prom"), "utf8")).toMatch(/^iaca_rotation_status 0$/m);
  });

  it("lifecycle.simulation.schedule: iaca simulate --months 1 prints the summary, writes the SVG timeline and exits 0", () => {
    const svg = join(dir, "timeline.svg");
    const r = iaca(["simulate", "--months", "1", "--issues-per-week", "1", "--no-drill", "--svg", svg]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Failures\s+0$/m);
    expect(r.out).toMatch(/^Ceremonies\s+1 root-room visits/m);
    expect(existsSync(svg) && readFileSync(svg, "utf8")).toContain("<svg");
  });

  it("iaca simulate without --svg writes nothing into the working directory", () => {
    const cwd = join(dir, "cwd");
    mkdirSync(cwd);
    const r = iaca(["simulate", "--months", "1", "--issues-per-week", "1", "--no-drill", "--json"], cwd);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).not.toHaveProperty("svg");
    expect(readdirSync(cwd)).toEqual([]);
  });
});
