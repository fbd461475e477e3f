import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEmptyDatabase } from "../../../test/support/db.ts";
import { createSoftHsm, type SoftHsm } from "../../../test/support/softhsm.ts";

const BIN = resolve(import.meta.dirname, "../bin/iaca.js");

let hsm: SoftHsm;
let dataDir: string;
let env: NodeJS.ProcessEnv;

/** Runs `iaca` as an operator would, in its own process. */
function iaca(args: string[], extra: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { env: { ...env, ...extra }, encoding: "utf8", cwd: dataDir });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

beforeAll(() => {
  hsm = createSoftHsm();
  dataDir = mkdtempSync(join(tmpdir(), "iaca-cli-"));
  const { DATABASE_URL: _ignored, ...rest } = process.env;
  env = { ...rest, ...hsm.env, SOFTHSM2_CONF: hsm.conf, IACA_DATA_DIR: dataDir };
});

afterAll(() => {
  hsm.cleanup();
  rmSync(dataDir, { recursive: true, force: true });
});

// Every call is a fresh process opening PGlite and SoftHSM: slow on a loaded machine, never timed.
describe("iaca CLI on the embedded defaults", { timeout: 600_000 }, () => {
  it("status reports policy, database, migrations and both HSM tokens", () => {
    expect(iaca(["db", "migrate"]).code).toBe(0);
    const r = iaca(["status"]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^OK\s+policy\s+version 1\.0/m);
    expect(r.out).toMatch(/^OK\s+database\s+pglite .*migrations (\d+)\/\1 applied/m);
    expect(r.out).toMatch(/^OK\s+hsm\.root .*token "iaca-root" logged in/m);
    expect(r.out).toMatch(/^OK\s+hsm\.ds .*token "iaca-ds" logged in/m);
  });

  it("status fails with exit 1 and a typed reason when a PIN is wrong, without a stack trace", () => {
    const r = iaca(["status"], { IACA_HSM_DS_PIN: "wrong-pin" });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^FAIL\s+hsm\.ds .*HSM_PIN_INCORRECT/m);
    expect(r.out + r.err).not.toMatch(/\n\s+at /);
  });

  it("a bad policy file names the field and exits non-zero", () => {
    const bad = join(dataDir, "bad.yaml");
    writeFileSync(bad, "mso:\n  validity: thirty days\n");
    const r = iaca(["--policy", bad, "policy"]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("POLICY_INVALID");
    expect(r.err).toContain("/mso/validity");
  });

  it("audit verify and export agree on the chain head", () => {
    const v = iaca(["audit", "verify", "--json"]);
    expect(v.code).toBe(0);
    const verified = JSON.parse(v.out);
    expect(verified.ok).toBe(true);
    const file = join(dataDir, "audit.jsonl");
    expect(iaca(["audit", "export", "--out", file]).code).toBe(0);
    const lines = readFileSync(file, "utf8").trim().split("\n");
    const head = JSON.parse(lines.at(-1)!).head;
    expect(head.seq).toBe(verified.count);
    // An archive is never overwritten.
    const again = iaca(["audit", "export", "--out", file]);
    expect(again.code).toBe(1);
    expect(again.err).toContain("CLI_FILE_UNWRITABLE");
  });
});

describe("iaca CLI on PostgreSQL", { timeout: 600_000 }, () => {
  it("db migrate applies every migration once and db status is then up to date", async () => {
    const pg = await createEmptyDatabase();
    try {
      const first = iaca(["db", "migrate"], { DATABASE_URL: pg.url });
      expect(first.code).toBe(0);
      expect(first.out).toMatch(/^postgres .*: [1-9]\d* applied, 0 already applied/m);
      expect(iaca(["db", "migrate"], { DATABASE_URL: pg.url }).out).toMatch(/: 0 applied/);
      const s = iaca(["db", "status"], { DATABASE_URL: pg.url });
      expect(s.code).toBe(0);
      expect(s.out).not.toMatch(/pending/);
    } finally {
      await pg.drop();
    }
  });
});
