// The RA's records: clients, proof nonces, Idempotency-Key records.
import { randomUUID } from "node:crypto";
import type { IdempotencyAttempt } from "@iaca/db";
import { describe, expect, it } from "vitest";
import { describeOnBothBackends } from "./backends.ts";

const t = (s: number) => new Date(Date.UTC(2030, 0, 1) + s * 1000);

describeOnBothBackends("RA stores", (db) => {
  describe("ClientStore", () => {
    const store = () => db().stores.clients;
    it("registers, finds the enabled client by key, re-keys, disables", async () => {
      await store().upsert({ id: "wallet-a", scopes: ["issue"], spkiSha256: "1".repeat(64), certSerial: "01" });
      await store().upsert({ id: "wallet-b", scopes: ["issue", "revoke"], spkiSha256: "2".repeat(64) });
      expect(await store().enabledBySpki("1".repeat(64))).toEqual({ id: "wallet-a", scopes: ["issue"] });
      expect(await store().get("wallet-b")).toEqual({
        id: "wallet-b",
        scopes: ["issue", "revoke"],
        spkiSha256: "2".repeat(64),
        disabledAt: null,
      });
      expect(await store().disable("wallet-a")).toBe(true);
      expect(await store().disable("nobody")).toBe(false);
      expect(await store().enabledBySpki("1".repeat(64))).toBeUndefined();
      expect((await store().list()).map((c) => [c.id, c.disabledAt !== null])).toEqual([
        ["wallet-a", true],
        ["wallet-b", false],
      ]);
      await store().upsert({ id: "wallet-a", scopes: ["refresh"], spkiSha256: "3".repeat(64), certNotAfter: t(9) });
      expect(await store().enabledBySpki("3".repeat(64))).toEqual({ id: "wallet-a", scopes: ["refresh"] });
      expect((await store().list())[0]).toEqual({
        id: "wallet-a",
        scopes: ["refresh"],
        disabledAt: null,
        certNotAfter: t(9),
      });
    });
  });

  describe("NonceStore", () => {
    const store = () => db().stores.nonces;
    it("a nonce is consumed once, by its client, before it expires; the same request may present it again", async () => {
      await store().add("n-1", "wallet-a", t(60));
      expect(await store().consume("n-1", "wallet-b", "req-1", t(1))).toBe("unknown");
      expect(await store().consume("n-1", "wallet-a", "req-1", t(1))).toBe("consumed");
      expect(await store().consume("n-1", "wallet-a", "req-1", t(2))).toBe("consumed");
      expect(await store().consume("n-1", "wallet-a", "req-2", t(2))).toBe("replayed");
      expect(await store().consume("nope", "wallet-a", "req-2", t(2))).toBe("unknown");
      await store().add("n-2", "wallet-a", t(60));
      expect(await store().consume("n-2", "wallet-a", "req-3", t(61))).toBe("expired");
      expect(await store().purge(t(61))).toBe(2);
      expect(await store().consume("n-2", "wallet-a", "req-3", t(1))).toBe("unknown");
    });
  });

  describe("IdempotencyStore", () => {
    const store = () => db().stores.requests;
    const attempt = (o: Partial<IdempotencyAttempt> = {}): IdempotencyAttempt => ({
      id: randomUUID(),
      clientId: "wallet-a",
      key: "key-1",
      route: "POST /v1/credentials",
      bodySha256: "b".repeat(64),
      owner: "ra-1:boot-1",
      instance: "ra-1",
      leaseUntil: t(60),
      expiresAt: t(3600),
      now: t(0),
      ...o,
    });

    it("new, in progress, mismatch, replay", async () => {
      const first = await store().begin(attempt());
      expect(first.kind).toBe("new");
      const id = (first as { id: string }).id;
      expect(await store().begin(attempt({ owner: "ra-2:boot-1", instance: "ra-2" }))).toEqual({ kind: "in-progress" });
      expect(await store().begin(attempt({ bodySha256: "c".repeat(64) }))).toEqual({ kind: "mismatch" });
      await store().complete(id, 201, Buffer.from("sealed"));
      const again = await store().begin(attempt({ owner: "ra-2:boot-1", instance: "ra-2" }));
      expect(again).toMatchObject({ kind: "replay", id });
      expect((again as { response: Buffer }).response.toString()).toBe("sealed");
    });

    it("a released attempt, an expired lease or a dead incarnation's attempt is taken over", async () => {
      const a = await store().begin(attempt({ key: "key-2" }));
      const id = (a as { id: string }).id;
      await store().release(id, "someone-else:boot"); // only the owner releases
      expect(await store().begin(attempt({ key: "key-2", owner: "ra-2:x", instance: "ra-2" }))).toEqual({
        kind: "in-progress",
      });
      await store().release(id, "ra-1:boot-1");
      expect(await store().begin(attempt({ key: "key-2", owner: "ra-2:x", instance: "ra-2" }))).toEqual({
        kind: "retry",
        id,
        attempts: 2,
      });
      // after the lease ran out
      expect(await store().begin(attempt({ key: "key-2", now: t(61), leaseUntil: t(120) }))).toMatchObject({
        kind: "retry",
        attempts: 3,
      });
      // the same instance after a restart (another boot id) takes over its own dead attempt
      expect(await store().begin(attempt({ key: "key-2", owner: "ra-1:boot-2", now: t(62) }))).toMatchObject({
        kind: "retry",
        attempts: 4,
      });
      // an instance named like a LIKE pattern ("r_%" would match "rx1") takes over only its own attempts
      await store().begin(attempt({ key: "key-3", owner: "rx1:boot-1", instance: "rx1" }));
      expect(await store().begin(attempt({ key: "key-3", owner: "r_%:boot-2", instance: "r_%" }))).toEqual({
        kind: "in-progress",
      });
    });

    it("purges finished records that expired, never pending ones", async () => {
      const a = await store().begin(attempt({ key: "key-9", expiresAt: t(10) }));
      expect(await store().purge(t(20))).toBe(0);
      await store().complete((a as { id: string }).id, 201, Buffer.from("x"));
      expect(await store().purge(t(20))).toBeGreaterThanOrEqual(1);
    });
  });
});
