import { randomUUID } from "node:crypto";
import { IssuanceStore, type PendingIssuance } from "@iaca/db";
import { expect, it } from "vitest";
import { describeOnBothBackends } from "./backends.ts";
import { pendingRow } from "./rows.ts";

const t = (m: number) => new Date(Date.UTC(2030, 0, 1, 0, m));

function pending(requestId: string, o: Partial<PendingIssuance> = {}): PendingIssuance {
  return pendingRow(requestId, t(0), { validUntil: t(60 * 24 * 90), ...o });
}

describeOnBothBackends("IssuanceStore", (db) => {
  const store = () => db().stores.issuances;

  it("records pending rows, completes only pending ones, and marks a failed batch", async () => {
    const rows = [0, 1, 2].map((i) => pending("req-1", { batchIndex: i }));
    await store().recordPending(rows);
    expect(await store().get(rows[0]!.id)).toMatchObject({
      id: rows[0]!.id,
      clientId: "wallet-a",
      state: "pending",
      dsCertSerial: "0a0b",
      validFrom: t(0),
      signedAt: null,
      revokedAt: null,
      refreshedFrom: null,
    });
    await store().markFailed([rows[2]!.id]);
    await store().complete([
      { id: rows[0]!.id, signedAt: t(1) },
      { id: rows[2]!.id, signedAt: t(1) },
    ]);
    expect(await store().get(rows[0]!.id)).toMatchObject({ state: "issued", signedAt: t(1) });
    expect((await store().get(rows[1]!.id))?.state).toBe("pending");
    expect((await store().get(rows[2]!.id))?.state).toBe("failed");
    expect(await store().get(randomUUID())).toBeUndefined();
    // one MSO hash is recorded once
    await expect(store().recordPending([pending("req-x", { msoSha256: rows[1]!.msoSha256 })])).rejects.toThrow();
  });

  it("abandons stale pending records and the records of a re-run request", async () => {
    const stale = pending("req-stale", { createdAt: t(-30) });
    const fresh = pending("req-fresh", { createdAt: t(30) });
    await store().recordPending([stale, fresh]);
    expect(await store().abandonStale(t(0))).toContainEqual({ id: stale.id, requestId: "req-stale" });
    expect((await store().get(fresh.id))?.state).toBe("pending");
    const issued = pending("req-again");
    await store().recordPending([issued]);
    await store().complete([{ id: issued.id, signedAt: t(2) }]);
    expect(await store().abandonRequest("req-again")).toEqual([{ id: issued.id, requestId: "req-again" }]);
    expect(await store().abandonRequest("req-again")).toEqual([]);
  });

  it("keeps issuance_pending to the pending rows, and completes them as heap-only (HOT) updates", async () => {
    const pendingIds = async () =>
      (await db().sql.query<{ id: string }>("SELECT id FROM issuance_pending")).map((r) => r.id).sort();
    const rows = [0, 1, 2, 3].map((i) => pending("req-hot", { batchIndex: i, createdAt: t(-30) }));
    await store().recordPending(rows);
    expect(await pendingIds()).toEqual(expect.arrayContaining(rows.map((r) => r.id)));
    // the backend's counters not yet flushed to the shared statistics: read before and after
    const hot = await db().sql.transaction(async (tx) => {
      const count = async () =>
        Number(
          (await tx.query<{ n: string }>("SELECT pg_stat_get_xact_tuples_hot_updated('issuance'::regclass) AS n"))[0]
            ?.n,
        );
      const before = await count();
      await new IssuanceStore(tx).complete([{ id: rows[0]!.id, signedAt: t(1) }]);
      return (await count()) - before;
    });
    expect(hot).toBe(1);
    // completed, failed, abandoned by sweep or by re-run: each leaves issuance_pending
    await store().markFailed([rows[1]!.id]);
    expect(await store().abandonRequest("req-hot")).toHaveLength(3);
    const stale = pending("req-hot-stale", { createdAt: t(-30) });
    await store().recordPending([stale]);
    expect(await store().abandonStale(t(0))).toContainEqual({ id: stale.id, requestId: "req-hot-stale" });
    const left = await pendingIds();
    for (const id of [...rows, stale].map((r) => r.id)) expect(left).not.toContain(id);
  });

  it("finds the record a refresh presents by MSO hash", async () => {
    const row = pending("req-refresh", { refreshedFrom: "old-id" });
    await store().recordPending([row]);
    expect(await store().byMsoHash(row.msoSha256)).toEqual({
      id: row.id,
      state: "pending",
      validUntil: row.validUntil,
      revokedAt: null,
      suspendedAt: null,
      holderRef: row.holderRef,
      profile: "interop",
      dsCertSerial: "0a0b",
      deviceKeyThumbprint: "thumb",
    });
    expect((await store().get(row.id))?.refreshedFrom).toBe("old-id");
    expect(await store().byMsoHash("0".repeat(64))).toBeUndefined();
  });

  it("revokes issued credentials one by one or per holder, each once", async () => {
    const holder = "a".repeat(64);
    const rows = [0, 1, 2].map((i) => pending("req-holder", { batchIndex: i, holderRef: holder }));
    await store().recordPending(rows);
    await store().complete(rows.slice(0, 2).map((r) => ({ id: r.id, signedAt: t(1) })));
    expect(await store().revoke(rows[0]!.id, t(5), "holder request")).toBe(true);
    expect(await store().revoke(rows[0]!.id, t(6), "again")).toBe(false);
    expect(await store().revoke(rows[2]!.id, t(6), "pending")).toBe(false);
    expect(await store().get(rows[0]!.id)).toMatchObject({ revokedAt: t(5), revocationReason: "holder request" });
    const revoked = await store().revokeHolder(holder, t(7), "death");
    expect(revoked).toEqual([rows[1]!.id]);
    expect(await store().revokedOfHolder(holder, revoked)).toEqual([rows[0]!.id]);
    expect(await store().revokeHolder(holder, t(8), "again")).toEqual([]);
  });
});
