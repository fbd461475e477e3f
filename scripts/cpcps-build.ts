// Builds the CP/CPS: the full and the public edition as Markdown, HTML, DOCX and PDF, and the
// 運用手順書 (scripts/runbook-build.ts).
//
//   npm run cpcps [-- --out DIR] [--formats md,html,docx,pdf] [--policy FILE]
//
// Markdown comes from scripts/cpcps-render.ts (no external tools); HTML and DOCX from pandoc;
// PDF from the HTML with headless Chromium (fonts-noto-cjk for Japanese glyphs). A format whose
// tool is missing is skipped with a message unless --strict is given.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { loadPolicy, type Policy } from "@iaca/policy";
import { type Edition, findForbidden, renderEdition, type Schedule } from "./cpcps-render.ts";
import { loadSchedule } from "./cpcps-schedule.ts";
import { collectTrace, formatTraceText, type TraceResult } from "./cpcps-trace.ts";
import { buildRunbook, type RunbookBuild } from "./runbook-build.ts";

export type Format = "md" | "html" | "docx" | "pdf";
export const ALL_FORMATS: Format[] = ["md", "html", "docx", "pdf"];
const EDITIONS: Edition[] = ["full", "public"];
const ROOT = resolve(new URL("..", import.meta.url).pathname);
const STYLE = join(ROOT, "docs/cpcps/style.css");

export function hasTool(cmd: string, args = ["--version"]): boolean {
  return spawnSync(cmd, args, { stdio: "ignore" }).status === 0;
}

/** The Chromium binary, if any ($CHROMIUM or the usual Debian/Ubuntu names). */
export function chromiumBinary(): string | undefined {
  const names = [process.env.CHROMIUM, "chromium", "chromium-browser", "google-chrome"].filter(Boolean) as string[];
  return names.find((n) => hasTool(n));
}

function run(cmd: string, args: string[], timeoutMs = 180_000): void {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: timeoutMs });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status ?? r.signal}): ${r.stderr}`);
}

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

export interface BuildOptions {
  out?: string;
  formats?: Format[];
  policy?: Policy;
  /** Fail instead of skipping a format whose tool is missing. */
  strict?: boolean;
  trace?: TraceResult;
  schedule?: Schedule | null;
  log?: (msg: string) => void;
}

export interface BuildResult {
  out: string;
  files: Record<Edition, Partial<Record<Format, string>>>;
  skipped: string[];
  trace: TraceResult;
  /** The 運用手順書 (scripts/runbook-build.ts). */
  runbook: RunbookBuild;
  ms: number;
}

/** `${base}.md` as standalone HTML (with the CSS block `header`) or DOCX, with a table of contents; returns the file. */
export function pandocTo(base: string, to: "html" | "docx", tocDepth: number, header?: string): string {
  const file = `${base}.${to}`;
  const style = to === "html" ? ["-s", ...(header ? ["-H", header] : [])] : [];
  run("pandoc", [
    `${base}.md`,
    "-f",
    "markdown",
    "-t",
    to === "html" ? "html5" : "docx",
    ...style,
    "--toc",
    `--toc-depth=${tocDepth}`,
    "-o",
    file,
  ]);
  return file;
}

/** Prints `${base}.html` to `${base}.pdf` with headless Chromium, in a profile of its own so several can run at once. */
export async function printPdf(chromium: string, base: string): Promise<string> {
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
      `--user-data-dir=${profileDir}`,
      `--print-to-pdf=${base}.pdf`,
      pathToFileURL(`${base}.html`).href,
    ]);
  } finally {
    rmSync(profileDir, { recursive: true, force: true });
  }
  if (!existsSync(`${base}.pdf`)) throw new Error(`chromium produced no ${base}.pdf`);
  return `${base}.pdf`;
}

export async function build(opts: BuildOptions = {}): Promise<BuildResult> {
  const t0 = Date.now();
  const log = opts.log ?? ((m: string) => console.error(m));
  const out = resolve(opts.out ?? join(ROOT, "docs/cpcps/dist"));
  const formats = opts.formats ?? ALL_FORMATS;
  const policy = opts.policy ?? loadPolicy();
  const trace = opts.trace ?? (await collectTrace(ROOT));
  const schedule = opts.schedule === null ? undefined : (opts.schedule ?? loadSchedule(policy, log));
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, "trace.txt"), `${formatTraceText(trace)}\n`);

  const skipped: string[] = [];
  const pandoc = hasTool("pandoc");
  const chromium = formats.includes("pdf") ? chromiumBinary() : undefined;
  const need = (fmt: Format, ok: boolean, tool: string) => {
    if (!formats.includes(fmt)) return false;
    if (ok) return true;
    const msg = `${fmt}: ${tool} not found (apt-get install -y pandoc chromium fonts-noto-cjk poppler-utils)`;
    if (opts.strict) throw new Error(msg);
    skipped.push(msg);
    return false;
  };
  const wantHtml = need("html", pandoc, "pandoc") || (formats.includes("pdf") && pandoc && !!chromium);
  const wantDocx = need("docx", pandoc, "pandoc");
  const wantPdf = need("pdf", pandoc && !!chromium, pandoc ? "chromium" : "pandoc");

  const header = join(out, "style-header.html");
  writeFileSync(header, `<style>\n${readFileSync(STYLE, "utf8")}\n</style>\n`);

  const files: BuildResult["files"] = { full: {}, public: {} };
  const pdfJobs: { edition: Edition; base: string }[] = [];
  for (const edition of EDITIONS) {
    const base = join(out, `cpcps-${edition}`);
    const md = renderEdition({ edition, policy, trace, ...(schedule ? { schedule } : {}) });
    if (edition === "public") {
      const hits = findForbidden(md);
      if (hits.length)
        throw new Error(
          `public edition contains forbidden terms:\n  ${hits.map((h) => `${h.term} (line ${h.line}): ${h.context}`).join("\n  ")}`,
        );
    }
    writeFileSync(`${base}.md`, md);
    files[edition].md = `${base}.md`;
    if (wantHtml) files[edition].html = pandocTo(base, "html", 2, header);
    if (wantDocx) files[edition].docx = pandocTo(base, "docx", 2);
    if (wantPdf && chromium) pdfJobs.push({ edition, base });
    log(`cpcps: ${edition}: ${Object.keys(files[edition]).join(", ")}`);
  }
  // Chromium spends most of its time starting up: print both editions and the runbook at once.
  const [runbook] = await Promise.all([
    buildRunbook({ out, formats, policy, header, ...(opts.strict ? { strict: true } : {}) }),
    ...pdfJobs.map(async ({ edition, base }) => {
      files[edition].pdf = await printPdf(chromium!, base);
      log(`cpcps: ${edition}: pdf`);
    }),
  ]);
  skipped.push(...runbook.skipped);
  log(
    `cpcps: runbook (${runbook.procedures} procedures, ${runbook.commands} commands): ${Object.keys(runbook.files).join(", ")}`,
  );
  for (const s of skipped) log(`cpcps: skipped ${s}`);
  return { out, files, skipped, trace, runbook, ms: Date.now() - t0 };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const formats = opt("--formats")?.split(",") as Format[] | undefined;
  const policyPath = opt("--policy");
  const r = await build({
    ...(opt("--out") ? { out: opt("--out") } : {}),
    ...(formats ? { formats } : {}),
    ...(policyPath ? { policy: loadPolicy(policyPath) } : {}),
    strict: args.includes("--strict"),
  });
  console.error(`cpcps: wrote ${r.out} in ${(r.ms / 1000).toFixed(1)} s`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href)
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exitCode = 1;
  });
