import { DEFAULT_POLICY, loadPolicy, type Policy, validatePolicy } from "@iaca/policy";
import { describe, expect, it } from "vitest";
import { assertCanSign, plan, planSvg, UsagePeriodError, usagePeriod } from "../src/index.ts";

const seed = loadPolicy(new URL("../policies/seed-figure-2.yaml", import.meta.url).pathname);
const from = new Date(Date.UTC(2026, 11, 1));

describe("pki.validity.plan: planner", () => {
  it("seed figure 2 literally: the planner names the broken invariants in plain words", () => {
    const p = plan(seed, from, 11);
    const rules = new Set(p.findings.filter((f) => f.severity === "violation").map((f) => f.rule));
    expect(rules).toContain("ds.usage-gap"); // 3-month DS every 3 months leaves 30 days without a full-MSO key
    expect(rules).toContain("root.rekey-lead"); // second cycle of 5 years: re-key on the day the root expires
    expect(p.findings.find((f) => f.rule === "ds.usage-gap")?.message).toMatch(/no key can sign an MSO/);
    expect(p.roots.map((r) => r.notBefore.toISOString().slice(0, 10))).toEqual([
      "2026-12-01",
      "2031-11-01",
      "2036-11-01",
    ]);
  });

  it("proposes the nearest consistent schedule, and that schedule holds every invariant", () => {
    const p = plan(seed, from, 11);
    const changes = Object.fromEntries(p.proposal!.changes.map((c) => [c.path, c.to]));
    expect(changes["ds.rotationInterval"]).toBe("P59D"); // keeps 3-month certificates and full 30-day MSOs
    expect(changes["ds.presign"]).toBeGreaterThan(1); // root room visited about every 3 months
    expect(changes["iaca.rekeyInterval"]).toBeDefined();
    expect(p.proposal!.findings.filter((f) => f.severity === "violation")).toEqual([]);
    const again = plan(validatePolicy(p.proposal!.policy), from, 11);
    expect(again.findings.filter((f) => f.severity === "violation")).toEqual([]);
    expect(again.proposal).toBeUndefined();
  });

  it("the built-in policy is the nearest consistent schedule: no violations, every DS hands over inside its usage period", () => {
    const good: Policy = validatePolicy(structuredClone(DEFAULT_POLICY));
    const p = plan(good, from, 11);
    expect(p.findings.filter((f) => f.severity === "violation")).toEqual([]);
    for (const [i, d] of p.ds.entries()) {
      const n = p.ds[i + 1];
      if (n) expect(n.notBefore.getTime()).toBeLessThanOrEqual(d.usageEnd.getTime());
      expect(d.notAfter.getTime()).toBeLessThanOrEqual(p.roots[d.root - 1]!.notAfter.getTime());
    }
    for (const c of p.ceremonies.slice(0, -1)) {
      const next = p.ceremonies[p.ceremonies.indexOf(c) + 1]!;
      expect(c.nextUpdate.getTime()).toBeGreaterThan(next.at.getTime()); // CRL/ARL cover until the next visit
    }
    expect(planSvg(p)).toMatch(/^<svg/);
  });
});

describe("pki.validity.plan: the built-in policy plans without warnings", () => {
  it("pki.validity.plan: `iaca plan --years 10` on the built-in policy has no warning and no proposal, from any start date", () => {
    const starts = Array.from({ length: 74 }, (_, i) => new Date(Date.UTC(2026, 0, 1 + i * 5))); // a year, every 5 days
    for (const start of [from, ...starts]) {
      const p = plan(DEFAULT_POLICY, start, 10);
      expect(
        p.findings.filter((f) => f.severity !== "info").map((f) => `${f.rule}: ${f.message}`),
        start.toISOString(),
      ).toEqual([]);
      expect(p.proposal, start.toISOString()).toBeUndefined();
    }
  });

  it("pki.validity.plan: at each re-key the old root's last DS fits inside it and the new root's first DS is signed by its deadline", () => {
    const p = plan(DEFAULT_POLICY, from, 10);
    expect(p.roots.length).toBe(3);
    for (const r of p.roots.slice(1)) {
      const old = p.roots[r.gen - 2]!;
      const lastOld = p.ds.filter((d) => d.root === old.gen).at(-1)!;
      const firstNew = p.ds.find((d) => d.root === r.gen)!;
      expect(lastOld.notAfter.getTime()).toBeLessThanOrEqual(old.notAfter.getTime());
      expect(lastOld.capped).toBe(false);
      expect(firstNew.signedAt!.getTime()).toBeLessThanOrEqual(firstNew.deadline.getTime());
      expect(lastOld.retiredAt!.getTime()).toBe(firstNew.notBefore.getTime()); // hand-over without a gap
    }
  });

  it("pki.validity.plan: a DS certificate is signed at most one root-room interval plus ds.renewalLead ahead (no drift)", () => {
    const p = plan(DEFAULT_POLICY, from, 10);
    const leads = p.ds
      .filter((d) => d.signedAt)
      .map((d) => (d.notBefore.getTime() - d.signedAt!.getTime()) / 86_400_000);
    // CRL/ARL freshness brings the root room back every nextUpdate - warnBefore (92 days), plus the 1-month lead
    expect(Math.max(...leads)).toBeLessThanOrEqual(92 + 31 + 1);
    // the same lead late in the horizon as early on
    expect(Math.max(...leads.slice(-10))).toBeLessThanOrEqual(Math.max(...leads.slice(0, 10)) + 31);
  });
});

describe("pki.ds.usage-period: assertCanSign", () => {
  const ds = { serial: "01", notBefore: new Date("2027-01-01T00:00:00Z"), notAfter: new Date("2027-04-01T00:00:00Z") };
  it("usage period = notBefore .. notAfter - MSO validity", () => {
    expect(usagePeriod(ds, DEFAULT_POLICY).end.toISOString()).toBe("2027-03-02T00:00:00.000Z");
  });
  it("signs inside, refuses before, after the usage period, when retired or revoked", () => {
    expect(() => assertCanSign(ds, new Date("2027-02-01T00:00:00Z"), DEFAULT_POLICY)).not.toThrow();
    const codes = [
      new Date("2026-12-31T23:59:59Z"),
      new Date("2027-03-02T00:00:01Z"),
      new Date("2027-03-31T00:00:00Z"),
    ].map((at) => {
      try {
        assertCanSign(ds, at, DEFAULT_POLICY);
        return "signed";
      } catch (e) {
        expect(e).toBeInstanceOf(UsagePeriodError);
        return (e as UsagePeriodError).code;
      }
    });
    expect(codes).toEqual(["DS_NOT_YET_ACTIVE", "DS_USAGE_PERIOD_OVER", "DS_USAGE_PERIOD_OVER"]);
    expect(() =>
      assertCanSign({ ...ds, revokedAt: new Date("2027-01-15Z") }, new Date("2027-02-01Z"), DEFAULT_POLICY),
    ).toThrow(/revoked/);
    expect(() =>
      assertCanSign({ ...ds, retiredAt: new Date("2027-01-15Z") }, new Date("2027-02-01Z"), DEFAULT_POLICY),
    ).toThrow(/retired/);
  });
});
