import { clause, defineControl } from "@iaca/policy";

/** MSO validUntil = validFrom + policy.mso.validity (seed: at most 30 days), never past the DS notAfter. */
export const MSO_VALIDITY_CAP = defineControl({
  id: "mdoc.mso.validity-cap",
  clause: clause("6.3.2"),
  summary:
    "MSO の validUntil は validFrom + ポリシーの MSO 有効期間 (最大 30 日) 以内、かつ DS 証明書の notAfter 以前とする。",
});

/** validUntil is cut to the holder's next birthday when an age-derived element would change. */
export const MSO_AGE_CUT = defineControl({
  id: "mdoc.mso.age-cut",
  clause: clause("4.6.1"),
  summary:
    "年齢由来の要素 (age_over_NN, age_in_years) が有効期間中に変わる場合、validUntil を誕生日 (JST 0 時) までに短縮する。",
});

/** No MSO signature without an installed, unrevoked DS certificate inside its key usage period. */
export const SIGNER_KEY_STATE = defineControl({
  id: "mdoc.signer.key-state",
  clause: clause("6.3.2"),
  summary: "DS 証明書が未導入、失効済み、又は私有鍵の使用期間外のときは MSO に署名しない。",
});

/** The reference verifier checks validFrom <= time <= validUntil and that the MSO was signed inside the DS validity. */
export const VERIFIER_VALIDITY_CHECK = defineControl({
  id: "mdoc.verifier.validity-check",
  clause: clause("4.5.2"),
  summary:
    "検証者は MSO の validFrom〜validUntil 内であること、署名時刻が DS 証明書の有効期間内であることを必ず確認する。",
});

/** The reference verifier checks the DS certificate against the IACA's CRL when given. */
export const VERIFIER_REVOCATION_CHECK = defineControl({
  id: "mdoc.verifier.revocation-check",
  clause: clause("4.9.6"),
  summary: "検証者は IACA が署名した CRL で DS 証明書が失効していないことを確認する。",
});

/** Salts are 32 bytes from a CSPRNG; digestIDs are a random permutation (no order leak). */
export const SALT_RANDOM = defineControl({
  id: "mdoc.salt.random",
  clause: clause("6.1.6"),
  summary: "IssuerSignedItem の salt は CSPRNG による 32 バイト、digestID は MSO 内で一意かつ無作為とする。",
});

/** Issuance input is validated per profile (My Number and local-government check digits, types, portrait). */
export const INPUT_VALIDATED = defineControl({
  id: "mdoc.input.validated",
  clause: clause("4.2.1"),
  summary:
    "発行入力をプロファイルで検証する (個人番号・地方公共団体コードの検査用数字、型、顔写真形式、未知/欠落要素の拒否)。",
});

/** Error messages and audit details never contain personal values, only element names and rules. */
export const NO_PII_IN_ERRORS = defineControl({
  id: "mdoc.no-pii-in-errors",
  clause: clause("9.4.4"),
  summary: "エラーメッセージと監査記録には個人の値を含めず、要素名と規則のみを示す。",
});

/** The reference verifier looks the MSO's status_list entry up in a signed, current Status List Token. */
export const VERIFIER_STATUS_CHECK = defineControl({
  id: "mdoc.verifier.status-check",
  clause: clause("4.10.1"),
  summary:
    "検証者は MSO の status_list が示すステータスリストトークンを取得し、IACA に連なる署名者の署名、sub と uri の一致、有効期限、インデックスの値 (VALID) を確認する。",
});
