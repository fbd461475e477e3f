// Renders policy values as Japanese text for the CP/CPS ({{ds.validity}} → "3か月").
// Every placeholder the documents use is resolved here; an unknown one fails the build, so
// the documents can only cite parameters the running system actually has.
import { addDuration, type Policy, parseDuration } from "@iaca/policy";

/** "P3M" → "3か月", "P4Y11M" → "4年11か月", "P30D" → "30日", "PT12H" → "12時間". */
export function durationJa(iso: string): string {
  const d = parseDuration(iso);
  const parts: string[] = [];
  if (d.years) parts.push(`${d.years}年`);
  if (d.months) parts.push(`${d.months}か月`);
  if (d.days) parts.push(`${d.days}日`);
  const h = Math.floor(d.seconds / 3600);
  const m = Math.floor((d.seconds % 3600) / 60);
  const s = d.seconds % 60;
  if (h) parts.push(`${h}時間`);
  if (m) parts.push(`${m}分`);
  if (s) parts.push(`${s}秒`);
  return parts.length ? parts.join("") : "0日";
}

const CURVE_JA: Record<string, string> = {
  "P-256": "NIST P-256（secp256r1）",
  "P-384": "NIST P-384（secp384r1）",
  "P-521": "NIST P-521（secp521r1）",
};

function dn(name: Policy["iaca"]["name"]): string {
  return [`C=${name.C}`, name.ST && `ST=${name.ST}`, name.O && `O=${name.O}`, `CN=${name.CN}`]
    .filter(Boolean)
    .join(", ");
}

function keyAlg(k: { curve: string; hash: string }): string {
  return `ECDSA ${CURVE_JA[k.curve] ?? k.curve} 及び ${k.hash}（ecdsa-with-${k.hash.replace("-", "")}）`;
}

/**
 * The DS private-key usage period: a DS key may sign an MSO only while the MSO's validUntil
 * (validFrom + mso.validity) still falls inside the DS certificate, i.e. until notAfter − mso.validity.
 * Measured from a fixed reference date so calendar months are exact.
 */
export function dsUsagePeriodJa(p: Policy): string {
  const from = new Date(Date.UTC(2025, 0, 1));
  const notAfter = addDuration(from, p.ds.validity);
  const lastSign = addDuration(notAfter, p.mso.validity, -1);
  const days = Math.round((lastSign.getTime() - from.getTime()) / 86_400_000);
  return `約${days}日（証明書有効期間${durationJa(p.ds.validity)}からMSO最大有効期間${durationJa(p.mso.validity)}を差し引いた期間）`;
}

type Resolver = (p: Policy) => string;

/** Placeholders that are not a plain path into the policy. */
const DERIVED: Record<string, Resolver> = {
  "iaca.name": (p) => dn(p.iaca.name),
  "iaca.name.CN": (p) => p.iaca.name.CN,
  "iaca.name.O": (p) => p.iaca.name.O ?? "（なし）",
  "iaca.name.C": (p) => p.iaca.name.C,
  "iaca.key": (p) => keyAlg(p.iaca.key),
  "iaca.key.curve": (p) => CURVE_JA[p.iaca.key.curve] ?? p.iaca.key.curve,
  "iaca.key.hash": (p) => p.iaca.key.hash,
  "iaca.issuerAltName": (p) =>
    "uri" in p.iaca.issuerAltName ? `URI: ${p.iaca.issuerAltName.uri}` : `電子メール: ${p.iaca.issuerAltName.email}`,
  "ds.key": (p) => keyAlg(p.ds.key),
  "ds.key.curve": (p) => CURVE_JA[p.ds.key.curve] ?? p.ds.key.curve,
  "ds.key.hash": (p) => p.ds.key.hash,
  "ds.commonName": (p) => p.ds.commonName.replace("{seq}", "＜連番＞"),
  "ds.subject": (p) =>
    [
      `C=${p.iaca.name.C}`,
      p.iaca.name.ST && `ST=${p.iaca.name.ST}`,
      p.ds.organization && `O=${p.ds.organization}`,
      `CN=${p.ds.commonName.replace("{seq}", "＜連番＞")}`,
    ]
      .filter(Boolean)
      .join(", "),
  "ds.organization": (p) => p.ds.organization ?? "（なし）",
  "ds.presign": (p) => `${p.ds.presign}`,
  "ds.destroyConfirm": (p) =>
    p.ds.destroyConfirm ? "破棄の前に運用者の確認を要する" : "破棄は運用者の確認を待たずに行い、監査ログに記録する",
  "ds.usagePeriod": dsUsagePeriodJa,
  "mso.expectedUpdate": (p) =>
    p.mso.expectedUpdate
      ? `validFrom から${durationJa(p.mso.expectedUpdate)}後`
      : "設定しない（expectedUpdate を省略する）",
  "mso.maxBatch": (p) => `${p.mso.maxBatch}`,
  "status.listSize": (p) => `${p.status.listSize.toLocaleString("en-US")}`,
  "status.listUrl": (p) => p.status.listUrl.replace("{list}", "＜リスト番号＞"),
  "status.bits": (p) =>
    p.status.bits === 2
      ? "2 ビット（VALID、INVALID 及び SUSPENDED。一時停止を行う）"
      : "1 ビット（VALID 及び INVALID。一時停止を行わない）",
  profile: (p) => (p.profile === "interop" ? "interop（相互運用プロファイル）" : "seed-2024（当初の案のプロファイル）"),
  "ceremony.dualControl": (p) => p.ceremony.dualControl.map((s) => `\`${s}\``).join("、"),
};

function lookup(p: Policy, path: string): unknown {
  let v: unknown = p;
  for (const k of path.split(".")) {
    if (v == null || typeof v !== "object" || !(k in (v as object))) return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

/** Resolves one placeholder. `|raw` prints the stored value (e.g. "P3M"). */
export function renderValue(p: Policy, expr: string): string {
  const [path = "", filter] = expr.split("|").map((s) => s.trim());
  if (filter === "raw") {
    const v = lookup(p, path);
    if (v === undefined || typeof v === "object") throw new Error(`{{${expr}}}: no scalar policy value at ${path}`);
    return String(v);
  }
  if (filter) throw new Error(`{{${expr}}}: unknown filter ${filter}`);
  const derived = DERIVED[path];
  if (derived) return derived(p);
  const v = lookup(p, path);
  if (v === undefined) throw new Error(`{{${expr}}}: no such policy value`);
  if (typeof v === "string" && /^P(?!$)[\dYMWDTHS]+$/.test(v)) return durationJa(v);
  if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") return String(v);
  throw new Error(`{{${expr}}}: ${path} is a structure; cite one of its fields`);
}
