// PDF deliverables from pandoc's HTML with headless Chromium: A4 and page numbers come from
// docs/cpcps/style.css (@page margin boxes), bookmarks from --generate-pdf-document-outline, and
// the table of contents gets page numbers in a second print: the first print carries
// placeholders of the same width, pdftotext says where each heading landed, the second print
// carries the numbers.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

function runAsync(cmd: string, args: string[], timeoutMs = 300_000): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolvePromise();
      else reject(new Error(`${cmd} ${args.at(-1)} failed (${code ?? signal}): ${stderr}`));
    });
  });
}

async function print(chromium: string, html: string, pdf: string): Promise<void> {
  const profileDir = mkdtempSync(join(tmpdir(), "cpcps-chromium-"));
  try {
    await runAsync(chromium, [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-dev-shm-usage",
      "--no-pdf-header-footer",
      "--generate-pdf-document-outline",
      `--user-data-dir=${profileDir}`,
      `--print-to-pdf=${pdf}`,
      pathToFileURL(html).href,
    ]);
  } finally {
    rmSync(profileDir, { recursive: true, force: true });
  }
  if (!existsSync(pdf)) throw new Error(`chromium produced no ${pdf}`);
}

const TOC = /<nav id="TOC"[^>]*>[\s\S]*?<\/nav>/;
const ENTRY = /(<a href="#[^"]*"[^>]*>)([\s\S]*?)(<\/a>)(<span class="toc-page">[^<]*<\/span>)?/g;
const text = (html: string) =>
  html
    .replace(/<[^>]+>/g, "")
    .replace(/&amp;/g, "&")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"');
const squash = (s: string) => s.normalize("NFKC").replace(/\s+/g, "");

/** The table of contents' entries, in order. */
export function tocEntries(html: string): string[] {
  const nav = TOC.exec(html)?.[0] ?? "";
  return [...nav.matchAll(ENTRY)].map((m) => text(m[2] ?? ""));
}

/** The HTML with page numbers (or placeholders) after each table-of-contents entry. */
export function withTocPages(html: string, pages: (string | number)[]): string {
  let i = 0;
  return html.replace(TOC, (nav) =>
    nav.replace(ENTRY, (_, open: string, label: string, close: string) => {
      const n = pages[i++] ?? "";
      return `${open}${label}${close}<span class="toc-page">${n}</span>`;
    }),
  );
}

/**
 * The page (1-based) each entry's heading is printed on: the table of contents ends on the page
 * where its last entry first appears; each heading is searched from there, in order.
 */
export function headingPages(pdfText: string, entries: string[]): number[] {
  const pages = pdfText.split("\f").map(squash);
  const last = squash(entries.at(-1) ?? "");
  const tocEnd = Math.max(
    0,
    pages.findIndex((p) => p.includes(last)),
  );
  let from = tocEnd + 1;
  return entries.map((e) => {
    const want = squash(e);
    const at = pages.findIndex((p, i) => i >= from && p.includes(want));
    if (at < 0) return 0;
    from = at;
    return at + 1;
  });
}

/** Prints `html` (pandoc output with a table of contents) to `pdf` in two passes. */
export async function printPdf(chromium: string, html: string, pdf: string): Promise<void> {
  const source = readFileSync(html, "utf8");
  const entries = tocEntries(source);
  if (entries.length === 0) return print(chromium, html, pdf);
  const pass = `${html}.print.html`;
  try {
    writeFileSync(
      pass,
      withTocPages(
        source,
        entries.map(() => "000"),
      ),
    );
    await print(chromium, pass, pdf);
    const r = spawnSync("pdftotext", ["-enc", "UTF-8", pdf, "-"], { encoding: "utf8", maxBuffer: 64 << 20 });
    // Without pdftotext the contents stay unnumbered rather than show placeholders.
    const pages = r.status === 0 ? headingPages(r.stdout, entries).map((n) => (n > 0 ? n : "")) : [];
    writeFileSync(pass, withTocPages(source, pages));
    await print(chromium, pass, pdf);
  } finally {
    rmSync(pass, { force: true });
  }
}
