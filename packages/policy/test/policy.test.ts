import { describe, expect, it } from "vitest";
import {
  addDuration,
  allClauses,
  clause,
  DEFAULT_POLICY,
  formatDuration,
  PolicyError,
  parseDuration,
  parsePolicy,
  validatePolicy,
} from "../src/index.ts";

describe("policy", () => {
  it("the built-in policy validates", () => {
    expect(validatePolicy(structuredClone(DEFAULT_POLICY)).mso.validity).toBe("P30D");
  });

  it("a partial file overrides defaults and keeps the rest", () => {
    const p = parsePolicy("ds:\n  validity: P2M\nprofile: seed-2024\n");
    expect(p.ds.validity).toBe("P2M");
    expect(p.ds.key.curve).toBe("P-256");
    expect(p.profile).toBe("seed-2024");
  });

  it("names every bad field in the error", () => {
    let err: unknown;
    try {
      parsePolicy("ds:\n  validity: 3 months\niaca:\n  name: { C: jp }\nbogus: 1\n");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PolicyError);
    const msg = (err as PolicyError).message;
    expect((err as PolicyError).code).toBe("POLICY_INVALID");
    expect(msg).toContain("/ds/validity: expected an ISO 8601 duration");
    expect(msg).toContain("/iaca/name/C");
    expect(msg).toContain("/bogus: unknown field");
  });

  it("refuses a key whose hash does not go with its curve (the signers would use the curve's)", () => {
    expect(() => parsePolicy("ds:\n  key: { curve: P-256, hash: SHA-512 }\n")).toThrow(
      /\/ds\/key\/hash: P-256 keys sign with SHA-256, not SHA-512/,
    );
    expect(parsePolicy("ds:\n  key: { curve: P-384, hash: SHA-384 }\n").ds.key.curve).toBe("P-384");
  });

  it("rejects zero durations and unreadable text", () => {
    expect(() => parsePolicy("mso:\n  validity: P0D\n")).toThrow(/\/mso\/validity: duration must be positive/);
    expect(() => parsePolicy("ds: [")).toThrow(PolicyError);
  });
});

describe("durations", () => {
  it("uses calendar months, clamped to the month's end", () => {
    expect(addDuration(new Date("2026-01-31T00:00:00Z"), "P1M").toISOString()).toBe("2026-02-28T00:00:00.000Z");
    expect(addDuration(new Date("2026-11-25T12:00:00Z"), "P3M").toISOString()).toBe("2027-02-25T12:00:00.000Z");
    expect(addDuration(new Date("2026-11-25T00:00:00Z"), "P4Y11M").toISOString()).toBe("2031-10-25T00:00:00.000Z");
    expect(addDuration(new Date("2026-11-25T00:00:00Z"), "P30D", -1).toISOString()).toBe("2026-10-26T00:00:00.000Z");
  });

  it("parses and formats round trip", () => {
    for (const d of ["P5Y", "P4Y11M", "P30D", "PT12H", "P1DT30M"]) expect(formatDuration(parseDuration(d))).toBe(d);
    expect(() => parseDuration("P")).toThrow(PolicyError);
    expect(() => parseDuration("30D")).toThrow(PolicyError);
  });
});

describe("clause registry", () => {
  it("holds the RFC 3647 outline with Japanese titles", () => {
    expect(clause("6.1.1").title).toBe("鍵ペアの生成");
    expect(clause("6.1.1").kind).toBe("technical");
    const chapters = allClauses().filter((c) => !c.id.includes("."));
    expect(chapters.map((c) => c.id)).toEqual(["1", "2", "3", "4", "5", "6", "7", "8", "9"]);
    expect(() => clause("6.9.9")).toThrow(/unknown CP\/CPS clause/);
  });
});
