// The audit chain anchored outside the database (issue 16 item 7): checkpoints of the chain head
// signed with an HSM key (SoftHSM) and appended to a file; `audit verify` checks them by default.
// Each tampering a database owner can do is detected with its first bad position, without any
// operator input: modify, delete, insert, reorder, cut the tail, rewrite a suffix with hashes.
import { execFile } from "node:child_process";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { AuditLog } from "@iaca/db";
import { KeyStore } from "@iaca/hsm";
import { auditCheckpointKey, readAuditCheckpoints, verifyAuditAnchored, writeAuditCheckpoint } from "@iaca/lifecycle";
import { type AuditEventInput, clause } from "@iaca/policy";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { rewriteAuditFrom, tamper as tamperAudit } from "./support/audit-tamper.ts";
import { type FreshDatabase, freshDatabase } from "./support/db.ts";
import { createSoftHsm, type SoftHsm } from "./support/softhsm.ts";

let hsm: SoftHsm;
let ks: KeyStore;
let other: KeyStore;
let fresh: FreshDatabase;
let log: AuditLog;
let dir: string;
let file: string;

beforeAll(async () => {
  hsm = createSoftHsm(["iaca-ds", "mallory"]);
  fresh = await freshDatabase();
  log = new AuditLog(fresh.db);
  ks = await KeyStore.open({ module: hsm.module, token: "iaca-ds", pin: "iaca-ds-pin", audit: log });
  other = await KeyStore.open({
    module: hsm.module,
    token: "mallory",
    pin: "mallory-pin",
    audit: { append: async () => undefined } as never,
  });
  await auditCheckpointKey(ks, { create: true, actor: "op:test" });
  await auditCheckpointKey(other, { create: true });
  dir = mkdtempSync(join(tmpdir(), "audit-checkpoint-"));
});

