import { clause, defineControl } from "@iaca/policy";

/** Wallet backends authenticate with a client certificate from the client CA; the SPKI hash maps to a registered client. */
export const CLIENT_MTLS = defineControl({
  id: "ra.client.mtls",
  clause: clause("6.7"),
  summary:
    "ウォレットバックエンドはクライアント CA が発行した証明書による相互 TLS で認証し、証明書の SPKI ハッシュが登録済みクライアントに対応しなければ 401 とする。",
});

/** Each route requires a scope (issue, refresh, revoke); a registered client without it gets 403. */
export const CLIENT_SCOPE = defineControl({
  id: "ra.client.scope",
  clause: clause("3.2.5"),
  summary: "各 API はスコープ (issue / refresh / revoke) を要求し、スコープを持たないクライアントには 403 を返す。",
});

/** Every device key proves possession by signing a single-use, unexpired nonce (openid4vci-proof+jwt). */
export const PROOF_DEVICE_KEY = defineControl({
  id: "ra.proof.device-key",
  clause: clause("3.2.1"),
  summary:
    "各デバイス鍵は RA が発行した一度限り・有効期限内のナンスに対する openid4vci-proof+jwt 署名で私有鍵の所持を証明する。",
});

/** With a configured credential issuer identifier, every proof names it as `aud` (a proof made for another issuer is refused). */
export const PROOF_AUDIENCE = defineControl({
  id: "ra.proof.audience",
  clause: clause("3.2.1"),
  summary:
    "発行者識別子（IACA_CREDENTIAL_ISSUER）を設定した場合、各 proof JWT の aud はその値と一致しなければならず、他の発行者に向けた proof は拒否する。iat の許容差は60秒とする。",
});

/** Holder data is validated against the doctype profile (schema, My Number check digit, known elements) before issuance. */
export const INPUT_VALIDATION = defineControl({
  id: "ra.input.validation",
  clause: clause("4.2.1"),
  summary:
    "保有者データはプロファイル (スキーマ・個人番号の検査用数字・既知の要素) で検証し、不正な入力では発行記録を作らない。",
});

/** Idempotency-Key: same key and body replay the stored (HSM-encrypted) response; another body gives 422. */
export const IDEMPOTENCY = defineControl({
  id: "ra.idempotency",
  clause: clause("5.7.2"),
  summary:
    "Idempotency-Key が同じ要求には HSM の鍵で暗号化保存した同一応答を返し、本文が異なれば 422 とする。クラッシュ後の再試行でも一貫した応答を返す。",
});

/** Revocation requests need the revoke scope and a reason; they are stored and audited. */
export const REVOCATION_REQUEST = defineControl({
  id: "ra.revocation.request",
  clause: clause("3.4"),
  summary: "失効申請には revoke スコープと理由を要し、記録・監査される。",
});

/** Logs never contain request bodies or personal fields (pino redaction). */
export const NO_PII_IN_LOGS = defineControl({
  id: "privacy.no-pii-in-logs",
  clause: clause("9.4.4"),
  summary: "ログには要求本文や個人情報の項目を出力しない (pino の redact により除去)。",
});

/** Per-client rate limits and body size limits. */
export const RATE_LIMIT = defineControl({
  id: "ra.rate-limit",
  clause: clause("6.5.1"),
  summary: "クライアントごとのレート制限と要求本文サイズの上限を設ける。",
});

/** Holder data comes only from authenticated wallet backends (which proof the holder with the My Number Card) and is checked (My Number check digit, profile rules). */
export const HOLDER_IDENTITY = defineControl({
  id: "ra.holder.identity",
  clause: clause("3.2.3"),
  summary:
    "保有者データは issue スコープを持つ認証済みウォレットバックエンド (マイナンバーカードで本人確認を行う) からのみ受け付け、個人番号の検査用数字とプロファイル規則を検証する。",
});

