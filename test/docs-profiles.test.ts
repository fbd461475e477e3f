// The profile table in README.md and docs/api.md is the one generated from the profiles the
// issuer uses: a renamed element or a new profile field fails here until `npm run docs:profiles`.
import { INTEROP, SEED_2024 } from "@iaca/mdoc";
import { describe, expect, it } from "vitest";
import { profileComparison, syncProfileTables } from "../scripts/docs-profiles.ts";

describe("docs: the default mdoc profile, disclosed", () => {
  it("README.md and docs/api.md carry the generated side-by-side table", () => {
    expect(syncProfileTables(true)).toEqual([]);
  });

  it("the table pairs every element of both profiles and marks each difference", () => {
    const table = profileComparison();
    for (const p of [SEED_2024, INTEROP])
      for (const elements of Object.values(p.namespaces))
        for (const id of Object.keys(elements)) expect(table).toContain(`\`${id}\``);
    expect(table).toMatch(
      /\| familyName \+ givenName \| `full_name` tstr \| `full_name_unicode` tstr \| \*\*differs\*\* \|/,
    );
    expect(table).toMatch(/`age_over_20` bool \| `age_over_20` bool \| same \|/);
    // a renamed element shows at once
    const renamed = structuredClone(INTEROP);
    const jp = renamed.namespaces["org.iso.23220.1.jp"]!;
    jp.name_unicode = jp.full_name_unicode!;
    delete jp.full_name_unicode;
    expect(profileComparison(SEED_2024, renamed)).not.toBe(table);
  });
});
