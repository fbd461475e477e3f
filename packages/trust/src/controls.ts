import { type Control, clause, defineControl } from "@iaca/policy";

/** Every IACA root (current and previous) and both link certificates of every re-key are published. */
export const DTS_PUBLISH_CA: Control = defineControl({
  id: "dts.publish.ca-certificates",
  clause: clause("6.1.4"),
  summary:
    "DTS は現行・旧 IACA ルート証明書と各鍵更新の両リンク証明書を DER と PEM で公開し、SHA-256 フィンガープリント及び SKI/シリアルで参照できる。",
});

/** A DS certificate is published while active and before its activation (scheduled). */
export const DTS_PUBLISH_DS_BEFORE_USE: Control = defineControl({
  id: "dts.publish.ds-before-activation",
  clause: clause("4.4.2"),
  summary: "DS 証明書は有効化(鍵使用期間の開始)より前から公開し、検証者が最初の mdoc より先に入手できるようにする。",
});

/** CRL and ARL are served at exactly the URLs written in the certificates (one policy value feeds both). */
export const DTS_CRL_AT_CDP: Control = defineControl({
  id: "dts.crl.served-at-cdp",
  clause: clause("2.2"),
  summary: "CRL/ARL は証明書の CRL 配布点に記載した URL(ポリシーの同一設定値)で application/pkix-crl として公開する。",
});

/** install-crl checks signature, issuer, CRL number increase and profile before publishing. */
export const DTS_CRL_INSTALL_VERIFIED: Control = defineControl({
  id: "dts.crl.install-verified",
  clause: clause("4.9.7"),
  summary: "CRL/ARL の導入時に署名・発行者・CRL 番号の増加・プロファイルを検証してから公開する。",
});

/** The signed trust list (VICAL) is signed by the trust-list signer certificate the IACA issued, re-signed on change. */
export const DTS_TRUST_LIST_SIGNED: Control = defineControl({
  id: "dts.trust-list.signed",
  clause: clause("6.1.4"),
  summary:
    "トラストリスト(VICAL 形式の COSE_Sign1)は IACA が発行したトラストリスト署名者証明書(EKU 1.0.18013.5.1.8)の鍵で署名し、公開集合が変わるたびに再署名する。",
});

/** The static export and the server publish exactly the same bytes, with a SHA-256 manifest. */
export const DTS_EXPORT_IDENTICAL: Control = defineControl({
  id: "dts.export.identical",
  clause: clause("2.2"),
  summary:
    "静的エクスポートとサーバは同一の公開木から同一のバイト列を公開し、SHA-256 ダイジェストのマニフェストを添える。",
});

/** Every status list with a changed entry is re-signed and served within policy.status.publishWithin. */
export const DTS_STATUS_PUBLISHED: Control = defineControl({
  id: "dts.status-list.published",
  clause: clause("4.10.1"),
  summary:
    "失効・一時停止によるステータスリストの変更は、ポリシーの公開期限 (既定 60 秒) 以内に、IACA に連なるステータスリスト署名者が署名したトークンとして DTS で公開する。変更がなくても有効期限の半分を過ぎたトークンは署名し直す。",
});
