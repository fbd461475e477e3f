import { describe, expect, it } from "vitest";
import { DEFAULT_POLICY, type Policy, revocationGenOf, revocationUrl } from "../src/index.ts";

const withUrls = (crlUrl: string, arlUrl: string): Policy => ({
  ...DEFAULT_POLICY,
  revocation: { ...DEFAULT_POLICY.revocation, crlUrl, arlUrl },
});

describe("pki.crl.per-key: one CRL and ARL URL per root key generation", () => {
  it("generation 1 is the policy URL; later ones insert -gN before the extension", () => {
    expect(revocationUrl(DEFAULT_POLICY, "crl", 1)).toBe(DEFAULT_POLICY.revocation.crlUrl);
    expect(revocationUrl(DEFAULT_POLICY, "crl", 2)).toBe("https://dts.example.jp/crl/ds-g2.crl");
    expect(revocationUrl(DEFAULT_POLICY, "arl", 12)).toBe("https://dts.example.jp/crl/iaca-g12.arl");
    const bare = withUrls("https://x.example/r/crl", "https://x.example/r/arl");
    expect(revocationUrl(bare, "crl", 3)).toBe("https://x.example/r/crl-g3");
    expect(() => revocationUrl(DEFAULT_POLICY, "crl", 0)).toThrow(RangeError);
  });

  it("a {gen} placeholder places the number; revocationGenOf inverts both forms and refuses others", () => {
    const t = withUrls("https://x.example/g{gen}/ds.crl", "https://x.example/g{gen}/iaca.arl");
    expect(revocationUrl(t, "arl", 4)).toBe("https://x.example/g4/iaca.arl");
    expect(revocationGenOf(t, "arl", "https://x.example/g4/iaca.arl")).toBe(4);
    expect(revocationGenOf(t, "arl", "https://x.example/g0/iaca.arl")).toBeUndefined();
    for (const gen of [1, 2, 9, 100])
      expect(revocationGenOf(DEFAULT_POLICY, "crl", revocationUrl(DEFAULT_POLICY, "crl", gen))).toBe(gen);
    expect(revocationGenOf(DEFAULT_POLICY, "crl", "https://dts.example.jp/crl/ds-g1.crl")).toBeUndefined();
    expect(revocationGenOf(DEFAULT_POLICY, "crl", "https://evil.example/crl/ds-g2.crl")).toBeUndefined();
    expect(revocationGenOf(DEFAULT_POLICY, "arl", revocationUrl(DEFAULT_POLICY, "crl", 2))).toBeUndefined();
  });
});
