import { spawn } from "node:child_process";
import { PassThrough } from "node:stream";
import { fileURLToPath } from "node:url";
import {
  AUDIT_SUCCEEDED_SQL,
  AuditError,
  AuditLog,
  auditHash,
  auditSucceeded,
  canonicalJson,
  exportAudit,
  GENESIS_HASH,
  verifyAuditChain,
  verifyAuditExport,
} from "@iaca/db";
import { type AuditEventInput, clause } from "@iaca/policy";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rewriteAuditFrom, tamper as tamperAudit } from "../../../test/support/audit-tamper.ts";
import { type FreshDatabase, freshDatabase } from "../../../test/support/db.ts";

let fresh: FreshDatabase;
let log: AuditLog;
beforeAll(async () => {
  fresh = await freshDatabase();
  log = new AuditLog(fresh.db);
});
afterAll(async () => {
  await fresh?.drop();
});

const event = (i: number): AuditEventInput => ({
  actor: "op:alice",
  action: "ds.certificate.issue",
  targets: [`serial:${i}`],
  outcome: "success",
  clause: clause("4.3.1"),
  details: { i, profile: "interop" },
});

/** Superuser SQL with triggers off, as an attacker with DB access would. */
const tamper = (sql: string, params: unknown[] = []) => tamperAudit(fresh.url, sql, params);

async function chainOf(n: number): Promise<void> {
  await tamper("DELETE FROM audit_event");
  for (let i = 1; i <= n; i++) await log.append(event(i));
}

async function row(seq: number) {
  const [r] = await fresh.db.sql.query<Record<string, unknown>>("SELECT * FROM audit_event WHERE seq = $1", [seq]);
  return r!;
}

