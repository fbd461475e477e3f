// StatusListStore: blocks of positions, rollover to the next list, status changes bumping the
// list's version in the same statement, and the snapshot the publisher signs from.
import type { PendingIssuance } from "@iaca/db";
import { expect, it } from "vitest";
import { describeOnBothBackends } from "./backends.ts";
import { pendingRow } from "./rows.ts";

const t = new Date(Date.UTC(2030, 0, 1));
const row = (statusList: number, statusIdx: number): PendingIssuance => pendingRow("req", t, { statusList, statusIdx });

describeOnBothBackends("StatusListStore", (db) => {
  const lists = () => db().stores.statusLists;
  const issuances = () => db().stores.issuances;

  it("hands out consecutive blocks of the newest list and opens the next when it is full", async () => {
    const open = { size: 1024, bits: 2 };
    const a = await lists().reserve(600, open);
    const b = await lists().reserve(300, open);
    const c = await lists().reserve(300, open);
    expect([a.listNo, a.first, b.listNo, b.first]).toEqual([1, 0, 1, 600]);
    expect([c.listNo, c.first, c.size, c.bits]).toEqual([2, 0, 1024, 2]);
    expect(Buffer.from(c.prpKey).equals(Buffer.from(a.prpKey))).toBe(false);
    expect((await lists().states()).find((x) => x.listNo === 1)?.size).toBe(1024);
  });

  it("issuer.status.change: revoke, suspend and resume bump the version of the entry's list; entries reads them", async () => {
    const rows = [row(1, 5), row(1, 9), row(1, 700)];
    await issuances().recordPending(rows);
    await issuances().complete(rows.map((r) => ({ id: r.id, signedAt: t })));
    const v0 = (await lists().states()).find((s) => s.listNo === 1)!.version;
    expect(await issuances().revoke(rows[0]!.id, t, "device-lost")).toBe(true);
    expect(await issuances().suspend(rows[1]!.id, t)).toBe(true);
    expect(await issuances().suspend(rows[1]!.id, t)).toBe(false);
    const e = await lists().entries(1);
    expect(e).toMatchObject({ version: v0 + 2, revoked: [5], suspended: [9] });
    expect(await issuances().resume(rows[1]!.id)).toBe(true);
    expect(await lists().entries(1)).toMatchObject({ version: v0 + 3, revoked: [5], suspended: [] });
    // a revoked entry cannot be suspended; revoking ends a suspension
    expect(await issuances().suspend(rows[0]!.id, t)).toBe(false);
    await issuances().suspend(rows[2]!.id, t);
    await issuances().revoke(rows[2]!.id, t, "holder-request");
    expect((await lists().entries(1)).revoked.sort((a, b) => a - b)).toEqual([5, 700]);
  });

  it("never stores a token older than the one it has", async () => {
    const tok = (version: number) => ({
      listNo: 1,
      token: new Uint8Array([version]),
      tokenSha256: "0".repeat(64),
      signedAt: t,
      expiresAt: t,
      version,
    });
    expect(await lists().saveToken(tok(7))).toBe(true);
    expect(await lists().saveToken(tok(6))).toBe(false);
    expect((await lists().tokens()).map((x) => [x.listNo, x.token])).toEqual([[1, new Uint8Array([7])]]);
  });

  it("rejects a second issuance at the same entry (no double allocation)", async () => {
    await expect(issuances().recordPending([row(2, 3), row(2, 3)])).rejects.toThrow();
  });
});
