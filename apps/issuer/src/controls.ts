import { clause, defineControl } from "@iaca/policy";

/** The issuer's internal API accepts only the RA's certificate (mutual TLS with the service CA). */
export const INTERNAL_MTLS = defineControl({
  id: "issuer.internal.mtls",
  clause: clause("6.7"),
  summary: "Issuer の内部 API はサービス CA が発行した RA のクライアント証明書による相互 TLS でのみ呼び出せる。",
});

/** Every internal request body is validated against its schema before the service runs. */
export const INTERNAL_SCHEMA = defineControl({
  id: "issuer.internal.schema",
  clause: clause("4.2.1"),
  summary:
    "Issuer の内部 API は各要求の本文をスキーマで検証し、形式が異なる要求(未知の項目を含む。)は発行処理に渡さず 400 (INPUT_INVALID) とする。",
});

/** The RA sends a call to another issuer replica only when the connection could not be made. */
export const ISSUER_FAILOVER = defineControl({
  id: "issuer.failover",
  clause: clause("5.7.2"),
  summary:
    "RA は複数の Issuer レプリカを順に用い、接続できないレプリカを一定時間後回しにして別のレプリカに同じ要求を送る。送信後に失われた要求は再送せず issuer-unavailable とし、同じ冪等キーによる再試行で、記録済みで未完了の発行記録を放棄（監査ログに記録）してから発行する。",
});