afterAll(async () => {
  ks?.close();
  other?.close();
  await fresh?.drop();
  hsm?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

let run = 0;
beforeEach(() => {
  file = join(dir, `checkpoints-${++run}.jsonl`);
});

const event = (i: number): AuditEventInput => ({
  actor: "op:alice",
  action: "ds.certificate.issue",
  targets: [`serial:${i}`],
  outcome: "success",
  clause: clause("4.3.1"),
  details: { i },
});

const tamper = (sql: string, params: unknown[] = []) => tamperAudit(fresh.url, sql, params);

/** A fresh chain of `n` events with a signed checkpoint after every `every` of them. */
async function chainOf(n: number, every = 1): Promise<void> {
  await tamper("DELETE FROM audit_event");
  rmSync(file, { force: true });
  for (let i = 1; i <= n; i++) {
    await log.append(event(i));
    if (i % every === 0) await writeAuditCheckpoint({ db: fresh.db, hsm: ks, file });
  }
}

const rewriteFrom = (from: number) => rewriteAuditFrom(fresh.db, fresh.url, from);

const verify = () => verifyAuditAnchored(fresh.db, file);

describe("audit checkpoints", () => {
  it("audit.checkpoint.anchored: checkpoints are signed in the HSM, only when the head moved; an intact chain verifies", async () => {
    await chainOf(6, 2);
    const again = await writeAuditCheckpoint({ db: fresh.db, hsm: ks, file });
    expect(again.written).toBe(false);
    const { checkpoints, kid, problems } = readAuditCheckpoints(file);
    expect(problems).toEqual([]);
    expect(checkpoints.map((c) => c.seq)).toEqual([2, 4, 6]);
    expect(kid).toBe((await auditCheckpointKey(ks))!.kid);
    const r = await verify();
    expect(r).toMatchObject({ ok: true, count: 6, checkpoints: { count: 3, latest: { seq: 6 } } });
  });

  it("audit.checkpoint.anchored: modify, delete, insert and reorder are found by the chain with their first bad row", async () => {
    await chainOf(10, 3);
    await tamper(`UPDATE audit_event SET details = '{"i": 99}' WHERE seq = 5`);
    expect((await verify()).failure).toMatchObject({ kind: "modified", seq: 5 });
    await chainOf(10, 3);
    await tamper("DELETE FROM audit_event WHERE seq = 4");
    expect((await verify()).failure).toMatchObject({ kind: "deleted", seq: 4 });
    await chainOf(10, 3);
    await tamper("UPDATE audit_event SET seq = -seq WHERE seq >= 7");
    await tamper("UPDATE audit_event SET seq = -seq + 1 WHERE seq < 0");
    await tamper(
      `INSERT INTO audit_event (seq, at, actor, action, targets, outcome, clause, details, prev_hash, hash)
       SELECT 7, at, 'op:mallory', action, targets, outcome, clause, details, hash, repeat('f', 64)
         FROM audit_event WHERE seq = 6`,
    );
    expect((await verify()).failure).toMatchObject({ kind: "inserted", seq: 7 });
    await chainOf(10, 3);
    await tamper("UPDATE audit_event SET seq = -seq WHERE seq IN (3, 4)");
    await tamper("UPDATE audit_event SET seq = 4 WHERE seq = -3");
    await tamper("UPDATE audit_event SET seq = 3 WHERE seq = -4");
    expect((await verify()).failure).toMatchObject({ kind: "reordered", seq: 3 });
  });

  it("audit.checkpoint.anchored: a cut tail is found without any head from the operator", async () => {
    await chainOf(10, 2);
    await tamper("DELETE FROM audit_event WHERE seq >= 8");
    const r = await verify();
    expect(r.failure).toMatchObject({ kind: "deleted", seq: 8 });
  });

  it("audit.checkpoint.anchored: a suffix rewritten with recomputed hashes is found at its first row", async () => {
    await chainOf(10, 1);
    await rewriteFrom(6);
    expect((await verifyAuditAnchored(fresh.db, join(dir, "none.jsonl"))).ok).toBe(true); // the table alone cannot tell
    const r = await verify();
    expect(r.failure).toMatchObject({ kind: "modified", seq: 6 });
    expect(r.failure!.message).toContain("row 5 still is");
    // with a sparser cadence the range is the checkpoint interval
    await chainOf(10, 4);
    await rewriteFrom(6);
    expect((await verify()).failure).toMatchObject({ kind: "modified", seq: 5 });
    // and no checkpoint is ever signed over the rewritten chain
    await expect(writeAuditCheckpoint({ db: fresh.db, hsm: ks, file })).rejects.toMatchObject({
      code: "AUDIT_CHAIN_BROKEN",
    });
  });

  it("audit.checkpoint.anchored: a forged or edited checkpoint line fails the verification", async () => {
    await chainOf(4, 2);
    // a line signed with another HSM key (the database owner's own): refused
    const forged = join(dir, "forged.jsonl");
    await writeAuditCheckpoint({ db: fresh.db, hsm: other, file: forged });
    appendFileSync(file, readFileSync(forged, "utf8").replace(/"seq":4/, '"seq":5'));
    expect((await verify()).failure?.message).toMatch(/checkpoint file: line 3/);
    // an edited hash in an otherwise genuine line: refused
    await chainOf(4, 2);
    const lines = readFileSync(file, "utf8").trim().split("\n");
    writeFileSync(file, `${lines[0]!.replace(/"hash":"[0-9a-f]{4}/, '"hash":"0000')}\n${lines[1]}\n`);
    expect((await verify()).failure?.message).toMatch(/checkpoint file: line 1: (fields differ|signature)/);
  });

  it("audit.checkpoint.anchored: `iaca audit verify` reads the checkpoint file by default and names the cut", async () => {
    await chainOf(5, 1);
    const env = { ...process.env, DATABASE_URL: fresh.url, IACA_AUDIT_CHECKPOINTS: file };
    const cli = (...args: string[]) =>
      promisify(execFile)(process.execPath, ["apps/cli/bin/iaca.js", "audit", "verify", ...args], { env }).then(
        (r) => ({ code: 0, out: r.stdout }),
        (e: { code: number; stdout: string }) => ({ code: e.code, out: e.stdout }),
      );
    const ok = await cli();
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/intact: 5 events.*5 signed checkpoints, latest at row 5/);
    await tamper("DELETE FROM audit_event WHERE seq = 5");
    const cut = await cli();
    expect(cut.code).toBe(1);
    expect(cut.out).toMatch(/BROKEN at seq 5 \(deleted\)/);
    expect((await cli("--no-checkpoints")).code).toBe(0);
  });
});
