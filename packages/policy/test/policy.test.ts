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
  SEED_LIMITS,
  seedLimitBreaches,
  seedLimitOverrideRecord,
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

describe("policy.seed-limits: the seed's limits are bounds", () => {
  const refusal = (text: string): PolicyError => {
    try {
      parsePolicy(text);
    } catch (e) {
      return e as PolicyError;
    }
    throw new Error("loaded");
  };

  it("policy.seed-limits: refuses IACA validity over 5 years and MSO validity over 30 days, naming the field, the seed and the clause", () => {
    const e = refusal("iaca:\n  validity: P10Y\nmso:\n  validity: P60D\n");
    expect(e).toBeInstanceOf(PolicyError);
    expect(e.code).toBe("POLICY_SEED_LIMIT");
    expect(e.message).toContain("/iaca/validity: P10Y is longer than the seed allows (at most P5Y: 調達仕様書 図表2");
    expect(e.message).toMatch(
      /\/mso\/validity: P60D is longer than the seed allows \(at most P30D: .*; CP\/CPS 6\.3\.2\)/,
    );
    expect(e.message).toContain("seedLimitOverride");
    expect(e.details).toMatchObject({ fields: ["/iaca/validity", "/mso/validity"], clauses: ["6.3.2"] });
  });

  it("policy.seed-limits: every limit refuses a value just beyond it, on any start date", () => {
    const beyond: Record<string, string> = {
      "iaca.validity": "P5Y1D",
      "iaca.rekeyInterval": "P5Y1M",
      "iaca.firstRekeyAfter": "P4Y11M1D",
      "iaca.rekeyLead": "P29D", // shorter than a month: from 1 January it ends before 1 February
      "ds.validity": "P90D", // longer than 3 months from 1 February (89 days)
      "ds.rotationInterval": "P3M1D",
      "ds.firstRotationAfter": "P60D", // longer than 2 months from 1 January (59 days)
      "ds.renewalLead": "P4W",
      "mso.validity": "P31D",
      "mso.expectedUpdate": "P31D",
    };
    expect(Object.keys(beyond).sort()).toEqual(SEED_LIMITS.map((l) => l.field).sort());
    for (const [field, value] of Object.entries(beyond)) {
      const [section, key] = field.split(".");
      const e = refusal(`${section}:\n  ${key}: ${value}\n`);
      expect(e.code, field).toBe("POLICY_SEED_LIMIT");
      expect(e.message).toContain(`/${section}/${key}: ${value}`);
    }
    // the values at the limits load
    expect(parsePolicy("ds:\n  validity: P89D\n  firstRotationAfter: P2M\nmso:\n  validity: P30D\n").ds.validity).toBe(
      "P89D",
    );
  });

  it("policy.seed-limits: the built-in policy and the seed's figure 2 are within the limits", () => {
    expect(seedLimitBreaches(DEFAULT_POLICY)).toEqual([]);
    const seed = parsePolicy(
      "iaca: { validity: P5Y, rekeyInterval: P5Y, firstRekeyAfter: P4Y11M, rekeyLead: P1M }\nds: { validity: P3M, rotationInterval: P3M, firstRotationAfter: P2M, renewalLead: P1M }\n",
    );
    expect(seedLimitBreaches(seed)).toEqual([]);
    expect(seedLimitOverrideRecord(seed)).toBeUndefined();
  });

  it("policy.seed-limits: an explicit override with a reason lets the named field, and only it, go beyond", () => {
    const reason = "pilot of 60-day MSOs approved by the policy authority on 2026-11-01";
    const p = parsePolicy(
      `mso:\n  validity: P60D\nseedLimitOverride:\n  fields: [mso.validity]\n  reason: ${reason}\n`,
    );
    expect(p.mso.validity).toBe("P60D");
    expect(seedLimitOverrideRecord(p)).toEqual({
      reason,
      fields: [{ field: "mso.validity", value: "P60D", limit: "P30D", bound: "max" }],
    });
    // the override of one field does not open another
    const other = refusal(
      `mso:\n  validity: P60D\nds:\n  validity: P4M\nseedLimitOverride:\n  fields: [mso.validity]\n  reason: ${reason}\n`,
    );
    expect(other.code).toBe("POLICY_SEED_LIMIT");
    expect(other.message).toContain("/ds/validity: P4M");
    expect(other.message).not.toContain("/mso/validity");
    // an override must say what it overrides: a field within its limit, no reason, an unknown field
    expect(refusal(`seedLimitOverride:\n  fields: [mso.validity]\n  reason: ${reason}\n`).message).toContain(
      "mso.validity is within the seed's limit",
    );
    expect(refusal("mso:\n  validity: P60D\nseedLimitOverride:\n  fields: [mso.validity]\n").code).toBe(
      "POLICY_INVALID",
    );
    expect(refusal(`seedLimitOverride:\n  fields: [mso.digestAlgorithm]\n  reason: ${reason}\n`).code).toBe(
      "POLICY_INVALID",
    );
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
