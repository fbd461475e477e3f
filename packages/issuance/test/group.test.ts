// GroupWriter: concurrent submissions share a statement; a failing caller fails alone.
import { describe, expect, it } from "vitest";
import { GroupWriter } from "../src/group.ts";

const tick = () => new Promise((r) => setTimeout(r, 5));

describe("GroupWriter", () => {
  it("writes the first submission at once and the ones that arrive meanwhile together", async () => {
    const statements: number[][] = [];
    const w = new GroupWriter<number>(async (items) => {
      statements.push(items);
      await tick();
    });
    await Promise.all([w.submit([1, 2]), w.submit([3]), w.submit([4, 5]), w.submit([6])]);
    expect(statements).toEqual([
      [1, 2],
      [3, 4, 5, 6],
    ]);
  });

  it("never splits a caller's items and keeps a statement under maxItems", async () => {
    const statements: number[][] = [];
    const w = new GroupWriter<number>(async (items) => {
      statements.push(items);
      await tick();
    }, 4);
    await Promise.all([w.submit([0]), w.submit([1, 2, 3]), w.submit([4, 5]), w.submit([6, 7, 8, 9, 10])]);
    expect(statements).toEqual([[0], [1, 2, 3], [4, 5], [6, 7, 8, 9, 10]]);
  });

  it("settles a caller only when its statement has finished", async () => {
    let finished = false;
    const w = new GroupWriter<number>(async () => {
      await tick();
      finished = true;
    });
    await w.submit([1]);
    expect(finished).toBe(true);
  });

  it("when a shared statement fails, writes each caller alone: only the bad one fails", async () => {
    const statements: number[][] = [];
    const w = new GroupWriter<number>(async (items) => {
      statements.push(items);
      await tick();
      if (items.includes(13)) throw new Error("bad row 13");
    });
    const first = w.submit([1]);
    const results = await Promise.allSettled([w.submit([2]), w.submit([13]), w.submit([4])]);
    await first;
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect((results[1] as PromiseRejectedResult).reason.message).toBe("bad row 13");
    expect(statements).toEqual([[1], [2, 13, 4], [2], [13], [4]]);
    // and it keeps going
    await w.submit([5]);
    expect(statements.at(-1)).toEqual([5]);
  });

  it("a caller alone gets its own error", async () => {
    const w = new GroupWriter<number>(async () => {
      throw new Error("down");
    });
    await expect(w.submit([1])).rejects.toThrow("down");
  });
});
