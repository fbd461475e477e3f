// The 運用手順書 (docs/runbook/*.yaml) as Markdown for scripts/cpcps-build.ts, which writes it as
// HTML, DOCX and PDF next to the CP/CPS. Before anything is written the procedures are checked:
// every command against the CLI's own definitions, and every step the policy puts under dual
// control must name two operators. Either failure stops the build.

import { buildProgram } from "@iaca/cli/main";
import { clause, type Policy } from "@iaca/policy";
import {
  checkRunbookCommands,
  loadRunbook,
  type Procedure,
  type Runbook,
  roomOf,
  type Step,
  splitArgs,
} from "./runbook.ts";

/** The ceremony step (policy.ceremony.dualControl) a command performs: `iaca root sign-csr` -> root.sign-csr. */
function ceremonyStep(s: Step): string | undefined {
  if (!s.run) return undefined;
  const [, group, name] = splitArgs(s.run);
  return group && name ? `${group}.${name}` : undefined;
}

const operatorCount = (s: Step) => splitArgs(s.run ?? "").filter((a) => a === "--operator").length;

/** Steps under dual control per the policy that do not name two operators. */
export function checkDualControl(rb: Runbook, policy: Policy): string[] {
  const dual = new Set(policy.ceremony.dualControl);
  const problems: string[] = [];
  for (const p of rb.procedures)
    for (const [i, s] of p.steps.entries()) {
      const step = ceremonyStep(s);
      if (step && dual.has(step) && operatorCount(s) < 2)
        problems.push(
          `${p.id} step ${i + 1}: ${step} is under dual control (policy) but names fewer than two operators`,
        );
    }
  return problems;
}

const clauseText = (id: string) => `${id} ${clause(id).title}`;
/** `{name}` -> `<name>`: what the operator substitutes. */
const shown = (text: string) => text.replace(/\{([A-Za-z][A-Za-z0-9]*)\}/g, "<$1>");
const cell = (text: string) => shown(text).replace(/\|/g, "\\|").replace(/\n+/g, " ").trim();
const FENCE = "```";
const fence = (text: string, lang = "") => [`${FENCE}${lang}`, text.replace(/\n+$/, ""), FENCE].join("\n");

function stepSection(rb: Runbook, p: Procedure, s: Step, n: number, policy: Policy): string[] {
  const room = rb.index.rooms[roomOf(p, s)].name;
  const step = ceremonyStep(s);
  const dual = step !== undefined && policy.ceremony.dualControl.includes(step);
  const roles = s.roles.map((r) => rb.index.roles[r]!.name).join("、");
  const out = [`### 手順${n} ${s.title}`, "", `| 項目 | 内容 |`, "|---|---|", `| 実施する室 | ${room} |`];
  out.push(`| 役割 | ${roles}${dual ? "（二人制御：異なる2名のセレモニー管理者が認証する）" : ""} |`);
  out.push(`| CP/CPS | ${clauseText(s.clause)} |`, "");
  if (s.manual) out.push("**手作業**", "", shown(s.manual), "");
  if (s.run) {
    out.push("**実行するコマンド**", "", fence(shown(s.run), "sh"), "");
    if (s.prints) out.push("**表示される内容**", "", fence(s.prints), "");
    if (s.exit) out.push(`正常な終了コード：${s.exit.join("、")}`, "");
    if (s.test?.skip) out.push(`（${s.test.skip}）`, "");
  }
  out.push("**確認事項**", "", shown(s.check), "");
  return out;
}

function procedureSection(rb: Runbook, p: Procedure, policy: Policy): string[] {
  const room = p.room === "both" ? "両室" : rb.index.rooms[p.room].name;
  const out = [`# ${p.id} ${p.title}`, "", "| 項目 | 内容 |", "|---|---|"];
  out.push(`| 実施する室 | ${room} |`, `| 実施時期 | ${cell(p.when)} |`);
  out.push(`| CP/CPS | ${p.clauses.map(clauseText).join("、")} |`, "");
  out.push("**目的**", "", shown(p.purpose).trim(), "");
  if (p.prerequisites?.length) out.push("**前提条件**", "", ...p.prerequisites.map((x) => `- ${shown(x)}`), "");
  for (const [i, s] of p.steps.entries()) out.push(...stepSection(rb, p, s, i + 1, policy));
  if (p.manualOnly) out.push("**手作業の範囲**", "", shown(p.manualOnly), "");
  return out;
}

/** The whole runbook as pandoc Markdown (title block, common part, one chapter per procedure). */
export function renderRunbook(rb: Runbook, policy: Policy): string {
  const { index } = rb;
  const out = [
    "---",
    `title: "${index.title}"`,
    `subtitle: "第${index.version}版（ポリシー設定 第${policy.version}版）"`,
    `date: "${index.date}"`,
    "lang: ja-JP",
    "---",
    "",
    "# はじめに",
    "",
    index.introduction.trim(),
    "",
    "## 室の環境",
    "",
  ];
  for (const r of Object.values(index.rooms)) {
    out.push(`### ${r.name}`, "", r.environment.trim(), "", "| 環境変数 | 内容 |", "|---|---|");
    out.push(...Object.entries(r.env).map(([k, v]) => `| \`${k}\` | ${cell(v)} |`), "");
  }
  out.push("## 役割", "", "| 役割 | 職務 |", "|---|---|");
  out.push(...Object.values(index.roles).map((r) => `| ${r.name} | ${cell(r.duty)} |`), "");
  out.push(
    `二人制御：ポリシー設定（第${policy.version}版）が二人制御とする操作（${policy.ceremony.dualControl.map((s) => `\`${s}\``).join("、")}）は、CLI が異なる2名の運用者の認証を求め、1名では拒否する。`,
    "",
  );
  out.push("## プレースホルダ", "", "| 名前 | 内容 |", "|---|---|");
  out.push(...Object.entries(index.placeholders).map(([k, v]) => `| \`<${k}>\` | ${cell(v)} |`), "");
  out.push("## 手順の一覧", "", "| 番号 | 手順 | 室 | 実施時期 |", "|---|---|---|---|");
  for (const p of rb.procedures)
    out.push(`| ${p.id} | ${p.title} | ${p.room === "both" ? "両室" : index.rooms[p.room].name} | ${cell(p.when)} |`);
  out.push("");
  for (const p of rb.procedures) out.push(...procedureSection(rb, p, policy));
  return `${out.join("\n").replace(/\n{3,}/g, "\n\n")}\n`;
}

/**
 * The runbook as Markdown, after its checks: every command against the CLI's own definitions, and
 * two operators on every step the policy puts under dual control. scripts/cpcps-build.ts turns it
 * into HTML, DOCX and PDF like the other deliverables.
 */
export async function prepareRunbook(
  policy: Policy,
): Promise<{ markdown: string; procedures: number; commands: number }> {
  const rb = loadRunbook();
  const problems = [...(await checkRunbookCommands(rb, buildProgram)), ...checkDualControl(rb, policy)];
  if (problems.length)
    throw new Error(`runbook: the procedures do not match the CLI or the policy:\n  ${problems.join("\n  ")}`);
  const commands = rb.procedures.flatMap((p) => p.steps).filter((s) => s.run).length;
  return { markdown: renderRunbook(rb, policy), procedures: rb.procedures.length, commands };
}
