// CP/CPS traceability on this repository. Each control must cite a registered clause and be
// proved by a test naming its id; every declared control must be loadable. Technical clauses
// still without a control are gated by `npm run cpcps:trace` (CI), and listed here for the log.
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { collectTrace, type TraceResult } from "../scripts/cpcps-trace.ts";

let t: TraceResult;
beforeAll(async () => {
  t = await collectTrace(join(import.meta.dirname, ".."));
});

describe("cpcps traceability (repository)", () => {
  it("every package and app controls module imports", () => {
    expect(t.importErrors).toEqual([]);
    expect(t.modules).toContain("packages/policy/src/index.ts");
  });

  it("every declared control is loaded and cites a clause of the RFC 3647 registry", () => {
    expect(t.notLoaded).toEqual([]);
    expect(t.withoutClause.map((c) => c.id)).toEqual([]);
  });

  it("every control is proved by a test that names it", () => {
    expect(t.withoutTest.map((c) => `${c.id} (${c.definedAt?.file}:${c.definedAt?.line})`)).toEqual([]);
  });

  it("reports technical clauses without a control (gated by npm run cpcps:trace)", () => {
    if (t.uncovered.length)
      console.warn(`cpcps: technical clauses without a control: ${t.uncovered.map((c) => c.id).join(", ")}`);
    expect(t.clauses.length).toBeGreaterThan(200);
  });
});
