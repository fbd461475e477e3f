// CP/CPS: policy values in the text come from packages/policy, so the documents and the running
// system cannot disagree. Changing a value changes the rendered text.
import { DEFAULT_POLICY, type Policy, parsePolicy } from "@iaca/policy";
import { describe, expect, it } from "vitest";
import { dsUsagePeriodJa, durationJa, renderValue } from "../scripts/cpcps-format.ts";
import { renderEdition } from "../scripts/cpcps-render.ts";

const render = (policy: Policy, edition: "full" | "public" = "full") =>
  renderEdition({ edition, policy, date: "2026-01-01" });

describe("cpcps policy rendering", () => {
  it("durations read as Japanese", () => {
    expect(durationJa("P3M")).toBe("3か月");
    expect(durationJa("P5Y")).toBe("5年");
    expect(durationJa("P4Y11M")).toBe("4年11か月");
    expect(durationJa("P30D")).toBe("30日");
    expect(durationJa("P2W")).toBe("14日");
    expect(durationJa("PT12H")).toBe("12時間");
  });

  it("placeholders resolve policy values, derived values and raw values; unknown ones fail", () => {
    expect(renderValue(DEFAULT_POLICY, "ds.validity")).toBe("3か月");
    expect(renderValue(DEFAULT_POLICY, "ds.validity|raw")).toBe("P3M");
    expect(renderValue(DEFAULT_POLICY, "iaca.name")).toBe("C=JP, O=Digital Agency, CN=Japan mdoc IACA");
    expect(renderValue(DEFAULT_POLICY, "ds.key")).toContain("P-256");
    expect(dsUsagePeriodJa(DEFAULT_POLICY)).toMatch(/^約\d+日/);
    expect(() => renderValue(DEFAULT_POLICY, "ds.nonexistent")).toThrow(/no such policy value/);
    expect(() => renderValue(DEFAULT_POLICY, "ds")).toThrow(/structure/);
  });

  it("the rendered text follows the policy: change ds.validity, mso.validity, the CRL URL and the curve", () => {
    const before = render(DEFAULT_POLICY);
    expect(before).toContain("| DS 証明書の最大有効期間 | 最大3ヶ月 | 3か月 |");
    expect(before).toContain(DEFAULT_POLICY.revocation.crlUrl);

    const changed = parsePolicy(
      [
        "ds:",
        "  validity: P4M",
        "  key: { curve: P-384, hash: SHA-384 }",
        "mso:",
        "  validity: P14D",
        "revocation:",
        "  crlUrl: https://trust.example.go.jp/ds.crl",
        // 4 months is beyond the seed's 3 (control policy.seed-limits): overridden on purpose here
        "seedLimitOverride:",
        "  fields: [ds.validity]",
        "  reason: a longer DS certificate to show the text follows the policy",
      ].join("\n"),
    );
    const after = render(changed);
    expect(after).toContain("| DS 証明書の最大有効期間 | 最大3ヶ月 | 4か月 |");
    expect(after).toContain("| MSO | 最大有効期間 | 最大30日 | 14日 |");
    expect(after).toContain("https://trust.example.go.jp/ds.crl");
    expect(after).not.toContain(DEFAULT_POLICY.revocation.crlUrl);
    expect(after).toContain("DS: ECDSA NIST P-384（secp384r1）");
    // The MSO appendix and 4.6.1 say the same MSO validity.
    expect(after).toContain("validUntil には validFrom から14日後");
    expect(before).toContain("validUntil には validFrom から30日後");
  });

  it("the public edition's validity table drops the procurement column but keeps the values", () => {
    const pub = render(DEFAULT_POLICY, "public");
    expect(pub).toContain("| DS 証明書の最大有効期間 | 3か月 |");
    expect(pub).not.toContain("最大3ヶ月");
  });

  it("the mdoc profile table follows policy.profile", () => {
    const interop = render(DEFAULT_POLICY);
    expect(interop).toContain("プロファイルは `interop`");
    const seed = render(parsePolicy("profile: seed-2024"));
    expect(seed).toContain("プロファイルは `seed-2024`");
  });

  it("both editions print the same policy values", () => {
    const v = renderValue(DEFAULT_POLICY, "revocation.nextUpdate");
    for (const e of ["full", "public"] as const) expect(render(DEFAULT_POLICY, e)).toContain(`thisUpdate から${v}後`);
  });
});