/** Device private keys are generated and held by the holder's device; the RA accepts public keys only. */
export const DEVICE_KEY_HOLDER_HELD = defineControl({
  id: "ra.device-key.holder-held",
  clause: clause("6.1.2"),
  summary:
    "デバイス鍵は保有者の端末で生成・保持され、当局は私有鍵を生成も交付もしない。RA は公開鍵のみを受け付け、私有鍵を含む JWK は拒否する。",
});

/** GET /v1/credentials/{id} gives the state (valid, expired, revoked) and validity of an issued mdoc. */
export const STATUS = defineControl({
  id: "ra.status",
  clause: clause("4.10.1"),
  summary: "GET /v1/credentials/{id} で発行済み mdoc の状態 (有効・期限切れ・失効) と有効期間を返す。",
});

/** OpenID4VCI: offers only from an issue-scoped wallet backend; a pre-authorized code redeems once, before it expires; tx_code attempts are limited. */
export const OFFER_CODE = defineControl({
  id: "ra.openid4vci.pre-authorized-code",
  clause: clause("4.1.2"),
  summary:
    "OpenID4VCI のクレデンシャルオファーは issue スコープを持つ認証済みウォレットバックエンドだけが作成する。事前認可コードは一度だけ、有効期限 (policy openid4vci.offerValidity) 内に限りアクセストークンと交換でき、tx_code の誤りが上限 (txCodeAttempts) に達したオファーは破棄する。コード・tx_code・アクセストークンは SHA-256 でのみ保存する。",
});

/** The holder data behind an offer is sealed under the issuer's HSM key and deleted at issuance, burning or expiry. */
export const OFFER_SEALED = defineControl({
  id: "ra.openid4vci.offer-sealed",
  clause: clause("9.4.4"),
  summary:
    "オファーに紐づく保有者データ (更新では提示された mdoc) は発行者の HSM 鍵による AES-GCM で封緘して保存し、クレデンシャル発行時・オファー破棄時・有効期限到来時に削除する。発行後のデータベースには個人情報を残さない。",
});

/** Access tokens are DPoP-bound (RFC 9449): every token and resource request carries a fresh proof of the same key. */
export const DPOP_PROOF = defineControl({
  id: "ra.openid4vci.dpop",
  clause: clause("6.7"),
  summary:
    "アクセストークンは DPoP (RFC 9449) で鍵に拘束する。トークン要求・クレデンシャル要求・通知の各要求に htm・htu・iat・ath を満たす新しい DPoP 証明を要し、jti の再利用・別の鍵・Bearer での提示は拒否する。",
});

/** The credential endpoint issues through the one pipeline: proofs name the credential issuer and a single-use c_nonce. */
export const OPENID4VCI_CREDENTIAL = defineControl({
  id: "ra.openid4vci.credential",
  clause: clause("4.3.1"),
  summary:
    "クレデンシャルエンドポイントは REST API と同じ発行処理 (記録後署名・冪等性・監査) で mdoc を発行する。各 proof の aud は発行者識別子、nonce はナンスエンドポイントが発行した一度限りの c_nonce でなければならない。",
});

/** Wallet notifications (accepted, failed, deleted) are audited as the holder's acknowledgement. */
export const OPENID4VCI_NOTIFICATION = defineControl({
  id: "ra.openid4vci.notification",
  clause: clause("4.4.1"),
  summary:
    "ウォレットからの通知 (credential_accepted / credential_failure / credential_deleted) を受領確認として監査ログに記録する。",
});

/** With policy openid4vci.keyAttestation.required, every proof's key is attested by a trusted wallet provider (HAIP). */
export const KEY_ATTESTATION = defineControl({
  id: "ra.openid4vci.key-attestation",
  clause: clause("6.1.2"),
  summary:
    "ポリシー (openid4vci.keyAttestation.required) が求める場合、各 proof には、信頼するウォレット提供者の証明書に連なる x5c で署名された有効期限内の key_attestation を要し、その attested_keys に proof の Device Key が含まれなければならない。",
});
