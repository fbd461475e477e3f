import { clause, defineControl } from "@iaca/policy";

/** The issuer's internal API accepts only the RA's certificate (mutual TLS with the service CA). */
export const INTERNAL_MTLS = defineControl({
  id: "issuer.internal.mtls",
  clause: clause("6.7"),
  summary: "Issuer の内部 API はサービス CA が発行した RA のクライアント証明書による相互 TLS でのみ呼び出せる。",
});