describe("canonical encoding", () => {
  it("audit.chain.hash-linked: hashes canonical JSON with sorted keys", () => {
    expect(canonicalJson({ b: [1, "x", { d: null, c: true }], a: "é\n", u: undefined })).toBe(
      '{"a":"é\\n","b":[1,"x",{"c":true,"d":null}]}',
    );
    const rec = {
      seq: 1,
      at: "2026-01-01T00:00:00.000Z",
      actor: "op:alice",
      action: "x",
      targets: ["t"],
      outcome: "success",
      clause: "5.4.4",
      details: {},
      prev: GENESIS_HASH,
    };
    // the hash is over exactly this text, which an external verifier can rebuild
    const text = `{"action":"x","actor":"op:alice","at":"2026-01-01T00:00:00.000Z","clause":"5.4.4","details":{},"outcome":"success","prev":"${GENESIS_HASH}","seq":1,"targets":["t"]}`;
    expect(canonicalJson(rec)).toBe(text);
    expect(auditHash(rec)).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe("hash-chained audit log on PostgreSQL", () => {
  it("audit.chain.hash-linked: an intact chain verifies", async () => {
    await chainOf(10);
    const r = await verifyAuditChain(fresh.db);
    expect(r).toMatchObject({ ok: true, count: 10, control: "audit.chain.hash-linked" });
    expect(r.head?.seq).toBe(10);
    const first = await row(1);
    expect(first.prev_hash).toBe(GENESIS_HASH);
    expect((await row(2)).prev_hash).toBe(first.hash);
    expect(first.clause).toBe("4.3.1");
    // Prisma reads the same rows
    expect(await fresh.db.prisma.auditEvent.count()).toBe(10);
  });

  it("audit.chain.hash-linked: detects a modified row", async () => {
    await chainOf(10);
    await tamper(`UPDATE audit_event SET details = '{"i": 5, "profile": "seed-2024"}' WHERE seq = 5`);
    expect((await verifyAuditChain(fresh.db)).failure).toMatchObject({ kind: "modified", seq: 5 });
    await chainOf(10);
    await tamper("UPDATE audit_event SET outcome = 'denied' WHERE seq = 1");
    expect((await verifyAuditChain(fresh.db)).failure).toMatchObject({ kind: "modified", seq: 1 });
  });

  it("audit.chain.hash-linked: detects a deleted row (also when later rows were renumbered)", async () => {
    await chainOf(10);
    await tamper("DELETE FROM audit_event WHERE seq = 5");
    const r = await verifyAuditChain(fresh.db);
    expect(r.failure).toMatchObject({ kind: "deleted", seq: 5 });
    expect(r.head?.seq).toBe(4);
    await chainOf(10);
    await tamper("DELETE FROM audit_event WHERE seq = 5");
    await tamper("UPDATE audit_event SET seq = -seq WHERE seq > 5");
    await tamper("UPDATE audit_event SET seq = -seq - 1 WHERE seq < 0");
    expect((await verifyAuditChain(fresh.db)).failure).toMatchObject({ kind: "deleted", seq: 5 });
  });

  it("audit.chain.hash-linked: detects rows deleted from the end against an exported head", async () => {
    await chainOf(10);
    const out = new PassThrough();
    const { head } = await exportAudit(fresh.db, out);
    await tamper("DELETE FROM audit_event WHERE seq >= 9");
    expect((await verifyAuditChain(fresh.db)).ok).toBe(true); // the table alone cannot tell
    expect((await verifyAuditChain(fresh.db, { expectedHead: head })).failure).toMatchObject({
      kind: "deleted",
      seq: 9,
    });
  });

  it("audit.chain.hash-linked: detects an inserted row (with a valid or a bogus hash)", async () => {
    for (const validHash of [true, false]) {
      await chainOf(10);
      const four = await row(4);
      await tamper("UPDATE audit_event SET seq = -seq WHERE seq >= 5");
      await tamper("UPDATE audit_event SET seq = -seq + 1 WHERE seq < 0");
      const forged = {
        seq: 5,
        at: (four.at as Date).toISOString(),
        actor: "op:mallory",
        action: "root.sign-csr",
        targets: ["key:evil"],
        outcome: "success",
        clause: "6.2.2",
        details: {},
        prev: String(four.hash),
      };
      const hash = validHash ? auditHash(forged) : "f".repeat(64);
      await tamper(
        `INSERT INTO audit_event (seq, at, actor, action, targets, outcome, clause, details, prev_hash, hash)
         VALUES (5, $1, $2, $3, $4, $5, $6, '{}', $7, $8)`,
        [forged.at, forged.actor, forged.action, forged.targets, forged.outcome, forged.clause, forged.prev, hash],
      );
      expect((await verifyAuditChain(fresh.db)).failure).toMatchObject({ kind: "inserted", seq: 5 });
    }
  });

  it("audit.chain.hash-linked: detects reordered rows", async () => {
    await chainOf(10);
    await tamper("UPDATE audit_event SET seq = -1 WHERE seq = 5");
    await tamper("UPDATE audit_event SET seq = 5 WHERE seq = 6");
    await tamper("UPDATE audit_event SET seq = 6 WHERE seq = -1");
    expect((await verifyAuditChain(fresh.db)).failure).toMatchObject({ kind: "reordered", seq: 5 });
  });

  it("audit.append-only: UPDATE, DELETE and TRUNCATE are rejected by the trigger", async () => {
    await chainOf(3);
    for (const stmt of [
      "UPDATE audit_event SET actor = 'op:mallory' WHERE seq = 2",
      "DELETE FROM audit_event WHERE seq = 3",
      "TRUNCATE audit_event",
    ])
      await expect(fresh.db.sql.query(stmt)).rejects.toThrow(/append-only/);
    await expect(fresh.db.prisma.auditEvent.deleteMany({})).rejects.toThrow(/append-only/);
    // an INSERT that does not extend the head is rejected too
    await expect(
      fresh.db.sql.query(
        `INSERT INTO audit_event (seq, at, actor, action, targets, outcome, clause, details, prev_hash, hash)
         VALUES (2, now(), 'op:x', 'x', '{}', 'success', '5.4.4', '{}', $1, $2)`,
        [GENESIS_HASH, "e".repeat(64)],
      ),
    ).rejects.toThrow(/chain broken/);
    expect((await verifyAuditChain(fresh.db)).ok).toBe(true);
  });

  it("audit.events-recorded: rejects an event without actor, action, outcome or clause", async () => {
    const bad: Partial<AuditEventInput>[] = [
      { actor: "" },
      { action: " " },
      { outcome: "maybe" as "success" },
      { clause: undefined as never },
      { targets: [1 as unknown as string] },
      { details: { big: 1n } },
    ];
    for (const b of bad) {
      const err = await log.append({ ...event(0), ...b }).catch((e) => e);
      expect(err).toBeInstanceOf(AuditError);
      expect(err.code).toBe("DB_AUDIT_INVALID_EVENT");
    }
    const ok = await log.append({ ...event(0), details: { when: new Date(0), skip: undefined } });
    const stored = await row(ok.seq);
    expect(stored.details).toEqual({ when: "1970-01-01T00:00:00.000Z" });
    expect((await verifyAuditChain(fresh.db)).ok).toBe(true);
  });

  it("audit.chain.hash-linked: 4 processes appending concurrently build one chain", async () => {
    await tamper("DELETE FROM audit_event");
    const worker = fileURLToPath(new URL("./fixtures/append-worker.ts", import.meta.url));
    const run = (i: number) =>
      new Promise<void>((resolve, reject) => {
        const child = spawn(process.execPath, [worker, fresh.url, String(i), "50"], {
          stdio: ["ignore", "inherit", "pipe"],
        });
        let stderr = "";
        child.stderr.on("data", (d) => {
          stderr += d;
        });
        child.on("error", reject);
        child.on("exit", (code) =>
          code === 0 ? resolve() : reject(new Error(`worker ${i} exited ${code}: ${stderr}`)),
        );
      });
    await Promise.all([run(1), run(2), run(3), run(4)]);
    const r = await verifyAuditChain(fresh.db);
    expect(r).toMatchObject({ ok: true, count: 200, head: { seq: 200 } });
    const perWorker = await fresh.db.sql.query<{ actor: string; n: number }>(
      "SELECT actor, count(*)::int AS n FROM audit_event GROUP BY actor ORDER BY actor",
    );
    expect(perWorker).toEqual([1, 2, 3, 4].map((i) => ({ actor: `svc:worker-${i}`, n: 50 })));
    // each worker's own events keep their order in the chain
    const rows = await fresh.db.sql.query<{ details: { worker: number; i: number } }>(
      "SELECT details FROM audit_event ORDER BY seq",
    );
    for (const w of [1, 2, 3, 4]) {
      const seen = rows.filter((x) => x.details.worker === w).map((x) => x.details.i);
      expect(seen).toEqual([...Array(50).keys()]);
    }
  }, 240_000);

  it("audit.chain.hash-linked: concurrent appends in one process stay one chain", async () => {
    await chainOf(0);
    await Promise.all([...Array(30).keys()].map((i) => log.append(event(i))));
    expect(await verifyAuditChain(fresh.db, { batchSize: 7 })).toMatchObject({ ok: true, count: 30 });
  });

  it("audit.chain.hash-linked: appendMany records a batch in order as chained rows, all or nothing", async () => {
    await chainOf(2);
    const before = await row(2);
    const appended = await log.appendMany([event(3), event(4), event(5)]);
    expect(appended.map((a) => a.seq)).toEqual([3, 4, 5]);
    expect((await row(3)).prev_hash).toBe(before.hash);
    expect((await row(4)).prev_hash).toBe(appended[0]!.hash);
    expect((await row(5)).hash).toBe(appended[2]!.hash);
    expect(await log.appendMany([])).toEqual([]);
    await expect(log.appendMany([event(6), { ...event(7), actor: "" }])).rejects.toThrow(/actor/);
    await Promise.all([log.appendMany([event(6), event(7)]), log.append(event(8)), log.appendMany([event(9)])]);
    expect(await verifyAuditChain(fresh.db, { batchSize: 3 })).toMatchObject({ ok: true, count: 9 });
  });

  it("exports JSON Lines with the chain head last, verifiable outside the database", async () => {
    await chainOf(5);
    const out = new PassThrough();
    let text = "";
    out.on("data", (d) => {
      text += d;
    });
    const result = await exportAudit(fresh.db, out);
    const lines = text
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(6);
    const head = lines.at(-1).head;
    expect(head).toMatchObject({ seq: 5, count: 5, hash: result.head.hash });
    let prev = GENESIS_HASH;
    for (const l of lines.slice(0, -1)) {
      const { hash, ...rec } = l;
      expect(rec.prev).toBe(prev);
      expect(auditHash(rec)).toBe(hash);
      prev = hash;
    }
    expect(prev).toBe(head.hash);
    // incremental export continues from a previous head
    await log.append(event(6));
    const more = new PassThrough();
    let moreText = "";
    more.on("data", (d) => {
      moreText += d;
    });
    expect(await exportAudit(fresh.db, more, { after: 5 })).toMatchObject({ count: 1, head: { seq: 6 } });
    expect(JSON.parse(moreText.split("\n")[0]!).prev).toBe(head.hash);
  });

  async function exported(opts: { after?: number } = {}) {
    const out = new PassThrough();
    let text = "";
    out.on("data", (d) => {
      text += d;
    });
    const result = await exportAudit(fresh.db, out, opts);
    return { text, ...result };
  }

  /** Rewrites row `from` and recomputes every later hash, as someone with write access could. */
  const rewriteFrom = (from: number) => rewriteAuditFrom(fresh.db, fresh.url, from);

  it("audit.archive.head-anchored: the head of an export detects rows cut from the end and a chain rewritten with valid hashes", async () => {
    await chainOf(10);
    const { head, text } = await exported();
    expect(JSON.parse(text.trim().split("\n").at(-1)!).head).toMatchObject(head);
    await rewriteFrom(8);
    expect((await verifyAuditChain(fresh.db)).ok).toBe(true); // the table alone cannot tell
    // one anchored head at row 10: the rewrite lies somewhere in rows 1..10
    expect((await verifyAuditChain(fresh.db, { expectedHead: head })).failure).toMatchObject({
      kind: "modified",
      seq: 1,
    });
    await chainOf(10);
    const again = await exported();
    await tamper("DELETE FROM audit_event WHERE seq >= 9");
    expect((await verifyAuditChain(fresh.db, { expectedHead: again.head })).failure).toMatchObject({
      kind: "deleted",
      seq: 9,
    });
    // an incremental archive continues from the previous archive's head
    await chainOf(5);
    const first = await exported();
    await log.append(event(6));
    const next = await exported({ after: first.head.seq });
    expect(JSON.parse(next.text.split("\n")[0]!).prev).toBe(first.head.hash);
  });

  it("audit.archive.verifiable: an archive verifies without the database; edits, gaps, swaps and truncation are found", async () => {
    await chainOf(6);
    const { text, head } = await exported();
    expect(verifyAuditExport(text)).toMatchObject({ ok: true, count: 6, head, control: "audit.archive.verifiable" });
    expect(verifyAuditExport(text, { expectedHead: head }).ok).toBe(true);
    const lines = text.trim().split("\n");
    const edit = (i: number, f: (o: Record<string, unknown>) => void) => {
      const copy = [...lines];
      const o = JSON.parse(copy[i]!);
      f(o);
      copy[i] = JSON.stringify(o);
      return copy.join("\n");
    };
    expect(verifyAuditExport(edit(2, (o) => (o.actor = "op:mallory"))).failure).toMatchObject({
      kind: "modified",
      seq: 3,
      line: 3,
    });
    expect(verifyAuditExport([...lines.slice(0, 3), ...lines.slice(4)].join("\n")).failure).toMatchObject({
      kind: "deleted",
      seq: 4,
    });
    expect(verifyAuditExport([lines[0], lines[2], lines[1], ...lines.slice(3)].join("\n")).failure).toMatchObject({
      kind: "reordered",
      seq: 2,
    });
    expect(verifyAuditExport(lines.slice(0, 4).join("\n")).failure).toMatchObject({ kind: "truncated" });
    // rows and head cut consistently: only a head kept elsewhere shows it
    const cut = edit(6, (o) => Object.assign(o.head as object, { seq: 5, hash: JSON.parse(lines[4]!).hash, count: 5 }));
    const shorter = [...cut.split("\n").slice(0, 5), cut.split("\n")[6]].join("\n");
    expect(verifyAuditExport(shorter).ok).toBe(true);
    expect(verifyAuditExport(shorter, { expectedHead: head }).failure).toMatchObject({ kind: "truncated" });
    // a recomputed hash still breaks the link to the next row
    const forged = edit(2, (o) => {
      o.actor = "op:mallory";
      const { hash: _h, ...rec } = o;
      o.hash = auditHash(rec as never);
    });
    expect(verifyAuditExport(forged).failure).toMatchObject({ kind: "inserted", seq: 4 });
    // an incremental archive needs the previous archive's head
    await log.append(event(7));
    const more = await exported({ after: 6 });
    expect(verifyAuditExport(more.text).ok).toBe(false);
    expect(verifyAuditExport(more.text, { previousHead: head })).toMatchObject({ ok: true, count: 1, head: more.head });
  });

  it("audit.time.db-clock: the time is the database clock's at append, not the caller's", async () => {
    await chainOf(1);
    const [{ t: before }] = (await fresh.db.sql.query<{ t: Date }>(
      "SELECT date_trunc('milliseconds', clock_timestamp()) AS t",
    )) as [{ t: Date }];
    const appended = await log.append({ ...event(2), at: new Date(0) } as AuditEventInput);
    const [{ t: after }] = (await fresh.db.sql.query<{ t: Date }>("SELECT clock_timestamp() AS t")) as [{ t: Date }];
    expect(appended.at.getTime()).toBeGreaterThanOrEqual(before.getTime());
    expect(appended.at.getTime()).toBeLessThanOrEqual(after.getTime());
    const stored = await row(appended.seq);
    expect((stored.at as Date).toISOString()).toBe(appended.at.toISOString());
    expect(stored.details).not.toHaveProperty("at");
    expect((await verifyAuditChain(fresh.db)).ok).toBe(true); // the time is part of the hashed record
  });

  it("audit.time.monotonic: times never decrease along the chain, even when the head is ahead of the clock", async () => {
    await chainOf(0);
    await Promise.all([...Array(20).keys()].map((i) => log.append(event(i))));
    // the head written by a clock one day ahead (then set back): re-hashed so the chain stays valid
    const head = await row(20);
    const ahead = new Date(Date.now() + 86_400_000);
    const rec = {
      seq: 20,
      at: ahead.toISOString(),
      actor: String(head.actor),
      action: String(head.action),
      targets: head.targets as string[],
      outcome: String(head.outcome),
      clause: String(head.clause),
      details: head.details as Record<string, unknown>,
      prev: String(head.prev_hash),
    };
    await tamper("UPDATE audit_event SET at = $1, hash = $2 WHERE seq = 20", [rec.at, auditHash(rec)]);
    const next = await log.append(event(21));
    expect(next.at.toISOString()).toBe(ahead.toISOString());
    const rows = await fresh.db.sql.query<{ at: Date }>("SELECT at FROM audit_event ORDER BY seq");
    for (let i = 1; i < rows.length; i++)
      expect(rows[i]!.at.getTime()).toBeGreaterThanOrEqual(rows[i - 1]!.at.getTime());
    expect((await verifyAuditChain(fresh.db)).ok).toBe(true);
  });
});

describe("audit lookups", () => {
  it("auditSucceeded finds a successful action on a target, and the lookup can use the action index", async () => {
    await log.append({ ...event(1), action: "ds.activate", targets: ["ds-1", "k-1"] });
    await log.append({ ...event(2), action: "ds.activate", targets: ["ds-2"], outcome: "denied" });
    expect(await auditSucceeded(fresh.db.sql, "ds.activate", "k-1")).toBe(true);
    expect(await auditSucceeded(fresh.db.sql, "ds.activate", "ds-2")).toBe(false);
    expect(await auditSucceeded(fresh.db.sql, "ds.retire", "ds-1")).toBe(false);
    // a small table is scanned whatever its indexes; with scans priced out the plan shows the index is there and usable
    const plan = await fresh.db.sql.transaction(async (tx) => {
      await tx.query("SET LOCAL enable_seqscan = off");
      return tx.query<{ "QUERY PLAN": string }>(`EXPLAIN ${AUDIT_SUCCEEDED_SQL}`, ["ds.activate", "k-1"]);
    });
    expect(plan.map((r) => r["QUERY PLAN"]).join("\n")).toMatch(/audit_event_action_idx/);
  });
});
