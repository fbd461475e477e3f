// Builds the auditor's documents from the live policy, the requirements register and the trace:
// the CP/CPS (full and public editions), the survey (関連ドキュメント調査結果報告書, also as CSV),
// the plan (目次案) and the 運用手順書 (scripts/runbook-build.ts), each as Markdown, HTML, DOCX and PDF.
//
//   npm run cpcps [-- --out DIR] [--formats md,html,docx,pdf] [--policy FILE] [--strict]
//
// The build stops when the trace or the register has a gap. Markdown needs no external tool;
// HTML and DOCX come from pandoc, PDF from the HTML with headless Chromium (fonts-noto-cjk). A
// format whose tool is missing is skipped with a message unless --strict is given.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { loadPolicy, type Policy } from "@iaca/policy";
import { finishDocx, writeReferenceDocx } from "./cpcps-docx.ts";
import { printPdf } from "./cpcps-pdf.ts";
import { renderPlan } from "./cpcps-plan.ts";
import { loadRegister, type Register, registerFailures } from "./cpcps-register.ts";
import {
  type Edition,
  findForbidden,
  loadRevisions,
  renderEdition,
  type Schedule,
  versionDate,
} from "./cpcps-render.ts";
import { loadSchedule } from "./cpcps-schedule.ts";
import { formatCounts, registerCounts, renderSurvey, renderSurveyCsv } from "./cpcps-survey.ts";
import { collectTrace, formatTraceText, type TraceResult, traceFailures } from "./cpcps-trace.ts";
import { prepareRunbook } from "./runbook-build.ts";

export type Format = "md" | "html" | "docx" | "pdf";
export const ALL_FORMATS: Format[] = ["md", "html", "docx", "pdf"];
/** The deliverables: both CP/CPS editions, the survey, the plan and the runbook. */
export type DocName = Edition | "survey" | "plan" | "runbook";
const ROOT = resolve(new URL("..", import.meta.url).pathname);
const STYLE = join(ROOT, "docs/cpcps/style.css");
const FILE: Record<DocName, string> = {
  full: "cpcps-full",
  public: "cpcps-public",
  survey: "cpcps-survey",
  plan: "cpcps-plan",
  runbook: "runbook",
};

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

export interface BuildOptions {
  out?: string;
  formats?: Format[];
  policy?: Policy;
  /** Fail instead of skipping a format whose tool is missing. */
  strict?: boolean;
  trace?: TraceResult;
  register?: Register;
  schedule?: Schedule | null;
  log?: (msg: string) => void;
}

export interface BuildResult {
  out: string;
  files: Record<DocName, Partial<Record<Format, string>>>;
  /** The survey's rows as CSV. */
  csv: string;
  skipped: string[];
  trace: TraceResult;
  register: Register;
  /** How many procedures and commands the 運用手順書 holds (checked against the CLI and the policy). */
  runbook: { procedures: number; commands: number };
  ms: number;
}

/** Trace and register gaps stop the build: a CP/CPS whose evidence is incomplete is not published. */
function checkInputs(trace: TraceResult, register: Register, policy: Policy): void {
  const failures = [...traceFailures(trace), ...registerFailures(register, trace)];
  const last = loadRevisions().at(-1);
  if (last?.version !== policy.version)
    failures.push(
      `docs/cpcps/revisions.yaml: latest version ${last?.version} differs from policy version ${policy.version}`,
    );
  if (failures.length) throw new Error(`cpcps: build stopped (${failures.length}):\n  ${failures.join("\n  ")}`);
}

function renderAll(policy: Policy, trace: TraceResult, register: Register, runbook: string, schedule?: Schedule) {
  const date = versionDate();
  const md = {} as Record<DocName, string>;
  for (const edition of ["full", "public"] as const)
    md[edition] = renderEdition({ edition, policy, trace, register, date, ...(schedule ? { schedule } : {}) });
  const hits = findForbidden(md.public);
  if (hits.length)
    throw new Error(
      `public edition contains forbidden terms:\n  ${hits.map((h) => `${h.term} (line ${h.line}): ${h.context}`).join("\n  ")}`,
    );
  md.survey = renderSurvey(register, policy.version, date);
  md.plan = renderPlan(policy, register, register.sources, date);
  md.runbook = runbook;
  return md;
}

