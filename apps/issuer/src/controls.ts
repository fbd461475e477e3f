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
