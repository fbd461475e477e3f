// One source, two editions. Reads docs/cpcps/src/*.md and renders the full (全体詳細版) or the
// public (外部公開用) edition as pandoc Markdown with every {{placeholder}} resolved from the policy.
//
// Source syntax (see docs/cpcps/README.md):
//   :::internal … :::      block kept only in the full edition
//   :::public … :::        block kept only in the public edition (public wording of an internal fact)
//   :::refs … :::          per-clause references (参考文献の参照先と内容); full edition only
//   [[internal:text]] / [[public:text]]   the same, inline
//   {{ds.validity}}        a policy value in Japanese ("3か月"); {{ds.validity|raw}} → "P3M"
//   {{table:NAME}}         a generated table (validity, schedule, trace)
//   ## 6.1 / ### 6.1.1     clause headings; the title comes from the RFC 3647 registry
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { allClauses, type Clause, type Policy } from "@iaca/policy";
import { parse } from "yaml";
import { durationJa, renderValue } from "./cpcps-format.ts";
import { profileSection } from "./cpcps-profile.ts";
import {
  expandCitation,
  loadSources,
  type Register,
  rowCitation,
  rowsByClause,
  type Source,
} from "./cpcps-register.ts";
import { type ControlTrace, formatTraceMarkdown, type TraceResult } from "./cpcps-trace.ts";

export type Edition = "full" | "public";

export const EDITION_TITLE: Record<Edition, string> = {
  full: "mdoc 認証局・発行局のポリシー及び運用規定（全体詳細版）",
  public: "mdoc 認証局・発行局のポリシー及び運用規定（外部公開用）",
};

export interface ScheduleRow {
  /** "IACA #1", "DS #3", "link 1→2" … */
  subject: string;
  notBefore: Date;
  notAfter: Date;
  /** End of the private-key usage period (last signature). */
  usageEnd?: Date;
  /** When the ceremony producing it is due. */
  ceremony?: Date;
  note?: string;
}

/** What the planner contributes (scripts/cpcps-schedule.ts maps packages/pki's plan onto this). */
export interface Schedule {
  source: string;
  start: Date;
  years: number;
  rows: ScheduleRow[];
  /** Number of root-room ceremonies and DS keys over the horizon. */
  ceremonies: number;
  dsCount: number;
  /** The planner's findings (violations, warnings, notes), as text. */
  findings: string[];
  /** The nearest consistent policy the planner proposes, when the policy breaks an invariant. */
  proposal: string[];
  violations: number;
}

export interface RenderInput {
  edition: Edition;
  policy: Policy;
  /** Omitted: per-clause controls and the matrix are left out (e.g. unit tests of wording). */
  trace?: TraceResult;
  schedule?: Schedule;
  srcDir?: string;
  /** Document date printed on the cover (YYYY-MM-DD); by default the latest revision's date. */
  date?: string;
  /** The requirements register: its rows join each item's 参照規定. */
  register?: Register;
  /** Citable sources (docs/cpcps/requirements/sources.yaml); loaded when omitted. */
  sources?: Map<string, Source>;
}

/** A 参照規定 line carried from selectEdition to structure(), which merges it into its item's block. */
export const REF_MARK = "\u0001REF ";

const CONTROLS_JA_FILE = new URL("../docs/cpcps/controls-ja.yaml", import.meta.url).pathname;
const REVISIONS_FILE = new URL("../docs/cpcps/revisions.yaml", import.meta.url).pathname;

/** docs/cpcps/controls-ja.yaml: Japanese summaries of the controls summarised in English. */
export function loadControlSummariesJa(file = CONTROLS_JA_FILE): Map<string, string> {
  return new Map(Object.entries(parse(readFileSync(file, "utf8")) as Record<string, string>));
}

const hasJapanese = (s: string) => /[\u3040-\u30ff\u4e00-\u9fff]/.test(s);

/** A control's summary in Japanese; throws when an English-only summary has no translation. */
export function controlSummaryJa(c: { id: string; summary: string }, ja = loadControlSummariesJa()): string {
  if (hasJapanese(c.summary)) return c.summary;
  const t = ja.get(c.id);
  if (!t) throw new Error(`control ${c.id} is summarised only in English: add it to docs/cpcps/controls-ja.yaml`);
  return t;
}

export interface Revision {
  version: string;
  date: string;
  summary: string;
}

/** docs/cpcps/revisions.yaml, oldest first. */
export function loadRevisions(file = REVISIONS_FILE): Revision[] {
  const raw = parse(readFileSync(file, "utf8")) as { revisions: Revision[] };
  return raw.revisions.map((r) => ({ version: String(r.version), date: String(r.date), summary: String(r.summary) }));
}

