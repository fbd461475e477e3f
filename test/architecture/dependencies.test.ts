// The dependency direction (docs/architecture.md, .dependency-cruiser.cjs) holds on the tree, and
// the rules really catch what they forbid: planted violations in a scratch tree are reported.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { cruise, type ICruiseResult } from "dependency-cruiser";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const config = createRequire(import.meta.url)(join(ROOT, ".dependency-cruiser.cjs"));

function violations(output: ICruiseResult | string): string[] {
  const summary = (output as ICruiseResult).summary;
  return summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`);
}

async function cruiseIn(baseDir: string, dirs: string[], tsConfig?: string): Promise<string[]> {
  const options = {
    ...config.options,
    ...(tsConfig ? {} : { tsConfig: undefined }),
    baseDir,
    validate: true,
    ruleSet: { forbidden: config.forbidden },
  };
  const r = await cruise(dirs, options);
  return violations(r.output);
}

const scratch = mkdtempSync(join(tmpdir(), "iaca-deps-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function plant(files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(scratch, path)), { recursive: true });
    writeFileSync(join(scratch, path), text);
  }
}

describe("dependency direction", () => {
  it("holds on the repository: packages never import apps, apps never import each other", async () => {
    const found = await cruiseIn(ROOT, ["packages", "apps", "test", "bench", "scripts"], "tsconfig.json");
    expect(found).toEqual([]);
  }, 120_000);

  it("catches planted violations: an upward import, a package importing an app, a cross-app import, a test reaching into src/", async () => {
    plant({
      "packages/policy/src/index.ts": 'import "../../mdoc/src/index.ts";\n',
      "packages/mdoc/src/index.ts": 'import "../../../apps/ra/src/index.ts";\n',
      "apps/ra/src/index.ts": 'import "../../dts/src/index.ts";\n',
      "apps/ra/src/app.ts": "export const x = 1;\n",
      "apps/dts/src/index.ts": "export const y = 1;\n",
      "test/leak.test.ts": 'import "../apps/ra/src/app.ts";\n',
    });
    const found = await cruiseIn(scratch, ["packages", "apps", "test"]);
    expect(found).toEqual(
      expect.arrayContaining([
        "layer-policy: packages/policy/src/index.ts → packages/mdoc/src/index.ts",
        "package-imports-app: packages/mdoc/src/index.ts → apps/ra/src/index.ts",
        "app-imports-app: apps/ra/src/index.ts → apps/dts/src/index.ts",
        "outside-imports-app-src: test/leak.test.ts → apps/ra/src/app.ts",
      ]),
    );
  }, 120_000);
});
