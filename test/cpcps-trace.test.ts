// CP/CPS traceability: clause → control → code location → test, on a throwaway workspace, and
// on this repository (every control has a clause and a test; every declared control is loaded).
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { collectTrace, formatTraceMarkdown, formatTraceText, traceFailures } from "../scripts/cpcps-trace.ts";

const ROOT = join(import.meta.dirname, "..");
const POLICY = pathToFileURL(join(ROOT, "packages/policy/src/index.ts")).href;

function fixture(): string {
  const dir = mkdtempSync(join(tmpdir(), "cpcps-trace-"));
  const put = (path: string, text: string) => {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), text);
  };
  put(
    "packages/fx/src/controls.ts",
    [
      `import { clause, defineControl } from "${POLICY}";`,
      "",
      "export const FX_KEYGEN = defineControl({",
      '  id: "fx.key.generated-inside",',
      '  clause: clause("6.1.1"),',
      '  summary: "keys are generated inside the module",',
      "});",
      "",
      "export const CONTROLS = {",
      "  sizes: defineControl({",
      '    id: "fx.key.sizes",',
      '    clause: clause("6.1.5"),',
      '    summary: "P-256 only",',
      "  }),",
      "} as const;",
      "",
    ].join("\n"),
  );
  put("packages/fx/src/index.ts", 'export * from "./controls.ts";\nexport * from "./keys.ts";\n');
  put(
    "packages/fx/src/keys.ts",
    [
      'import { CONTROLS, FX_KEYGEN } from "./controls.ts";',
      "export function generate(): string {",
      "  void FX_KEYGEN;",
      "  void CONTROLS.sizes;",
      '  return "k";',
      "}",
      "",
    ].join("\n"),
  );
  put(
    "packages/fx/test/keys.test.ts",
    [
      'it("fx.key.generated-inside: generate() never imports", () => {});',
      'it("fx.key.sizesXL is another id", () => {});',
      "",
    ].join("\n"),
  );
  // Declared in source but not exported by any index: must be reported, not silently missed.
  put(
    "apps/fxapp/src/hidden.ts",
    `import { clause, defineControl } from "${POLICY}";\nexport const H = defineControl({ id: "fx.hidden", clause: clause("6.1.2"), summary: "x" });\n`,
  );
  return dir;
}

describe("cpcps traceability", () => {
  it("cpcps:trace finds controls, their code locations and tests, and every kind of gap", async () => {
    const t = await collectTrace(fixture());
    expect(t.importErrors).toEqual([]);
    const keygen = t.controls.find((c) => c.id === "fx.key.generated-inside");
    expect(keygen?.clauseId).toBe("6.1.1");
    expect(keygen?.definedAt).toEqual({ file: "packages/fx/src/controls.ts", line: 4 });
    expect(keygen?.constant).toBe("FX_KEYGEN");
    expect(keygen?.references).toEqual([{ file: "packages/fx/src/keys.ts", line: 3 }]);
    expect(keygen?.tests.map((s) => `${s.file}:${s.line}`)).toEqual(["packages/fx/test/keys.test.ts:1"]);

    const sizes = t.controls.find((c) => c.id === "fx.key.sizes");
    expect(sizes?.constant).toBe("CONTROLS.sizes");
    expect(sizes?.references).toEqual([{ file: "packages/fx/src/keys.ts", line: 4 }]);
    // "fx.key.sizesXL" is a different id: no test for fx.key.sizes.
    // (the policy package's own controls are loaded with defineControl; their tests are not in the fixture)
    expect(t.withoutTest.map((c) => c.id).filter((id) => id.startsWith("fx."))).toEqual(["fx.key.sizes"]);

    expect(t.notLoaded.map((n) => n.id)).toEqual(["fx.hidden"]);
    expect(t.uncovered.map((c) => c.id)).toContain("6.1.6");
    expect(t.uncovered.map((c) => c.id)).not.toContain("6.1.1");

    const failures = traceFailures(t);
    expect(failures).toContain('control fx.key.sizes has no test (no test name contains "fx.key.sizes")');
    expect(failures.some((f) => f.startsWith("control fx.hidden declared at apps/fxapp/src/hidden.ts:2"))).toBe(true);
    expect(failures).toContain("technical clause 6.1.6 公開鍵のパラメータの生成及び品質検査 has no control");

    expect(formatTraceText(t)).toContain("fx.key.generated-inside  defined packages/fx/src/controls.ts:4 (FX_KEYGEN)");
    expect(formatTraceMarkdown(t)).toContain("| 6.1.6 公開鍵のパラメータの生成及び品質検査 | **未登録** | - | - |");
  });
});