/** The document's version date: the date of its latest revision, never the build date. */
export function versionDate(revisions = loadRevisions()): string {
  const last = revisions.at(-1);
  if (!last) throw new Error("docs/cpcps/revisions.yaml lists no revision");
  return last.date;
}

export const SRC_DIR = new URL("../docs/cpcps/src/", import.meta.url).pathname;

export function readSource(dir = SRC_DIR): string {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".md"))
    .sort()
    .map((f) => `<!-- ${f} -->\n${readFileSync(join(dir, f), "utf8").trimEnd()}\n`)
    .join("\n");
}

const FENCE_OPEN = /^:::\s*\{?\s*\.?(internal|public|refs)\s*\}?\s*$/;
const FENCE_CLOSE = /^:::\s*$/;
const HEADING = /^(#{1,4})\s+(\d+(?:\.\d+)*)(?:\s+(.*))?$/;

/** Keeps or drops the edition-specific blocks and inline spans. Throws on unbalanced fences. */
export function selectEdition(src: string, edition: Edition): string {
  const out: string[] = [];
  let open: { kind: string; line: number; body: string[] } | undefined;
  src.split("\n").forEach((line, i) => {
    const m = FENCE_OPEN.exec(line);
    if (m) {
      if (open) throw new Error(`line ${i + 1}: ":::${m[1]}" inside ":::${open.kind}" opened at line ${open.line}`);
      open = { kind: m[1] ?? "", line: i + 1, body: [] };
      return;
    }
    if (open && FENCE_CLOSE.test(line)) {
      const { kind, body } = open;
      open = undefined;
      if (kind === "internal" && edition === "full")
        out.push(
          '::: {.internal custom-style="Internal"}',
          "**〔非公開〕ここから**",
          "",
          ...body,
          "",
          "**〔非公開〕ここまで**",
          ":::",
        );
      else if (kind === "public" && edition === "public") out.push(...body);
      else if (kind === "refs" && edition === "full")
        out.push(...body.filter((l) => l.trim()).map((l) => REF_MARK + l));
      return;
    }
    if (open) open.body.push(line);
    else out.push(line);
  });
  if (open) throw new Error(`":::${open.kind}" opened at line ${open.line} is never closed`);
  return out
    .join("\n")
    .replace(/\[\[(internal|public):((?:(?!\]\]).)*)\]\]/gs, (_, kind: string, text: string) =>
      kind === (edition === "full" ? "internal" : "public") ? text : "",
    );
}

