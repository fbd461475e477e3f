// 目次案 (the seed's 5.イ(ア)): every RFC 3647 item of the CP/CPS with a summary of what it states,
// its sources (register rows and the sources its text cites, each with edition and section) and
// the policy values it prints. Generated from the clause registry, the register and the CP/CPS
// source, so the plan and the CP/CPS cannot drift apart.
import { allClauses, type Policy } from "@iaca/policy";
import { renderValue } from "./cpcps-format.ts";
import { expandCitation, type Register, rowCitation, rowsByClause, type Source } from "./cpcps-register.ts";
import { clauseSections, REF_MARK, readSource, renderEdition, selectEdition } from "./cpcps-render.ts";

export const PLAN_TITLE = "mdoc 認証局・発行局のポリシー及び運用規定 目次案";

const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

/** The first sentence an item states (public wording), or where its content lives. */
function gist(lines: string[] | undefined, id: string, ids: string[]): string {
  const text = (lines ?? [])
    .filter((l) => l.trim() && !/^(\||:::|```|-|\d+\.|\*\*参照規定|\*\*実装上)/.test(l.trim()))
    .join("")
    .replace(/\*\*/g, "");
  const first = /^.*?。/.exec(text)?.[0] ?? text;
  if (first) return first.length > 160 ? `${first.slice(0, 159)}…` : first;
  const children = ids.filter((c) => c.startsWith(`${id}.`) && c.split(".").length === id.split(".").length + 1);
  return children.length ? `下位の項（${children[0]}〜${children.at(-1)}）で定める。` : "（記載なし）";
}

const VALUE = /\{\{\s*([a-z][\w.]*)(?:\|raw)?\s*\}\}/g;

function policyValues(lines: string[] | undefined, policy: Policy): string {
  const paths = [...new Set([...(lines ?? []).join("\n").matchAll(VALUE)].map((m) => m[1] ?? ""))].filter(
    (p) => p && !p.startsWith("edition.") && p !== "policy.version",
  );
  return paths.map((p) => `${p} = ${renderValue(policy, p)}`).join("<br>");
}

export function renderPlan(policy: Policy, reg: Register, sources: Map<string, Source>, date: string): string {
  const src = clauseSections(selectEdition(readSource(), "full"));
  const pub = clauseSections(renderEdition({ edition: "public", policy, date }));
  const rows = rowsByClause(reg);
  const ids = allClauses().map((c) => c.id);
  const body: string[] = [];
  for (const c of allClauses()) {
    if (!c.id.includes(".")) {
      body.push(
        "",
        `## ${c.id} ${c.title}`,
        "",
        "| 項番 | 項目 | 概要 | 参照先 | 記載するポリシー値 |",
        "|---|---|---|---|---|",
      );
    }
    const lines = src.get(c.id);
    const refs = [
      ...(rows.get(c.id) ?? []).map(rowCitation),
      ...(lines ?? [])
        .filter((l) => l.startsWith(REF_MARK))
        .map((l) =>
          expandCitation(l.slice(REF_MARK.length), sources)
            .replace(/^\s*-\s+/, "")
            .replace(/:.*$/, ""),
        ),
    ];
    body.push(
      `| ${c.id} | ${c.title} | ${cell(gist(pub.get(c.id), c.id, ids))} | ${cell(refs.join("<br>"))} | ${policyValues(lines, policy)} |`,
    );
  }
  return [
    "---",
    `title: "${PLAN_TITLE}"`,
    `subtitle: "各項目の概要、参照先及び記載するポリシー値 第${policy.version}版"`,
    `date: "${date}"`,
    "lang: ja-JP",
    "---",
    "",
    "# 本書について",
    "",
    "本書は、mdoc 認証局・発行局のポリシー及び運用規定（以下「本規定」という。）の目次案であり、RFC 3647 の構成に従う本規定の全ての項目について、記載する内容の概要、その参照先及び記載するポリシー値を示す。参照先は、関連ドキュメント調査結果報告書の遵守事項（文書、版及び番号）及び本規定の本文が引用する文献（版及び項）である。概要は本規定（外部公開用）の各項の最初の文を示し、記載のない上位の項は下位の項を示す。",
    "",
    "JPKI 及び GPKI の CP/CPS は、本書の作成環境で本文を参照できず版を確認できなかったため、参照先に含めていない。版及び項番号を確認した上で、関連ドキュメント調査結果報告書の参照文献一覧（sources）に追加し、各項の参照先に加える。",
    "",
    "# 目次案",
    ...body,
    "",
  ].join("\n");
}
