// CP/CPS: one source, two editions. The public edition must reveal nothing internal
// (docs/cpcps/forbidden-terms.txt); both editions carry the whole RFC 3647 outline.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { allClauses, DEFAULT_POLICY } from "@iaca/policy";
import { beforeAll, describe, expect, it } from "vitest";
import {
  findForbidden,
  loadForbiddenTerms,
  readSource,
  renderEdition,
  SRC_DIR,
  selectEdition,
} from "../scripts/cpcps-render.ts";
import { loadSchedule } from "../scripts/cpcps-schedule.ts";
import { collectTrace, type TraceResult } from "../scripts/cpcps-trace.ts";

let trace: TraceResult;
let full: string;
let pub: string;

beforeAll(async () => {
  trace = await collectTrace(join(import.meta.dirname, ".."));
  const schedule = loadSchedule(DEFAULT_POLICY);
  full = renderEdition({ edition: "full", policy: DEFAULT_POLICY, trace, schedule, date: "2026-01-01" });
  pub = renderEdition({ edition: "public", policy: DEFAULT_POLICY, trace, schedule, date: "2026-01-01" });
});

describe("cpcps editions", () => {
  it("the public edition contains none of the forbidden terms", () => {
    const hits = findForbidden(pub);
    expect(hits.map((h) => `${h.term} (line ${h.line}): ${h.context}`)).toEqual([]);
  });

  it("the full edition does carry the internal facts the public one drops (the markers work)", () => {
    for (const t of [
      "ガバメントクラウド",
      "Managed PKI Security Room",
      "mdoc IACA 運用保守ルーム",
      "〔非公開〕",
      "参照規定",
    ])
      expect(full).toContain(t);
    // Internal facts reach the full edition only through the markers: drop the internal blocks
    // from the source and nothing forbidden is left outside them.
    // Placeholders name policy keys; what they render to is checked on the public edition above.
    const outside = selectEdition(readSource(), "public").replace(/\{\{[^{}]*\}\}/g, "");
    expect(findForbidden(outside)).toEqual([]);
  });

  it("the forbidden-term list covers the seed's items (government cloud, rooms, HSM models)", () => {
    const terms = loadForbiddenTerms().map((t) => t.toLowerCase());
    for (const t of [
      "ガバメントクラウド",
      "ガバクラ",
      "government cloud",
      "managed pki security room",
      "運用保守ルーム",
      "softhsm",
    ])
      expect(terms).toContain(t);
  });

  it("both editions have every RFC 3647 clause heading with its Japanese title, in order", () => {
    for (const md of [full, pub]) {
      const headings = [...md.matchAll(/^#{1,4} (\d+(?:\.\d+)*) (.+)$/gm)].map((m) => `${m[1]} ${m[2]}`);
      expect(headings).toEqual(allClauses().map((c) => `${c.id} ${c.title}`));
    }
  });

  it("the full edition lists controls under technical clauses and has the traceability appendix", () => {
    expect(full).toContain("# 付録D");
    expect(full).toContain("| 条項 | 管理策 | 実装箇所 | 試験 |");
    for (const c of trace.controls) expect(full).toContain(`\`${c.id}\``);
    expect(pub).not.toContain("付録D");
    expect(pub).not.toContain("実装上の管理策");
  });

  it("the seed's required content is present: validityInfo duty, MSO and mdoc profiles, link certificates", () => {
    for (const md of [full, pub]) {
      expect(md).toContain("validFrom 以降かつ validUntil 以前");
      expect(md).toContain("org.iso.23220.1.jp.mnc");
      for (const id of [
        "full_name_unicode",
        "birth_date_unicode",
        "resident_address_unicode",
        "sex_unicode",
        "local_gov_code_unicode",
        "individual_number_unicode",
        "portrait",
        "age_over_20",
        "age_in_years",
        "birth_date",
      ])
        expect(md).toContain(`\`${id}\``);
      expect(md).toContain("リンク証明書");
      for (const f of ["version", "digestAlgorithm", "valueDigests", "deviceKeyInfo", "docType", "validityInfo"])
        expect(md).toContain(f);
    }
    // The public edition gives the reasons for the intervals, but neither the procurement
    // specification, nor the planner's schedule (ceremony dates), nor its internals.
    expect(pub).toContain("更新の間隔の根拠");
    expect(pub).not.toContain("調達仕様書");
    expect(full).toContain("計画機能の検査結果");
    expect(full).toContain("# 付録E 調達仕様書からの変更点");
  });

  it("unbalanced or nested edition markers fail the build", () => {
    expect(() => selectEdition(":::internal\ntext\n", "full")).toThrow(/never closed/);
    expect(() => selectEdition(":::internal\n:::public\n:::\n:::\n", "full")).toThrow(/inside/);
    expect(selectEdition("a [[internal:secret]][[public:open]] b", "public")).toBe("a open b");
    expect(selectEdition("a [[internal:secret]][[public:open]] b", "full")).toBe("a secret b");
  });

  it("a missing clause or a wrong title fails the build", () => {
    const dir = mkdtempSync(join(tmpdir(), "cpcps-src-"));
    const src = readFileSync(join(SRC_DIR, "06-technical.md"), "utf8");
    const copy = (text: string) => {
      for (const f of ["00-front.md", "01-introduction.md", "02-repository.md", "03-identification.md"])
        writeFileSync(join(dir, f), readFileSync(join(SRC_DIR, f), "utf8"));
      writeFileSync(join(dir, "06-technical.md"), text);
    };
    copy(src);
    expect(() => renderEdition({ edition: "public", policy: DEFAULT_POLICY, srcDir: dir })).toThrow(
      /lacks clauses: 4,/,
    );
    copy(src.replace("### 6.1.1\n", "### 6.1.1 鍵の生成\n"));
    expect(() => renderEdition({ edition: "public", policy: DEFAULT_POLICY, srcDir: dir })).toThrow(
      /title must be "鍵ペアの生成"/,
    );
  });
});