function fmtDate(d: Date): string {
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, "0")}-${String(d.getUTCDate()).padStart(2, "0")}`;
}

/** Figure 2 beside the policy; the public edition drops the procurement column. */
function validityTable(p: Policy, edition: Edition): string {
  const rows = [
    "| 対象 | 項目 | 調達仕様書 図表2 | 本規定（現行ポリシー値） |",
    "|---|---|---|---|",
    `| IACA（Root 認証局） | 自己署名証明書の最大有効期間 | 最大5年 | ${renderValue(p, "iaca.validity")} |`,
    `| IACA | 鍵更新の間隔 | 5年毎 | ${renderValue(p, "iaca.rekeyInterval")}ごと |`,
    `| IACA | 初回の鍵更新 | 4年11ヶ月後 | 初回キーセレモニーから${renderValue(p, "iaca.firstRekeyAfter")}後 |`,
    `| IACA | 鍵更新の開始期限 | 利用期限が切れる1ヶ月前 | 利用期限の${renderValue(p, "iaca.rekeyLead")}前 |`,
    `| DS（Document Signer） | DS 証明書の最大有効期間 | 最大3ヶ月 | ${renderValue(p, "ds.validity")} |`,
    `| DS | 鍵更新（DS 鍵の切替え）の間隔 | 3ヶ月毎 | ${renderValue(p, "ds.rotationInterval")}ごと |`,
    `| DS | 初回の鍵更新 | 2か月後 | 初回 DS 証明書から${renderValue(p, "ds.firstRotationAfter")}後 |`,
    `| DS | 鍵更新の開始期限 | 利用期限が切れる1ヶ月前 | 私有鍵使用期間終了の${renderValue(p, "ds.renewalLead")}前 |`,
    `| DS | 私有鍵の使用期間 | （規定なし） | ${renderValue(p, "ds.usagePeriod")} |`,
    `| MSO | 最大有効期間 | 最大30日 | ${renderValue(p, "mso.validity")} |`,
    `| MSO | 再発行の間隔 | 30日毎（米国 mDL 運用基準） | ${renderValue(p, "mso.validity")}以内（有効期限の${renderValue(p, "mso.refreshWindow")}前から再発行可） |`,
  ];
  if (edition === "full") return rows.join("\n");
  // 調達仕様書 is internal: keep the subject, the item and this CP/CPS's value.
  return rows
    .map((r) => (r.startsWith("|---") ? ["|---|---", "---|"] : r.split(" | ")))
    .map((c) => (c.length === 2 ? "|---|---|---|" : [...c.slice(0, 2), ...c.slice(3)].join(" | ")))
    .join("\n")
    .replace("| 本規定（現行ポリシー値） |", "| 本規定の値 |");
}

/** 付録C: every source the CP/CPS cites, with its edition; the public edition omits internal ones. */
function sourcesTable(edition: Edition, sources: Map<string, Source>): string {
  const rows = [...sources.values()]
    .filter((s) => edition === "full" || s.key !== "seed")
    .map((s) => `| ${s.label} | ${s.title} | ${s.edition} |${edition === "full" ? ` ${s.text} |` : ""}`);
  const head =
    edition === "full"
      ? "| 略称 | 文献 | 版・日付 | 参照した範囲 |\n|---|---|---|---|"
      : "| 略称 | 文献 | 版・日付 |\n|---|---|---|";
  return [head, ...rows].join("\n");
}

/** The longest time from a DS certificate's signing ceremony to the start of its validity. */
function dsMaxLead(s: Schedule | undefined): string {
  const days = (s?.rows ?? [])
    .filter((r) => r.subject.startsWith("DS") && r.ceremony)
    .map((r) => Math.floor((r.notBefore.getTime() - (r.ceremony as Date).getTime()) / 86_400_000));
  if (days.length === 0) return "計画により定まる期間";
  const max = Math.max(...days);
  return `約${Math.round(max / 30.4)}か月（${max}日）`;
}

function revisionsTable(): string {
  const rows = loadRevisions().map((r) => `| 第${r.version}版 | ${r.date} | ${r.summary} |`);
  return ["| 版 | 日付 | 改訂の内容 |", "|---|---|---|", ...rows].join("\n");
}

/** The CA certificates the IACA issues; fingerprints come from the ceremony records (DTS lists them). */
function caCertificatesTable(p: Policy): string {
  const fp = "キーセレモニーの記録で確定し、DTS で公表する";
  return [
    "| 証明書 | 主体者名 | 鍵 | 有効期間 | SHA-256 フィンガープリント |",
    "|---|---|---|---|---|",
    `| IACA 証明書（自己署名） | ${renderValue(p, "iaca.name")} | ${renderValue(p, "iaca.key")} | 発行日から${renderValue(p, "iaca.validity")} | ${fp} |`,
    `| リンク証明書（2枚） | ${renderValue(p, "iaca.name")} | 新旧の IACA の鍵 | 旧 IACA 証明書の有効期間の終了まで | ${fp} |`,
    `| DS 証明書 | ${renderValue(p, "ds.subject")} | ${renderValue(p, "ds.key")} | 最大${renderValue(p, "ds.validity")} | ${fp} |`,
    `| トラストリスト署名者証明書 | DS 証明書と同じ形式 | ${renderValue(p, "ds.key")} | 最大${renderValue(p, "ds.validity")} | ${fp} |`,
  ].join("\n");
}

function scheduleTable(s: Schedule | undefined, edition: Edition): string {
  if (!s) return "（鍵及び証明書の計画表は、計画機能の出力を取り込んで生成する。本版では省略した。）";
  const lines = [
    `初回キーセレモニーを ${fmtDate(s.start)} とした場合の${s.years}年間の計画（抜粋）。この期間の DS 鍵は${s.dsCount}個、Root 認証局のキーセレモニーは${s.ceremonies}回である。`,
    "",
    "| 対象 | 有効期間の開始 | 有効期間の終了 | 私有鍵の使用期間の終了 | 署名するセレモニー | 備考 |",
    "|---|---|---|---|---|---|",
    ...s.rows.map(
      (r) =>
        `| ${r.subject} | ${fmtDate(r.notBefore)} | ${fmtDate(r.notAfter)} | ${r.usageEnd ? fmtDate(r.usageEnd) : "-"} | ${r.ceremony ? fmtDate(r.ceremony) : "-"} | ${r.note ?? ""} |`,
    ),
  ];
  if (edition === "full") {
    if (s.violations)
      lines.push(
        "",
        `**注意**: 現行のポリシー設定では、計画機能が不変条件の違反を${s.violations}件報告している。本規定の確定前に、次の提案を踏まえてポリシー設定を是正しなければならない。`,
      );
    lines.push("", `出典: ${s.source}。計画機能の検査結果:`, "");
    lines.push(...(s.findings.length ? s.findings.map((x) => `- ${x}`) : ["- 全ての不変条件を満たす。"]));
    if (s.proposal.length)
      lines.push(
        "",
        "計画機能が提案する、不変条件を満たす最も近いポリシー設定:",
        "",
        ...s.proposal.map((x) => `- ${x}`),
      );
  }
  return lines.join("\n");
}

function controlsBlock(clause: Clause, controls: ControlTrace[], ja: Map<string, string>): string {
  if (controls.length === 0)
    return clause.kind === "technical"
      ? '::: {.controls custom-style="Controls"}\n**実装上の管理策**: 未登録（本項を実装で担保する管理策は未だ定義されていない。）\n:::'
      : "";
  const items = controls.map((c) => {
    const tests = c.tests.length ? c.tests.map((t) => `\`${t.file}:${t.line}\``).join("、") : "**試験なし**";
    const at = c.definedAt ? `\`${c.definedAt.file}:${c.definedAt.line}\`` : "-";
    return `- \`${c.id}\` — ${controlSummaryJa(c, ja)}（定義: ${at}／試験: ${tests}）`;
  });
  return ['::: {.controls custom-style="Controls"}', "**実装上の管理策**", "", ...items, ":::"].join("\n");
}

