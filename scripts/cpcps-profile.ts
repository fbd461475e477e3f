// The mdoc profile tables of the CP/CPS (付録B), rendered from the doctype profiles the issuer
// actually uses (packages/mdoc/src/profiles.ts), so the document and the issuer agree.
import { type Derivation, type DoctypeProfile, getProfile } from "@iaca/mdoc";
import type { Policy } from "@iaca/policy";

const LABEL: Record<string, string> = {
  full_name: "氏名",
  full_name_unicode: "氏名",
  birth_date_unicode: "生年月日（和暦又は西暦の文字列）",
  resident_address_unicode: "住所",
  sex_unicode: "性別（男又は女）",
  local_gov_code: "市町村コード",
  local_gov_code_unicode: "市町村コード",
  individual_number: "個人番号",
  individual_number_unicode: "個人番号",
  portrait: "顔写真",
  Portrait: "顔写真",
  age_over_20: "20歳以上であるか",
  age_in_years: "年齢",
  sex: "性別（ISO/IEC 5218 の符号）",
  birth_date: "生年月日",
};

const TYPE: Record<string, string> = {
  tstr: "tstr（UTF-8）",
  uint: "uint",
  int: "int",
  bool: "bool",
  bstr: "bstr",
  "full-date": "full-date（tag 1004）",
  tdate: "tdate",
};

function derivation(d: Derivation): string {
  if ("from" in d && !("fn" in d)) return `入力 ${d.from}`;
  if ("join" in d) return `入力 ${d.join.join("、")} を空白で連結`;
  switch (d.fn) {
    case "japanese_date":
      return `入力 ${d.from} を「YYYY年M月D日」の形式で表記`;
    case "full_date":
      return `入力 ${d.from}（YYYY-MM-DD）`;
    case "age_over":
      return `入力 ${d.from} から MSO 署名時点で${d.years}歳以上かを算出`;
    case "age_in_years":
      return `入力 ${d.from} から MSO 署名時点の満年齢を算出`;
    case "map":
      return `入力 ${d.from} を変換（${Object.entries(d.table)
        .map(([k, v]) => `${k}→${String(v)}`)
        .join("、")}）`;
    case "issuance_date":
      return "発行日";
    case "issuance_plus_years":
      return `発行日の${d.years}年後`;
  }
}

/** One profile as a Markdown table. */
export function profileTable(p: DoctypeProfile): string {
  const rows = ["| 名前空間 | データ要素 | 識別子 | 型 | 値 |", "|---|---|---|---|---|"];
  for (const [ns, elements] of Object.entries(p.namespaces))
    for (const [id, spec] of Object.entries(elements))
      rows.push(
        `| ${ns} | ${LABEL[id] ?? id} | \`${id}\` | ${TYPE[spec.type] ?? spec.type}${spec.width ? `（${spec.width}桁）` : ""} | ${derivation(spec.source)}${spec.optional ? "（入力がない場合は省略）" : ""} |`,
      );
  return rows.join("\n");
}

/** The active profile (policy.profile) and, for reference, the seed's figure 4/5 profile. */
export function profileSection(policy: Policy): string {
  const active = getProfile(policy.profile);
  const out = [
    `本認証局が発行に用いる mdoc プロファイルは \`${active.id}\` であり、docType は \`${active.docType}\` とする。`,
    "",
    profileTable(active),
  ];
  const other = active.id === "interop" ? getProfile("seed-2024") : getProfile("interop");
  out.push(
    "",
    `参考として、プロファイル \`${other.id}\`（${other.id === "seed-2024" ? "当初の案のプロファイル" : "相互運用プロファイル"}）のデータ要素を次に示す。設定値により切り替えることができる。`,
    "",
    profileTable(other),
  );
  return out.join("\n");
}
