// issuer.status.index-random: the keyed permutation that places a list's n-th entry.
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { IndexPermutation } from "../src/status-index.ts";

describe("issuer.status.index-random: IndexPermutation", () => {
  for (const size of [1024, 1000, 131_072, 100_008]) {
    it(`is a permutation of 0..${size - 1}`, () => {
      const p = new IndexPermutation(randomBytes(32), size);
      const seen = new Uint8Array(size);
      for (let i = 0; i < size; i++) {
        const x = p.at(i);
        expect(x >= 0 && x < size).toBe(true);
        seen[x]! += 1;
      }
      expect(seen.every((v) => v === 1)).toBe(true);
    });
  }
  it("spreads consecutive allocations over the list (a batch is not a run of neighbours)", () => {
    const size = 131_072;
    const p = new IndexPermutation(randomBytes(32), size);
    // gaps between consecutive allocations look like those of independent uniform picks:
    // mean |a-b| of two uniform points is size/3; neighbours (gap < 16) are as rare as chance
    const gaps = Array.from({ length: 10_000 }, (_, i) => Math.abs(p.at(i + 1) - p.at(i)));
    const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
    expect(mean / size).toBeGreaterThan(0.3);
    expect(mean / size).toBeLessThan(0.37);
    expect(gaps.filter((g) => g < 16).length).toBeLessThan(20);
  });
  it("another key gives another order; the same key the same", () => {
    const k = randomBytes(32);
    const a = Array.from({ length: 50 }, (_, i) => new IndexPermutation(k, 4096).at(i));
    const b = Array.from({ length: 50 }, (_, i) => new IndexPermutation(k, 4096).at(i));
    const c = Array.from({ length: 50 }, (_, i) => new IndexPermutation(randomBytes(32), 4096).at(i));
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });
});
