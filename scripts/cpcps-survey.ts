// 関連ドキュメント調査結果報告書 (the seed's 5.ア): the requirements register as a report,
// per document its 遵守事項, their applicability and the CP/CPS items meeting them, with a
// summary table of counts; and the same rows as CSV for auditors.
import { APPLICABILITY, consultedJa, type Register, type RegisterDoc } from "./cpcps-register.ts";
import type { TraceResult } from "./cpcps-trace.ts";

export const SURVEY_TITLE = "関連ドキュメント調査結果報告書";

const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");
/** "5.3*" reads "5.3 及びその下位の項". */
const items = (patterns: string[]) =>
  patterns.map((p) => (p.endsWith("*") ? `${p.slice(0, -1)} 及びその下位の項` : p)).join("、");

export interface Counts {
  label: string;
  total: number;
  byStatus: Record<(typeof APPLICABILITY)[number], number>;
  technical: number;
}

/** Rows per document and applicability (the survey's summary table and the build's closing note). */
export function registerCounts(reg: Register): Counts[] {
  return reg.documents.map((d) => ({
    label: d.label,
    total: d.requirements.length,
    byStatus: Object.fromEntries(
      APPLICABILITY.map((a) => [a, d.requirements.filter((r) => r.applicability === a).length]),
    ) as Counts["byStatus"],
    technical: d.requirements.filter((r) => r.kind === "technical").length,
  }));
}

export function formatCounts(counts: Counts[]): string {
  return counts
    .map((c) => `${c.label} ${c.total}（${APPLICABILITY.map((a) => `${a} ${c.byStatus[a]}`).join("、")}）`)
    .join("; ");
}

function summaryTable(reg: Register): string[] {
  const counts = registerCounts(reg);
  const sum = (f: (c: Counts) => number) => counts.reduce((n, c) => n + f(c), 0);
  return [
    "| 文書 | 遵守事項 | 適用 | 一部適用 | 適用外 | うち技術的事項 |",
    "|---|---:|---:|---:|---:|---:|",
    ...counts.map(
      (c) =>
        `| ${c.label} | ${c.total} | ${c.byStatus.適用} | ${c.byStatus.一部適用} | ${c.byStatus.適用外} | ${c.technical} |`,
    ),
    `| 合計 | ${sum((c) => c.total)} | ${sum((c) => c.byStatus.適用)} | ${sum((c) => c.byStatus.一部適用)} | ${sum((c) => c.byStatus.適用外)} | ${sum((c) => c.technical)} |`,
  ];
}

function documentsTable(reg: Register): string[] {
  return [
    "| 文書 | 版・日付 | 本文の参照 | 参照した範囲 |",
    "|---|---|---|---|",
    ...reg.documents.map(
      (d) => `| ${cell(d.title)} | ${cell(d.source.edition)} | ${consultedJa(d.source)} | ${cell(d.source.text)} |`,
    ),
  ];
}

function documentSection(d: RegisterDoc, n: number): string[] {
  return [
    `## 4.${n} ${d.label}（${d.source.edition}）`,
    "",
    `文書: ${d.title}`,
    "",
    `対象: ${d.scope}`,
    "",
    d.note,
    "",
    "| 番号 | 遵守事項（要旨） | 適用 | 理由 | 本規定の該当項 | 管理策 |",
    "|---|---|---|---|---|---|",
    ...d.requirements.map(
      (r) =>
        `| ${cell(r.id)} | ${cell(r.summary)} | ${r.applicability} | ${cell(r.reason ?? "")} | ${items(r.patterns)} | ${r.controls.map((c) => `\`${c}\``).join(" ")} |`,
    ),
    "",
  ];
}

export function renderSurvey(reg: Register, version: string, date: string): string {
  return [
    "---",
    `title: "${SURVEY_TITLE}"`,
    `subtitle: "mdoc 認証局・発行局のポリシー及び運用規定の策定に係る遵守事項の調査 第${version}版"`,
    `date: "${date}"`,
    "lang: ja-JP",
    "---",
    "",
    "# 1 調査の目的及び方法",
    "",
    "本書は、mdoc 認証局・発行局のポリシー及び運用規定（以下「本規定」という。）が遵守しなければならない事項を、指定された5文書について調査し、その結果をまとめたものである。各文書の要件を項目ごとに要約し、本認証局への適用の有無（適用、一部適用又は適用外）とその理由、要件を満たす本規定の項、及び設備のプログラムで担保する要件についてはその管理策を示す。",
    "",
    "要旨は調査者の言葉で記載したものであり、原文の翻訳ではない。本文を参照できなかった文書又は部分は、その旨を2の表及び各文書の節に記載し、確認できない要件番号は記載していない。本書は、本規定及び目次案と同一の要件一覧（要件登録簿）から生成しており、本規定の各項の参照規定と一致する。",
    "",
    "# 2 調査対象文書",
    "",
    ...documentsTable(reg),
    "",
    "# 3 調査結果の概要",
    "",
    "文書ごとの遵守事項の数と、本認証局への適用の状況は次のとおりである。技術的事項は、設備のプログラムが担保し、試験で確かめる管理策を持つ事項である。",
    "",
    ...summaryTable(reg),
    "",
    "# 4 文書ごとの遵守事項",
    "",
    ...reg.documents.flatMap((d, i) => documentSection(d, i + 1)),
  ].join("\n");
}

const csvField = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

/** The register as CSV (UTF-8 with BOM, CRLF) for spreadsheet tools. */
export function renderSurveyCsv(reg: Register, trace?: TraceResult): string {
  const tests = new Map((trace?.controls ?? []).map((c) => [c.id, c.tests.map((t) => `${t.file}:${t.line}`)]));
  const head = ["文書", "版・日付", "番号", "遵守事項", "適用", "理由", "種別", "本規定の該当項", "管理策", "試験"];
  const rows = reg.documents.flatMap((d) =>
    d.requirements.map((r) => [
      d.label,
      r.source.edition,
      r.id,
      r.summary,
      r.applicability,
      r.reason ?? "",
      r.kind === "technical" ? "技術的" : "運用",
      r.clauses.join(" "),
      r.controls.join(" "),
      r.controls.flatMap((c) => tests.get(c) ?? []).join(" "),
    ]),
  );
  return `\ufeff${[head, ...rows].map((r) => r.map(csvField).join(",")).join("\r\n")}\r\n`;
}
