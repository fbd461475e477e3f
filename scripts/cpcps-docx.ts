// The DOCX deliverables' reference document: pandoc's default reference.docx with A4 pages,
// page numbers in the footer, Japanese (ja-JP) as the East Asian language of every style, fields
// updated on opening (finishDocx: the table of contents gets its page numbers) and visible styles for the
// non-public blocks, the 参照規定 and the controls. fflate reads and writes the zip: a small,
// dependency-free library instead of hand-written zip code.
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { strFromU8, strToU8, unzipSync, zipSync } from "fflate";

const W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";
const R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";

const FOOTER = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:ftr xmlns:w="${W}" xmlns:r="${R}"><w:p><w:pPr><w:jc w:val="center"/></w:pPr><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText xml:space="preserve"> PAGE </w:instrText></w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>1</w:t></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p></w:ftr>`;

/** Paragraph styles the renderer names with custom-style: a left rule and a tint each. */
const BLOCK_STYLES: [id: string, fill: string, rule: string][] = [
  ["Internal", "FCE4E4", "C00000"],
  ["Refs", "EEF3FA", "2F5496"],
  ["Controls", "F2F2F2", "7F7F7F"],
];

function blockStyle([id, fill, rule]: (typeof BLOCK_STYLES)[number]): string {
  return `<w:style w:type="paragraph" w:customStyle="1" w:styleId="${id}"><w:name w:val="${id}"/><w:basedOn w:val="BodyText"/><w:qFormat/><w:pPr><w:pBdr><w:left w:val="single" w:sz="24" w:space="8" w:color="${rule}"/></w:pBdr><w:shd w:val="clear" w:color="auto" w:fill="${fill}"/><w:ind w:left="284"/></w:pPr></w:style>`;
}

function patchStyles(xml: string): string {
  return xml
    .replace(/<w:lang [^>]*\/>/, '<w:lang w:val="ja-JP" w:eastAsia="ja-JP" w:bidi="ar-SA" />')
    .replace(/w:eastAsiaTheme="minorHAnsi"/g, 'w:eastAsia="MS Mincho"')
    .replace(/w:eastAsiaTheme="majorEastAsia"/g, 'w:eastAsia="MS Gothic"')
    .replace("</w:styles>", `${BLOCK_STYLES.map(blockStyle).join("")}</w:styles>`);
}

function patchDocument(xml: string): string {
  const sect = `<w:sectPr><w:footerReference w:type="default" r:id="rIdCpcpsFooter"/><w:pgSz w:w="11906" w:h="16838"/><w:pgMar w:top="1701" w:right="1418" w:bottom="1418" w:left="1418" w:header="851" w:footer="567" w:gutter="0"/><w:pgNumType w:start="1"/></w:sectPr>`;
  if (!/<w:sectPr\s*\/>/.test(xml)) throw new Error("reference.docx: unexpected section properties");
  return xml.replace(/<w:sectPr\s*\/>/, sect);
}

/** Writes the reference document to `file` (pandoc --reference-doc). */
export function writeReferenceDocx(file: string): void {
  const r = spawnSync("pandoc", ["--print-default-data-file", "reference.docx"], { maxBuffer: 16 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`pandoc --print-default-data-file failed: ${r.stderr}`);
  const zip = unzipSync(new Uint8Array(r.stdout));
  const edit = (name: string, f: (s: string) => string) => {
    const part = zip[name];
    if (!part) throw new Error(`reference.docx has no ${name}`);
    zip[name] = strToU8(f(strFromU8(part)));
  };
  edit("word/styles.xml", patchStyles);
  edit("word/document.xml", patchDocument);
  edit("word/settings.xml", (s) =>
    s.replace(/<w:themeFontLang [^>]*\/>/, '<w:themeFontLang w:val="en-US" w:eastAsia="ja-JP" />'),
  );
  edit("word/_rels/document.xml.rels", (s) =>
    s.replace(
      "</Relationships>",
      `<Relationship Type="${R}/footer" Id="rIdCpcpsFooter" Target="footer1.xml" /></Relationships>`,
    ),
  );
  edit("[Content_Types].xml", (s) =>
    s.replace(
      "</Types>",
      '<Override PartName="/word/footer1.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.footer+xml"/></Types>',
    ),
  );
  zip["word/footer1.xml"] = strToU8(FOOTER);
  writeFileSync(file, zipSync(zip));
}

/** Elements CT_Settings orders after updateFields: it goes before the first one present. */
const AFTER_UPDATE_FIELDS = [
  "<w:hdrShapeDefaults",
  "<w:footnotePr",
  "<w:endnotePr",
  "<w:compat",
  "<w:rsids",
  "<m:mathPr",
  "<w:themeFontLang",
];

/**
 * Asks Word to update fields on opening, so the table of contents gets its page numbers (pandoc
 * does not carry this setting over from the reference document).
 */
export function finishDocx(file: string): void {
  const zip = unzipSync(new Uint8Array(readFileSync(file)));
  const part = zip["word/settings.xml"];
  if (!part) throw new Error(`${file} has no word/settings.xml`);
  const xml = strFromU8(part);
  if (xml.includes("<w:updateFields")) return;
  const at = AFTER_UPDATE_FIELDS.map((t) => xml.indexOf(t)).filter((i) => i >= 0);
  const i = at.length ? Math.min(...at) : xml.indexOf("</w:settings>");
  zip["word/settings.xml"] = strToU8(`${xml.slice(0, i)}<w:updateFields w:val="true" />${xml.slice(i)}`);
  writeFileSync(file, zipSync(zip));
}

/** The parts of a DOCX as text (tests read styles, settings and the document). */
export function docxParts(bytes: Uint8Array): Record<string, string> {
  const zip = unzipSync(bytes);
  return Object.fromEntries(Object.entries(zip).map(([k, v]) => [k, strFromU8(v)]));
}
