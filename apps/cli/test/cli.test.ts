import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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
    // the doctype profile in use, and that it is not the seed's draft (docs/api.md)
    expect(r.out).toMatch(
      /^OK\s+profile\s+interop: docType org\.iso\.23220\.1\.jp\.mnc; org\.iso\.23220\.1\.jp 7 elements, org\.iso\.23220\.1 4 elements; 6 element identifiers not in the seed's figures 4\/5/m,
    );
    expect(r.out).toMatch(/^OK\s+database\s+pglite .*migrations (\d+)\/\1 applied/m);
    expect(r.out).toMatch(/^OK\s+hsm\.root .*token "iaca-root" logged in/m);
    expect(r.out).toMatch(/^OK\s+hsm\.ds .*token "iaca-ds" logged in/m);
    expect(r.out).toMatch(/^OK\s+data-dir\s+.*owner-only/m);
  });

  it("cli.data-dir.private: what the CLI creates is owner-only, and status reports anything more open with the fix", () => {
    // the embedded database the previous test created through the CLI
    const open = spawnSync("find", [dataDir, "-perm", "/077"], { encoding: "utf8" }).stdout.trim();
    expect(open).toBe("");
    const leak = join(dataDir, "leak.txt");
    writeFileSync(leak, "x");
    chmodSync(leak, 0o644);
    try {
      const r = iaca(["status"]);
      expect(r.code).toBe(1);
      expect(r.out).toMatch(
        /^FAIL\s+data-dir\s+ERROR 1 path\(s\) readable by group or others: .*leak\.txt \(644\); fix: chmod -R go-rwx /m,
      );
    } finally {
      rmSync(leak);
    }
  });

  it("an administrative command while another process holds the embedded database says exactly what works", () => {
    // a live process other than the CLI's holds the lock, as a running `iaca serve` would
    const lock = join(dataDir, "db.lock");
    writeFileSync(lock, String(process.pid));
    try {
      const r = iaca(["client", "list"]);
      expect(r.code).toBe(1);
      expect(r.err).toContain(`DB_LOCKED: the database in ${join(dataDir, "db")} is in use by process ${process.pid}`);
      expect(r.err).toContain(
        `kill -TERM ${process.pid} && npx iaca client list <the same arguments> && npx iaca serve`,
      );
      expect(r.err).toContain("PostgreSQL (DATABASE_URL)");
    } finally {
      rmSync(lock, { force: true });
    }
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

describe("iaca operator: a room's ceremony operators", { timeout: 600_000 }, () => {
  const secrets = {
    IACA_OPERATOR_SECRET_ALICE: "alice-secret-123456",
    IACA_OPERATOR_SECRET_BOB: "bob-secret-1234567",
    IACA_OPERATOR_SECRET_CAROL: "carol-secret-123456",
    IACA_OPERATOR_SECRET_DAVE: "dave-secret-1234567",
  };
  const op = (args: string[]) => iaca([...args, "--room", "ops"], secrets);

  it("pki.operator.registry: enrol once, add and disable only under dual control, never lock the room out", () => {
    expect(op(["operator", "enroll", "--operator", "alice"]).err).toContain("OPERATOR_TOO_FEW");
    const first = op(["operator", "enroll", "--operator", "alice", "--operator", "bob"]);
    expect(first.err).toBe("");
    expect(first.out).toContain("enrolled op:alice, op:bob in the ops room");
    const again = op(["operator", "enroll", "--operator", "alice", "--operator", "bob"]);
    expect(again.code).toBe(1);
    expect(again.err).toContain("OPERATOR_REGISTRY_NOT_EMPTY");

    const alone = op(["operator", "add", "carol", "--operator", "alice"]);
    expect(alone.code).toBe(1);
    expect(alone.err).toContain("DUAL_CONTROL_REQUIRED");
    expect(op(["operator", "add", "carol", "--operator", "alice", "--operator", "bob"]).code).toBe(0);
    expect(op(["operator", "add", "carol", "--operator", "alice", "--operator", "bob"]).err).toContain(
      "OPERATOR_EXISTS",
    );

    const off = op([
      "operator",
      "disable",
      "alice",
      "--reason",
      "moved to another team",
      "--operator",
      "bob",
      "--operator",
      "carol",
    ]);
    expect(off.err).toBe("");
    // alice can no longer take part in a step
    expect(op(["operator", "add", "dave", "--operator", "alice", "--operator", "bob"]).err).toContain(
      "OPERATOR_CREDENTIAL_INVALID",
    );
    const lockout = op(["operator", "disable", "bob", "--reason", "test", "--operator", "bob", "--operator", "carol"]);
    expect(lockout.code).toBe(1);
    expect(lockout.err).toContain("OPERATOR_LOCKOUT");

    const list = op(["operator", "list", "--json"]);
    expect(list.code).toBe(0);
    const rows = JSON.parse(list.out) as { id: string; disabledAt: string | null }[];
    expect(rows.map((r) => [r.id, r.disabledAt !== null])).toEqual([
      ["alice", true],
      ["bob", false],
      ["carol", false],
    ]);
    expect(list.out).not.toMatch(/secret|scrypt/);
  });

  it("pki.ceremony.dual-control: DS key generation needs two operators; the registry changes are in the audit log", () => {
    const one = iaca(["ds", "keygen", "--operator", "bob", "--out", join(dataDir, "one.csr")], secrets);
    expect(one.code).toBe(1);
    expect(one.err).toContain("DUAL_CONTROL_REQUIRED");
    const file = join(dataDir, "operators-audit.jsonl");
    expect(iaca(["audit", "export", "--out", file]).code).toBe(0);
    const all = readFileSync(file, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    // every refused authorisation is in the audit log too (who claimed to act, which step, why)
    expect(
      all.filter((e) => e.action === "ceremony.authorize").map((e) => [e.targets[0], e.outcome, e.details.code]),
    ).toEqual([
      ["operator.add", "denied", "DUAL_CONTROL_REQUIRED"],
      ["operator.add", "denied", "OPERATOR_CREDENTIAL_INVALID"],
      ["ds.keygen", "denied", "DUAL_CONTROL_REQUIRED"],
    ]);
    const events = all.filter((e) => String(e.action).startsWith("operator."));
    expect(events.map((e) => [e.action, e.targets, e.actor])).toEqual([
      ["operator.enroll", ["op:alice", "op:bob"], "op:alice+op:bob"],
      ["operator.add", ["op:carol"], "op:alice+op:bob"],
      ["operator.disable", ["op:alice"], "op:bob+op:carol"],
    ]);
    expect(events.every((e) => e.clause === "5.2.3")).toBe(true);
    expect(JSON.stringify(events)).not.toMatch(/secret-/);
  });

  it("policy.seed-limits: a step under a policy beyond the seed's limits records the override (policy.load) and its transcript names it", () => {
    const beyond = join(dataDir, "beyond.yaml");
    writeFileSync(beyond, "mso:\n  validity: P60D\n");
    const refused = iaca(["--policy", beyond, "operator", "add", "dave", "--room", "ops"], secrets);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain("POLICY_SEED_LIMIT: policy beyond the seed's limits");
    expect(refused.err).toContain("/mso/validity: P60D");

    const reason = "60-day MSO pilot approved by the policy authority";
    const overriding = join(dataDir, "override.yaml");
    writeFileSync(
      overriding,
      `mso:\n  validity: P60D\nseedLimitOverride:\n  fields: [mso.validity]\n  reason: ${reason}\n`,
    );
    const transcript = join(dataDir, "add-dave.txt");
    const args = ["operator", "add", "dave", "--room", "ops", "--operator", "bob", "--operator", "carol"];
    const r = iaca(["--policy", overriding, ...args, "--transcript", transcript], secrets);
    expect(r.err).toBe("");
    expect(readFileSync(transcript, "utf8")).toMatch(
      /seed limits overridden\s+mso\.validity P60D \(seed: max P30D\); reason: 60-day/,
    );
    const status = iaca(["--policy", overriding, "status"]);
    expect(status.out).toMatch(
      /^OK\s+policy .*SEED LIMITS OVERRIDDEN: mso\.validity P60D \(seed: max P30D\), reason: 60-day/m,
    );
    const file = join(dataDir, "override-audit.jsonl");
    expect(iaca(["audit", "export", "--out", file]).code).toBe(0);
    const loads = readFileSync(file, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l))
      .filter((e) => e.action === "policy.load");
    expect(loads.map((e) => [e.actor, e.clause, e.details.source, e.details.seedLimitOverride])).toEqual([
      [
        "svc:cli",
        "5.4.1",
        overriding,
        { reason, fields: [{ field: "mso.validity", value: "P60D", limit: "P30D", bound: "max" }] },
      ],
    ]);
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
      // the state is the first column (a migration name may contain the word)
      expect(s.out).not.toMatch(/^pending/m);
    } finally {
      await pg.drop();
    }
  });
});
