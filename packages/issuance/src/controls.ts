import { clause, defineControl } from "@iaca/policy";

/** An issuance row (id, client, profile, DS serial, MSO SHA-256, device-key thumbprint, validity) is committed before the HSM signs. */
export const RECORD_BEFORE_SIGN = defineControl({
  id: "issuer.record-before-sign",
  clause: clause("4.3.1"),
  summary:
    "MSO への署名の前に発行記録 (ID・クライアント・プロファイル・DS 証明書シリアル・MSO の SHA-256・デバイス鍵サムプリント・有効期間) を永続化し、署名後に完了させる。",
});

/** Every issuance batch (success and failure) is one audit event; crash-abandoned records are audited on recovery. */
export const ISSUANCE_AUDITED = defineControl({
  id: "issuer.issuance-audited",
  clause: clause("5.4.1"),
  summary: "発行バッチごとに監査イベントを記録し、クラッシュで未完了となった記録も回復時に監査ログへ記録する。",
});

/** Before each signature: DS key installed, inside its private-key usage period, certificate not revoked. */
export const KEY_STATE = defineControl({
  id: "issuer.key-state",
  clause: clause("6.3.2"),
  summary:
    "署名の直前に DS 鍵がインストール済みで私有鍵使用期間内にあり、証明書が失効していないことを確認し、満たさなければ署名しない。",
});

/** Batch size, profile and MSO validity come from the policy; MSO.validUntil never exceeds DS notAfter. */
export const POLICY_CHECK = defineControl({
  id: "issuer.policy",
  clause: clause("4.2.2"),
  summary: "バッチ上限・プロファイル・MSO 有効期間はポリシーに従い、ポリシー外の要求は署名前に却下する。",
});

/** The holder reference for revocation is HMAC-SHA-256 of the My Number under a non-extractable HSM key. */
export const HOLDER_HMAC = defineControl({
  id: "privacy.holder-hmac",
  clause: clause("9.4.2"),
  summary:
    "失効のための保有者参照は HSM 内の取り出し不可能な鍵による個人番号の HMAC-SHA-256 とし、個人番号自体は保存しない。",
});

/** The database holds no names, addresses, birth dates, My Numbers or portraits. */
export const NO_PII_AT_REST = defineControl({
  id: "privacy.no-pii-at-rest",
  clause: clause("9.4.4"),
  summary:
    "データベースには氏名・住所・生年月日・個人番号・顔写真を保存しない (発行記録はハッシュ・サムプリント・HMAC のみ)。",
});

/** Refresh: presented mdoc verified against our IACA, not revoked, within the policy refresh window, same holder. */
export const REFRESH_RULES = defineControl({
  id: "issuer.refresh",
  clause: clause("3.3.1"),
  summary:
    "再発行は提示された mdoc を当局の IACA で検証し、失効しておらず、ポリシーの更新期間内で、同一保有者であり、申請者がその mdoc の Device Key を保持する（所持証明）場合に限る。",
});

/** Revocation of a credential or all credentials of a holder is stored with its reason and audited. */
export const REVOCATION_STORED = defineControl({
  id: "issuer.revocation",
  clause: clause("4.9.3"),
  summary: "mdoc 単位および保有者単位の失効を理由とともに記録し、監査ログに残す。",
});

/** A revoked mdoc cannot be refreshed: after revocation the holder must be issued anew (new identity proofing). */
export const REFRESH_AFTER_REVOCATION = defineControl({
  id: "issuer.refresh.revoked",
  clause: clause("3.3.2"),
  summary: "失効した mdoc は再発行 (refresh) できず、失効後は本人確認を経た新規発行を要する。",
});

/** Every MSO points at its own status list entry, at a keyed-random index: a batch's entries are unlinkable. */
export const STATUS_INDEX_RANDOM = defineControl({
  id: "issuer.status.index-random",
  clause: clause("4.10.1"),
  summary:
    "各 MSO にステータスリストの固有のエントリを割り当てる。インデックスはリストごとの鍵による疑似ランダム置換で決め、同じバッチの mdoc のインデックスから結び付きが分からないようにし、同じインデックスを二度割り当てない。",
});

/** Revocation and suspension of an mdoc change its status list entry; the change is recorded with the list's version. */
export const STATUS_CHANGE = defineControl({
  id: "issuer.status.change",
  clause: clause("4.9.3"),
  summary:
    "mdoc の失効・一時停止・停止解除は発行記録とステータスリストの版を一つの操作で更新し、監査ログに記録する。一時停止は 2 ビットのリストでのみ行う。",
});