/** An item's 参照規定: the register rows naming it, then the sources its text cites. */
function refsBlock(clause: Clause, refs: string[], input: RenderInput, sources: Map<string, Source>): string {
  const rows = input.register ? (rowsByClause(input.register).get(clause.id) ?? []) : [];
  const lines = [
    ...rows.map((r) => `- ${rowCitation(r)}: ${r.row.summary}（${r.row.applicability}）`),
    ...refs.map((l) => expandCitation(l, sources)),
  ];
  if (lines.length === 0) {
    if (input.register) throw new Error(`item ${clause.id} cites no register row and no other source`);
    return "";
  }
  return ['::: {.refs custom-style="Refs"}', "**参照規定**", "", ...lines, ":::"].join("\n");
}

/** Replaces clause headings with registry titles, checks the outline, appends per-clause sources and controls. */
function structure(md: string, input: RenderInput): string {
  const registry = new Map(allClauses().map((c) => [c.id, c]));
  const byClause = new Map((input.trace?.clauses ?? []).map((c) => [c.clause.id, c.controls]));
  const ja = loadControlSummariesJa();
  const sources = input.sources ?? loadSources();
  const seen: string[] = [];
  const out: string[] = [];
  let current: Clause | undefined;
  let refs: string[] = [];
  const flush = () => {
    if (current && input.edition === "full") {
      const r = refsBlock(current, refs, input, sources);
      if (r) out.push("", r, "");
      const block = input.trace ? controlsBlock(current, byClause.get(current.id) ?? [], ja) : "";
      if (block) out.push("", block, "");
    } else if (refs.length && input.edition === "full") {
      // An appendix cites its sources where it stands.
      const lines = refs.map((l) => expandCitation(l, sources));
      out.push("", ['::: {.refs custom-style="Refs"}', "**参照規定**", "", ...lines, ":::"].join("\n"), "");
    }
    refs = [];
  };
  let inCode = false;
  for (const line of md.split("\n")) {
    if (line.startsWith(REF_MARK)) {
      refs.push(line.slice(REF_MARK.length));
      continue;
    }
    if (/^```/.test(line)) inCode = !inCode;
    const m = inCode ? null : HEADING.exec(line);
    if (!m && /^#\s/.test(line) && !inCode) {
      // An unnumbered chapter (appendix) ends the current clause.
      flush();
      current = undefined;
    }
    if (!m) {
      out.push(line);
      continue;
    }
    const [, hashes = "", id = "", title] = m;
    const c = registry.get(id);
    if (!c) throw new Error(`heading "${line}": ${id} is not an RFC 3647 clause`);
    const level = id.split(".").length;
    if (hashes.length !== level) throw new Error(`heading "${line}": clause ${id} must be written with ${level} "#"`);
    if (title && title.trim() !== c.title)
      throw new Error(`heading "${line}": title must be "${c.title}" (registry) or omitted`);
    flush();
    current = c;
    seen.push(id);
    out.push(`${hashes} ${id} ${c.title}`);
  }
  flush();
  checkOutline(seen);
  return out.join("\n");
}

function checkOutline(seen: string[]): void {
  const expected = allClauses().map((c) => c.id);
  const missing = expected.filter((id) => !seen.includes(id));
  const dupes = seen.filter((id, i) => seen.indexOf(id) !== i);
  if (missing.length) throw new Error(`CP/CPS source lacks clauses: ${missing.join(", ")}`);
  if (dupes.length) throw new Error(`CP/CPS source repeats clauses: ${dupes.join(", ")}`);
  if (seen.join(",") !== expected.join(",")) throw new Error("CP/CPS clauses are not in RFC 3647 order");
}

function placeholders(md: string, input: RenderInput): string {
  return md.replace(/\{\{\s*([^{}]+?)\s*\}\}/g, (_, expr: string) => {
    if (expr === "table:validity") return validityTable(input.policy, input.edition);
    if (expr === "table:sources") return sourcesTable(input.edition, input.sources ?? loadSources());
    if (expr === "table:schedule") return scheduleTable(input.schedule, input.edition);
    if (expr === "table:trace") {
      if (!input.trace) return "（追跡表は生成時に省略した。）";
      const ja = loadControlSummariesJa();
      return formatTraceMarkdown(input.trace, (c) => controlSummaryJa(c, ja));
    }
    if (expr === "table:mdoc-profile") return profileSection(input.policy);
    if (expr === "table:revisions") return revisionsTable();
    if (expr === "schedule.ds-max-lead") return dsMaxLead(input.schedule);
    if (expr === "table:ca-certificates") return caCertificatesTable(input.policy);
    if (expr === "policy.version") return input.policy.version;
    if (expr === "edition.title") return EDITION_TITLE[input.edition];
    if (expr.startsWith("ja:")) return durationJa(expr.slice(3));
    return renderValue(input.policy, expr);
  });
}

/** The edition as pandoc Markdown with a YAML title block. */
export function renderEdition(input: RenderInput): string {
  const src = readSource(input.srcDir);
  const selected = selectEdition(src, input.edition);
  const body = placeholders(structure(selected, input), input).replace(/<!-- [\w.-]+\.md -->\n/g, "");
  const date = input.date ?? versionDate();
  const meta = [
    "---",
    `title: "${EDITION_TITLE[input.edition]}"`,
    `subtitle: "Certificate Policy / Certification Practice Statement（RFC 3647 準拠）第${input.policy.version}版"`,
    `date: "${date}"`,
    "lang: ja-JP",
    "---",
    "",
  ].join("\n");
  return `${meta}${body.replace(/\n{3,}/g, "\n\n").trim()}\n`;
}

export const FORBIDDEN_TERMS_FILE = new URL("../docs/cpcps/forbidden-terms.txt", import.meta.url).pathname;

/** docs/cpcps/forbidden-terms.txt: what must never reach the public edition. */
export function loadForbiddenTerms(file = FORBIDDEN_TERMS_FILE): string[] {
  return readFileSync(file, "utf8")
    .split("\n")
    .map((l) => l.replace(/(^|\s)#.*$/, "").trim())
    .filter(Boolean);
}

/**
 * Forbidden terms found in `text` (NFKC, case-insensitive; ASCII words match on word boundaries so
 * "OCI" does not match inside another word), with a line of context each.
 */
export function findForbidden(
  text: string,
  terms = loadForbiddenTerms(),
): { term: string; line: number; context: string }[] {
  const norm = text.normalize("NFKC");
  const lines = norm.split("\n");
  const hits: { term: string; line: number; context: string }[] = [];
  for (const term of terms) {
    const t = term.normalize("NFKC");
    const esc = t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/\s+/g, "\\s+");
    const re = /^[A-Za-z][A-Za-z ]*$/.test(t) ? new RegExp(`\\b${esc}\\b`, "i") : new RegExp(esc, "i");
    lines.forEach((l, i) => {
      if (re.test(l)) hits.push({ term, line: i + 1, context: l.trim().slice(0, 160) });
    });
  }
  return hits;
}

/** Markdown split by numbered clause headings: clause id → the lines under its heading. */
export function clauseSections(md: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current: string[] | undefined;
  let inCode = false;
  for (const line of md.split("\n")) {
    if (/^```/.test(line)) inCode = !inCode;
    const m = inCode ? null : HEADING.exec(line);
    if (m?.[2]) {
      current = [];
      out.set(m[2], current);
    } else if (!inCode && /^#\s/.test(line)) current = undefined;
    else current?.push(line);
  }
  return out;
}