function tools(formats: Format[], strict: boolean | undefined, skipped: string[]) {
  const pandoc = hasTool("pandoc");
  const chromium = formats.includes("pdf") ? chromiumBinary() : undefined;
  const need = (fmt: Format, ok: boolean, tool: string) => {
    if (!formats.includes(fmt)) return false;
    if (ok) return true;
    const msg = `${fmt}: ${tool} not found (apt-get install -y pandoc chromium fonts-noto-cjk poppler-utils)`;
    if (strict) throw new Error(msg);
    skipped.push(msg);
    return false;
  };
  const pdf = need("pdf", pandoc && !!chromium, pandoc ? "chromium" : "pandoc");
  return { html: need("html", pandoc, "pandoc") || pdf, docx: need("docx", pandoc, "pandoc"), pdf, chromium };
}

const PANDOC = ["-f", "markdown-smart", "-s", "--toc"];

export async function build(opts: BuildOptions = {}): Promise<BuildResult> {
  const t0 = Date.now();
  const log = opts.log ?? ((m: string) => console.error(m));
  const out = resolve(opts.out ?? join(ROOT, "docs/cpcps/dist"));
  const formats = opts.formats ?? ALL_FORMATS;
  const policy = opts.policy ?? loadPolicy();
  const trace = opts.trace ?? (await collectTrace(ROOT));
  const register = opts.register ?? loadRegister();
  checkInputs(trace, register, policy);
  const schedule = opts.schedule === null ? undefined : (opts.schedule ?? loadSchedule(policy, log));
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, "trace.txt"), `${formatTraceText(trace)}\n`);
  const csv = join(out, "cpcps-survey.csv");
  writeFileSync(csv, renderSurveyCsv(register, trace));

  const skipped: string[] = [];
  const want = tools(formats, opts.strict, skipped);
  const header = join(out, "style-header.html");
  writeFileSync(header, `<style>\n${readFileSync(STYLE, "utf8")}\n</style>\n`);
  const reference = join(out, "reference.docx");
  if (want.docx) writeReferenceDocx(reference);

  const runbook = await prepareRunbook(policy);
  const md = renderAll(policy, trace, register, runbook.markdown, schedule);
  const files = { full: {}, public: {}, survey: {}, plan: {}, runbook: {} } as BuildResult["files"];
  const pdfJobs: Promise<void>[] = [];
  for (const name of Object.keys(FILE) as DocName[]) {
    const base = join(out, FILE[name]);
    const depth = name === "full" || name === "public" ? "--toc-depth=3" : "--toc-depth=2";
    writeFileSync(`${base}.md`, md[name]);
    files[name].md = `${base}.md`;
    if (want.html) {
      run("pandoc", [`${base}.md`, ...PANDOC, "-t", "html5", depth, "-H", header, "-o", `${base}.html`]);
      files[name].html = `${base}.html`;
    }
    if (want.docx) {
      run("pandoc", [`${base}.md`, ...PANDOC, "-t", "docx", depth, "--reference-doc", reference, "-o", `${base}.docx`]);
      finishDocx(`${base}.docx`);
      files[name].docx = `${base}.docx`;
    }
    if (want.pdf && want.chromium) {
      const chromium = want.chromium;
      pdfJobs.push(
        printPdf(chromium, `${base}.html`, `${base}.pdf`).then(() => {
          files[name].pdf = `${base}.pdf`;
          log(`cpcps: ${name}: pdf`);
        }),
      );
    }
    log(`cpcps: ${name}: ${Object.keys(files[name]).join(", ")}`);
  }
  await Promise.all(pdfJobs);
  for (const s of skipped) log(`cpcps: skipped ${s}`);
  log(`cpcps: register: ${formatCounts(registerCounts(register))}`);
  log(`cpcps: runbook: ${runbook.procedures} procedures, ${runbook.commands} commands`);
  const { procedures, commands } = runbook;
  return { out, files, csv, skipped, trace, register, runbook: { procedures, commands }, ms: Date.now() - t0 };
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
