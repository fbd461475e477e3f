// Crash safety: the server process is killed in the middle of a batch (after its 4th MSO
// signature), restarted, and the client retries with the same Idempotency-Key. Then the same
// server with two DS HSM nodes configured.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FreshDatabase, freshDatabase } from "./support/db.ts";
import { createSoftHsm, type SoftHsm } from "./support/softhsm.ts";
import { call, deviceKey, person, personalValues, proof } from "./support/stack.ts";

const ROOT = resolve(import.meta.dirname, "..");
let hsm: SoftHsm;
let fresh: FreshDatabase;
let dataDir: string;
const output: string[] = [];
let child: ChildProcess | undefined;

interface Server {
  url: string;
  proc: ChildProcess;
  exited: Promise<number | null>;
}

/** `iaca serve`, or with TEST_KILL_AFTER_SIGN the test-only entry that injects the crash. */
function start(extraEnv: Record<string, string> = {}): Promise<Server> {
  const entry = extraEnv.TEST_KILL_AFTER_SIGN
    ? [join(ROOT, "test/support/serve-with-faults.ts")]
    : [join(ROOT, "apps/cli/bin/iaca.js"), "serve", "--port", "0"];
  const proc = spawn(process.execPath, entry, {
    cwd: ROOT,
    env: {
      ...process.env,
      ...hsm.env,
      SOFTHSM2_CONF: hsm.conf,
      DATABASE_URL: fresh.url,
      IACA_DATA_DIR: dataDir,
      IACA_INSTANCE: "crash-test",
      IACA_LOG_LEVEL: "debug",
      ...extraEnv,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child = proc;
  const exited = new Promise<number | null>((r) => proc.on("exit", (code) => r(code)));
  return new Promise((resolveStart, reject) => {
    let url = "";
    const onLine = (chunk: Buffer) => {
      const text = chunk.toString("utf8");
      output.push(text);
      const m = /RA\s+(https:\/\/127\.0\.0\.1:\d+)/.exec(text);
      if (m) url = m[1]!;
      if (/^ready$/m.test(text)) resolveStart({ url, proc, exited });
    };
    proc.stdout!.on("data", onLine);
    proc.stderr!.on("data", (c: Buffer) => output.push(c.toString("utf8")));
    void exited.then((code) =>
      reject(new Error(`server exited (${code}) before ready:\n${output.join("").slice(-3000)}`)),
    );
  });
}

beforeAll(async () => {
  hsm = createSoftHsm(["iaca-root", "iaca-ds", "iaca-ds-b"]);
  fresh = await freshDatabase();
  dataDir = mkdtempSync(join(tmpdir(), "iaca-crash-"));
});
afterAll(async () => {
  child?.kill("SIGKILL");
  await fresh?.drop();
  hsm?.cleanup();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe("ra.idempotency / issuer.record-before-sign: crash during a batch", () => {
  const holder = person(21);
  const key = { "idempotency-key": "crash-test-key-0001" };
  let body: unknown;
  let requestId: string;
  const tls = () => ({
    serverCa: { certPem: readFileSync(join(dataDir, "tls/service-ca.crt"), "utf8"), keyPem: "" },
    client: {
      certPem: readFileSync(join(dataDir, "clients/demo-wallet/cert.pem"), "utf8"),
      keyPem: readFileSync(join(dataDir, "clients/demo-wallet/key.pem"), "utf8"),
    },
  });

  it("ra.idempotency: the process dies after its 4th signature; the records written before signing remain", async () => {
    const server = await start({ TEST_KILL_AFTER_SIGN: "4" });
    const { serverCa, client } = tls();
    const stack = { url: server.url, serverCa };
    const nonce = (await call<{ nonce: string }>(stack, client, "POST", "/v1/nonce")).json.nonce;
    const keys = await Promise.all(Array.from({ length: 10 }, () => deviceKey()));
    body = { profile: "interop", holder, proofs: { jwt: await Promise.all(keys.map((k) => proof(k, nonce))) } };
    await expect(call(stack, client, "POST", "/v1/credentials", body, key)).rejects.toThrow();
    await server.exited;
    const [req] = await fresh.db.sql.query<{ id: string; state: string }>(
      `SELECT id, state FROM ra_request WHERE idempotency_key = $1`,
      [key["idempotency-key"]],
    );
    expect(req?.state).toBe("pending");
    requestId = req!.id;
    const rows = await fresh.db.sql.query<{ state: string }>(`SELECT state FROM issuance WHERE request_id = $1`, [
      requestId,
    ]);
    expect(rows).toHaveLength(10);
    expect(rows.every((r) => r.state === "pending")).toBe(true);
  }, 240_000);

  it("ra.idempotency: after a restart the retry gets one consistent answer, replayed on every later retry", async () => {
    const server = await start();
    const { serverCa, client } = tls();
    const stack = { url: server.url, serverCa };
    const first = await call<{ requestId: string; credentials: { id: string }[] }>(
      stack,
      client,
      "POST",
      "/v1/credentials",
      body,
      key,
    );
    expect(first.status, first.text).toBe(201);
    expect(first.json.requestId).toBe(requestId);
    expect(first.json.credentials).toHaveLength(10);
    const again = await call<typeof first.json>(stack, client, "POST", "/v1/credentials", body, key);
    expect(again.status).toBe(201);
    expect(again.headers["idempotent-replayed"]).toBe("true");
    expect(again.json).toEqual(first.json);

    // every record is accounted for: the crashed attempt's are abandoned, the delivered ones issued
    const rows = await fresh.db.sql.query<{ id: string; state: string }>(
      `SELECT id, state FROM issuance WHERE request_id = $1`,
      [requestId],
    );
    expect(rows).toHaveLength(20);
    const issued = rows.filter((r) => r.state === "issued").map((r) => r.id);
    expect(issued.sort()).toEqual(first.json.credentials.map((c) => c.id).sort());
    expect(rows.filter((r) => r.state === "abandoned")).toHaveLength(10);
    const pending = await fresh.db.sql.query(`SELECT id FROM issuance WHERE state = 'pending'`);
    expect(pending).toHaveLength(0);
    const audit = await fresh.db.sql.query<{ targets: string[] }>(
      `SELECT targets FROM audit_event WHERE action = 'mdoc.issue.abandoned'`,
    );
    expect(audit.some((a) => a.targets.includes(requestId))).toBe(true);
    // the audit chain and the issuance table agree: every issued row is in a batch event (written
    // in the transaction that completed it), every abandoned one in an abandoned event
    const audited = async (action: string, outcome = "success") =>
      new Set(
        (
          await fresh.db.sql.query<{ targets: string[] }>(
            "SELECT targets FROM audit_event WHERE action = $1 AND outcome = $2",
            [action, outcome],
          )
        ).flatMap((a) => a.targets),
      );
    const batchIds = await audited("mdoc.issue.batch");
    const abandonedIds = await audited("mdoc.issue.abandoned", "failure");
    const all = await fresh.db.sql.query<{ id: string; state: string }>("SELECT id, state FROM issuance");
    expect(all.filter((r) => r.state === "issued" && !batchIds.has(r.id))).toEqual([]);
    expect(all.filter((r) => r.state === "abandoned" && !abandonedIds.has(r.id))).toEqual([]);
    server.proc.kill("SIGTERM");
    await server.exited;
  }, 240_000);

  it("hsm.cluster.failover: with two DS nodes configured the issuer signs through the cluster, skipping a node without the key", async () => {
    // the DS key was made on node a (token iaca-ds) by the first start above; node b comes first and
    // holds no DS key, so a plain KeyStore on the first node could not sign at all
    const nodes = JSON.stringify([
      { name: "b", token: "iaca-ds-b", pinEnv: "TEST_DS_B_PIN" },
      { name: "a", token: "iaca-ds" },
    ]);
    const server = await start({ IACA_HSM_DS_NODES: nodes, TEST_DS_B_PIN: "iaca-ds-b-pin" });
    const { serverCa, client } = tls();
    const stack = { url: server.url, serverCa };
    const nonce = (await call<{ nonce: string }>(stack, client, "POST", "/v1/nonce")).json.nonce;
    const keys = await Promise.all(Array.from({ length: 2 }, () => deviceKey()));
    const issued = await call<{ credentials: { id: string }[] }>(stack, client, "POST", "/v1/credentials", {
      profile: "interop",
      holder,
      proofs: { jwt: await Promise.all(keys.map((k) => proof(k, nonce))) },
    });
    expect(issued.status, issued.text).toBe(201);
    expect(issued.json.credentials).toHaveLength(2);
    // each start recorded the policy it runs under and the HSM logins (CP/CPS 5.4.1)
    const starts = await fresh.db.sql.query<{ action: string; targets: string[] }>(
      `SELECT action, targets FROM audit_event WHERE action IN ('policy.load', 'hsm.activate') AND outcome = 'success'`,
    );
    expect(starts.filter((e) => e.action === "policy.load").length).toBeGreaterThanOrEqual(3);
    expect(starts.some((e) => e.action === "hsm.activate" && e.targets[0] === "pkcs11:token=iaca-ds-b")).toBe(true);
    server.proc.kill("SIGTERM");
    await server.exited;
  }, 240_000);

  it("privacy.no-pii-in-logs: the server processes' output carries no personal data", () => {
    const all = output.join("");
    expect(all).toContain("Server listening");
    for (const v of personalValues(holder)) expect(all.includes(v), `${v} in output`).toBe(false);
  });
});
