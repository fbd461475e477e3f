// issuer.status.index-random: concurrent batches of one issuer process get unique entries, lists
// roll over when full, and the next block is reserved ahead (embedded database, as on first start).
import { openDatabase } from "@iaca/db";
import { DEFAULT_POLICY } from "@iaca/policy";
import { expect, it } from "vitest";
import { StatusAllocator } from "../src/status-allocator.ts";

it("hands out unique entries to concurrent batches across list rollovers", async () => {
  const db = await openDatabase({ url: "", dataDir: "memory://", migrate: true });
  try {
    const policy = { status: { ...DEFAULT_POLICY.status, listSize: 1024 } };
    const a = new StatusAllocator(db.stores.statusLists, policy);
    const batches = await Promise.all(Array.from({ length: 300 }, () => a.allocate(10)));
    const all = batches.flat();
    expect(all).toHaveLength(3000);
    expect(new Set(all.map((s) => `${s.listNo}/${s.idx}`)).size).toBe(3000);
    expect(all.every((s) => s.idx >= 0 && s.idx < 1024 && s.uri === `https://dts.example.jp/status/${s.listNo}`)).toBe(
      true,
    );
    // 3000 entries in lists of 1024 handed out in blocks of 256: at least three lists
    expect(new Set(all.map((s) => s.listNo)).size).toBeGreaterThanOrEqual(3);
    // a second process (another replica) never takes the first one's entries
    const b = new StatusAllocator(db.stores.statusLists, policy);
    const other = (await Promise.all(Array.from({ length: 20 }, () => b.allocate(10)))).flat();
    const taken = new Set(all.map((s) => `${s.listNo}/${s.idx}`));
    expect(other.some((s) => taken.has(`${s.listNo}/${s.idx}`))).toBe(false);
  } finally {
    await db.close();
  }
});
