import { type Control, clause, defineControl } from "@iaca/policy";

/** A CRL/ARL past nextUpdate is never presented as current: warning header, readiness false, metric. */
export const DTS_CRL_NEVER_STALE: Control = defineControl({
  id: "dts.crl.never-stale",
  clause: clause("4.9.7"),
  summary:
    "nextUpdate を過ぎた CRL/ARL を最新として提示しない: 警告ヘッダを付け、/readyz を false にし、残り時間をメトリクスで報告する。",
});

/** Readiness and a metric warn policy.revocation.warnBefore ahead of nextUpdate when no newer list is installed. */
export const DTS_CRL_WARN_BEFORE: Control = defineControl({
  id: "dts.crl.warn-before-next-update",
  clause: clause("4.9.7"),
  summary:
    "新しい CRL/ARL が導入されないまま nextUpdate の warnBefore 前に達すると /readyz とメトリクスで警告する(ルートはオフラインで儀式が必要なため)。",
});

/** Cache lifetimes never reach past the nextUpdate of the revocation lists. */
export const DTS_CACHE_BOUNDED: Control = defineControl({
  id: "dts.cache.bounded-by-next-update",
  clause: clause("2.3"),
  summary:
    "Cache-Control の max-age は CRL/ARL の nextUpdate を越えない。ETag・Last-Modified・条件付き GET を提供する。",
});

/** The repository is read-only: GET/HEAD/OPTIONS only, exact paths, problem+json errors, no traversal. */
export const DTS_READ_ONLY: Control = defineControl({
  id: "dts.repository.read-only",
  clause: clause("2.4"),
  summary:
    "DTS は読み取り専用: GET/HEAD/OPTIONS のみ受け付け、公開木に無いパス(パストラバーサルを含む)は problem+json の 404 とし、スタックトレースを返さない。",
});
