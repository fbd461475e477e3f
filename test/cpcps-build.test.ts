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
import { findForbidden } from "../scripts/cpcps-render.ts";

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
    },
    300_000,
  );
});
