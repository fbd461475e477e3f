// The requirements register (docs/cpcps/requirements) and what is generated from it: the survey
// (関連ドキュメント調査結果報告書, also CSV), the plan (目次案) and every item's 参照規定. The
// validator must refuse rows naming missing items, applicable technical rows without a tested
// control, citations without an edition, and items citing nothing.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { allClauses, DEFAULT_POLICY } from "@iaca/policy";
import { beforeAll, describe, expect, it } from "vitest";
import { renderPlan } from "../scripts/cpcps-plan.ts";
import {
  expandCitation,
  expandClauses,
  loadRegister,
  loadSources,
  REQ_DIR,
  type Register,
  registerFailures,
  rowsByClause,
} from "../scripts/cpcps-register.ts";
import { clauseSections, controlSummaryJa, renderEdition, SRC_DIR } from "../scripts/cpcps-render.ts";
import { registerCounts, renderSurvey, renderSurveyCsv } from "../scripts/cpcps-survey.ts";
import { collectTrace, type TraceResult } from "../scripts/cpcps-trace.ts";

let trace: TraceResult;
let reg: Register;
let full: string;

beforeAll(async () => {
  trace = await collectTrace(join(import.meta.dirname, ".."));
  reg = loadRegister();
  full = renderEdition({ edition: "full", policy: DEFAULT_POLICY, trace, register: reg, date: "2026-01-01" });
});

/** A copy of the register directory with `file` changed by `edit`. */
function planted(file: string, edit: (text: string) => string): string {
  const dir = mkdtempSync(join(tmpdir(), "cpcps-req-"));
  cpSync(REQ_DIR, dir, { recursive: true });
  writeFileSync(join(dir, file), edit(readFileSync(join(dir, file), "utf8")));
  return dir;
}

describe("cpcps requirements register", () => {
  it("covers the five documents of the seed's 5.ア, each with its edition and rows that pass the validator", () => {
    expect(reg.documents.map((d) => d.file)).toEqual(["webtrust", "jipdec", "ncssr", "etsi-en-319-411-1", "rfc3647"]);
    for (const d of reg.documents) {
      expect(d.source.edition).not.toBe("");
      expect(d.requirements.length).toBeGreaterThan(5);
    }
    expect(registerFailures(reg, trace)).toEqual([]);
    // NCSSR v1.7 was consulted in full: every item of sections 1 to 4 is a row.
    expect(reg.documents.find((d) => d.file === "ncssr")?.requirements).toHaveLength(12 + 15 + 7 + 6);
  });

  it("a row naming an item the CP/CPS does not have fails to load", () => {
    const dir = planted("ncssr.yaml", (t) => t.replace('clauses: ["6.7"]', 'clauses: ["6.7.9"]'));
    expect(() => loadRegister(dir)).toThrow(/ncssr\.yaml row \d+: .*item 6\.7\.9, which the CP\/CPS does not have/);
    expect(() => expandClauses(["4.9*"])).not.toThrow();
    expect(expandClauses(["4.12*"])).toEqual(["4.12", "4.12.1", "4.12.2"]);
  });

  it("an applicable technical row reaching no tested control fails; so does an unknown control", () => {
    const untested = planted("ncssr.yaml", (t) =>
      t.replace("controls: [pki.operator.authenticated, pki.operator.registry]", "controls: []"),
    );
    const r1 = registerFailures(loadRegister(untested), trace);
    expect(r1).toContain("ncssr.yaml 2.f: an applicable technical requirement reaches no tested control");
    const unknown = planted("ncssr.yaml", (t) =>
      t.replace("controls: [ra.rate-limit]", "controls: [ra.no-such-control]"),
    );
    const r2 = registerFailures(loadRegister(unknown), trace);
    expect(r2).toContain("ncssr.yaml 4.a: control ra.no-such-control does not exist");
    // A control whose tests are gone no longer counts.
    const noTests = {
      ...trace,
      controls: trace.controls.map((c) => (c.id === "ra.rate-limit" ? { ...c, tests: [] } : c)),
    };
    expect(registerFailures(reg, noTests)).toContain("ncssr.yaml 4.a: control ra.rate-limit has no test");
  });

  it("a partial or excluded row needs a reason", () => {
    const dir = planted("ncssr.yaml", (t) => t.replace(/(id: "2\.k"[\s\S]*?)\n\s+reason: [^\n]*/, "$1"));
    expect(registerFailures(loadRegister(dir), trace)).toContain("ncssr.yaml 2.k: 一部適用 needs a reason");
  });

  it("citations name a known, consulted source and a section, and render with the edition", () => {
    const sources = loadSources();
    expect(expandCitation("- @rfc5280 5.3.1: 失効理由コード。", sources)).toBe(
      "- RFC 5280（2008年5月）5.3.1: 失効理由コード。",
    );
    expect(() => expandCitation("- RFC 5280 5.3.1: x", sources)).toThrow(/@source section/);
    expect(() => expandCitation("- @nosuch 1: x", sources)).toThrow(/unknown source @nosuch/);
    expect(() => expandCitation("- @jpki-cps 4.9: x", sources)).toThrow(/was not consulted/);
    expect(() => expandCitation("- @rfc5280 : x", sources)).toThrow(/names no section/);
  });

  it("every item of the full edition has its own 参照規定, each line naming an edition", () => {
    const sections = clauseSections(full);
    for (const c of allClauses()) {
      const body = (sections.get(c.id) ?? []).join("\n");
      expect(body, `item ${c.id}`).toContain("**参照規定**");
    }
    const refs = [...full.matchAll(/\*\*参照規定\*\*\n\n((?:- .*\n)+)/g)].flatMap((m) =>
      (m[1] ?? "").trim().split("\n"),
    );
    expect(refs.length).toBeGreaterThan(allClauses().length);
    for (const line of refs) expect(line, line).toMatch(/^- .+（[^）]+）\S/);
    expect(full).not.toMatch(/4\.3\.1\.1|4\.3\.2\.1|4\.6\.1\.1|4\.6\.3\.2/);
  });

  it("an item citing nothing stops the build", () => {
    const empty: Register = { ...reg, documents: reg.documents.map((d) => ({ ...d, requirements: [] })) };
    expect(() => renderEdition({ edition: "full", policy: DEFAULT_POLICY, register: empty, srcDir: SRC_DIR })).toThrow(
      /item 1 cites no register row and no other source/,
    );
    expect(rowsByClause(reg).get("9.17")?.length).toBeGreaterThan(0);
  });

  it("the full edition prints every control's summary in Japanese", () => {
    for (const c of trace.controls) expect(controlSummaryJa(c)).toMatch(/[\u3040-\u30ff\u4e00-\u9fff]/);
    expect(() => controlSummaryJa({ id: "x.untranslated", summary: "English only" })).toThrow(/controls-ja\.yaml/);
    expect(full).not.toContain("Ceremony steps listed in policy");
  });
});

