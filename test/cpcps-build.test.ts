// CP/CPS build: Markdown always; HTML, DOCX and PDF when pandoc and Chromium are installed
// (apt-get install -y pandoc chromium fonts-noto-cjk poppler-utils). The DOCX and PDF must open:
// their extracted text carries the Japanese chapter headings, and the public PDF none of the
// forbidden terms.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { allClauses } from "@iaca/policy";
import { describe, expect, it } from "vitest";
import { build, chromiumBinary, hasTool } from "../scripts/cpcps-build.ts";
import { docxParts } from "../scripts/cpcps-docx.ts";
import { PLAN_TITLE } from "../scripts/cpcps-plan.ts";
import { findForbidden, versionDate } from "../scripts/cpcps-render.ts";
import { SURVEY_TITLE } from "../scripts/cpcps-survey.ts";
import { loadRunbook } from "../scripts/runbook.ts";

const CHAPTERS = allClauses()
  .filter((c) => !c.id.includes("."))
  .map((c) => `${c.id} ${c.title}`);

const missing = [
  !hasTool("pandoc") && "pandoc",
  !chromiumBinary() && "chromium",
  !hasTool("pdftotext", ["-v"]) && "pdftotext (poppler-utils)",
].filter(Boolean);
if (missing.length)
  console.warn(
    `cpcps: DOCX/PDF test skipped: ${missing.join(", ")} not installed (apt-get install -y pandoc chromium fonts-noto-cjk poppler-utils)`,
  );

const text = (cmd: string, args: string[]) => {
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
  return r.stdout;
};
/** Extracted text with line breaks and spacing removed, so headings split by layout still match. */
const squash = (s: string) => s.normalize("NFKC").replace(/\s+/g, "");

describe("cpcps build", () => {
  it("builds both editions as Markdown without external tools", async () => {
    const out = mkdtempSync(join(tmpdir(), "cpcps-md-"));
    const r = await build({ out, formats: ["md"], log: () => {} });
    for (const e of ["full", "public"] as const) {
      const md = readFileSync(r.files[e].md!, "utf8");
      for (const h of CHAPTERS) expect(md).toContain(`# ${h}`);
    }
    expect(readFileSync(join(out, "trace.txt"), "utf8")).toContain("technical clauses:");
    expect(readFileSync(r.files.survey.md!, "utf8")).toContain(`title: "${SURVEY_TITLE}"`);
    expect(readFileSync(r.files.plan.md!, "utf8")).toContain(`title: "${PLAN_TITLE}"`);
    expect(readFileSync(r.csv, "utf8")).toContain("NCSSR,");
    // The cover carries the document's version date, not the build date.
    expect(readFileSync(r.files.full.md!, "utf8")).toContain(`date: "${versionDate()}"`);
  });

  it("stops when the trace has a gap", async () => {
    const out = mkdtempSync(join(tmpdir(), "cpcps-stop-"));
    const r = await build({ out, formats: ["md"], log: () => {} });
    const broken = { ...r.trace, importErrors: [{ module: "packages/x/src/index.ts", error: "Cannot find module" }] };
    await expect(build({ out, formats: ["md"], trace: broken, log: () => {} })).rejects.toThrow(
      /build stopped[\s\S]*import failed: packages\/x\/src\/index\.ts/,
    );
  });

  it.skipIf(missing.length > 0)(
    "builds HTML, DOCX and PDF; the DOCX and PDF open and carry the Japanese chapter headings",
    async () => {
      const out = mkdtempSync(join(tmpdir(), "cpcps-all-"));
      const r = await build({ out, strict: true, log: () => {} });
      expect(r.skipped).toEqual([]);
      for (const e of ["full", "public"] as const) {
        const pdf = text("pdftotext", ["-enc", "UTF-8", r.files[e].pdf!, "-"]);
        const docx = text("pandoc", ["-f", "docx", "-t", "plain", r.files[e].docx!]);
        const html = readFileSync(r.files[e].html!, "utf8");
        for (const h of CHAPTERS) {
          expect(squash(pdf)).toContain(squash(h));
          expect(squash(docx)).toContain(squash(h));
          expect(html).toContain(h.split(" ")[1]!);
        }
        if (e === "public") {
          expect(findForbidden(pdf).map((x) => x.term)).toEqual([]);
          expect(findForbidden(docx).map((x) => x.term)).toEqual([]);
        } else {
          expect(squash(pdf)).toContain(squash("付録D 技術的な項と管理策・試験の対応"));
        }
      }
      for (const name of ["full", "public", "survey", "plan", "runbook"] as const) {
        const pdfFile = r.files[name].pdf!;
        expect(text("pdfinfo", [pdfFile])).toMatch(/Page size:.*\(A4\)/);
        // Bookmarks (document outline) and a table of contents whose entries end in page numbers.
        expect(readFileSync(pdfFile).includes("/Outlines")).toBe(true);
        const toc = text("pdftotext", ["-layout", "-enc", "UTF-8", "-f", "2", "-l", "2", pdfFile, "-"]);
        expect(toc.split("\n").filter((l) => /\S\s{2,}\d+\s*$/.test(l)).length).toBeGreaterThanOrEqual(5);
        const parts = docxParts(readFileSync(r.files[name].docx!));
        expect(parts["word/styles.xml"]).toContain('w:eastAsia="ja-JP"');
        expect(parts["word/document.xml"]).toMatch(/<w:pgSz (?=[^>]*w:w="11906")(?=[^>]*w:h="16838")/);
        expect(parts["word/footer1.xml"]).toContain("PAGE");
        expect(parts["word/settings.xml"]).toContain("w:updateFields");
      }
      const full = docxParts(readFileSync(r.files.full.docx!))["word/document.xml"]!;
      // Non-public blocks are marked in the editable deliverable; no curly quotes around "1.0".
      expect(full).toContain('w:pStyle w:val="Internal"');
      expect(full).toContain("〔非公開〕ここまで");
      expect(full).not.toMatch(/[“”]1\.0[“”]/);
      expect(squash(text("pdftotext", ["-enc", "UTF-8", r.files.survey.pdf!, "-"]))).toContain(squash(SURVEY_TITLE));
      // the 運用手順書 carries every procedure in the PDF and the DOCX
      const runbookPdf = squash(text("pdftotext", ["-enc", "UTF-8", r.files.runbook.pdf!, "-"]));
      const runbookDocx = squash(text("pandoc", ["-f", "docx", "-t", "plain", r.files.runbook.docx!]));
      for (const p of loadRunbook().procedures) {
        expect(runbookPdf).toContain(squash(`${p.id} ${p.title}`));
        expect(runbookDocx).toContain(squash(`${p.id} ${p.title}`));
      }
      expect(r.runbook.procedures).toBe(loadRunbook().procedures.length);
    },
    600_000,
  );
});