describe("cpcps survey and plan", () => {
  it("the survey lists every document with its edition, the counts per status and every row", () => {
    const md = renderSurvey(reg, DEFAULT_POLICY.version, "2026-01-01");
    for (const d of reg.documents) {
      expect(md).toContain(d.title);
      expect(md).toContain(d.source.edition);
    }
    const counts = registerCounts(reg);
    for (const c of counts)
      expect(md).toContain(
        `| ${c.label} | ${c.total} | ${c.byStatus.適用} | ${c.byStatus.一部適用} | ${c.byStatus.適用外} |`,
      );
    expect(md).toContain("| 1.c | Root 認証局のシステムを高度セキュリティ区画に置き");
    expect(md).toContain("一部を参照");
  });

  it("the CSV has one line per row, with edition, items, controls and tests", () => {
    const csv = renderSurveyCsv(reg, trace);
    const lines = csv.trim().split("\r\n");
    expect(csv.startsWith("\ufeff文書,版・日付,番号")).toBe(true);
    expect(lines).toHaveLength(1 + reg.documents.reduce((n, d) => n + d.requirements.length, 0));
    const row = lines.find((l) => l.startsWith("NCSSR,") && l.includes(",2.f,"));
    expect(row).toContain("pki.operator.authenticated");
    expect(row).toMatch(/test\/|packages\/|apps\//);
  });

  it("the plan has every RFC 3647 item with a summary, sources with editions and the policy values it prints", () => {
    const md = renderPlan(DEFAULT_POLICY, reg, reg.sources, "2026-01-01");
    for (const c of allClauses()) expect(md).toContain(`| ${c.id} | ${c.title} |`);
    const row = md.split("\n").find((l) => l.startsWith("| 4.9.7 | CRLの発行頻度 |")) ?? "";
    expect(row).toContain("| CRL 及び ARL は Root 認証局のキーセレモニーごとに発行する。 |");
    expect(row).toContain("RFC 3647（2003年11月）4.4.9");
    expect(md).toContain("revocation.nextUpdate = 106日");
    expect(md).toContain("JPKI 及び GPKI の CP/CPS は");
  });
});
