import { type Control, clause, defineControl } from "@iaca/policy";

/** Every audit row carries SHA-256 over its canonical encoding and its predecessor's hash. */
export const AUDIT_CHAIN_HASH_LINKED: Control = defineControl({
  id: "audit.chain.hash-linked",
  clause: clause("5.4.4"),
  summary:
    "監査ログの各行は直前の行のハッシュと自身の正規化表現の SHA-256 を持ち、改ざん・削除・挿入・順序入替えを検証で検出する。",
});

/** UPDATE, DELETE and TRUNCATE on the audit table are rejected by a trigger; appends are serialised. */
export const AUDIT_APPEND_ONLY: Control = defineControl({
  id: "audit.append-only",
  clause: clause("5.4.4"),
  summary:
    "監査ログのテーブルは追記のみ: UPDATE・DELETE・TRUNCATE をトリガで拒否し、追記は排他制御で一本の連鎖に直列化する。",
});

/** Every decision recorded names actor, action, targets, outcome and CP/CPS clause. */
export const AUDIT_EVENTS_RECORDED: Control = defineControl({
  id: "audit.events-recorded",
  clause: clause("5.4.1"),
  summary: "判断ごとに実行者・操作・対象・結果・CP/CPS 条項を記録し、欠けた事象は記録前に拒否する。",
});

/** Migrations are recorded with Prisma's SHA-256 checksum; an edited applied migration stops start-up. */
export const DB_MIGRATIONS_CHECKSUMMED: Control = defineControl({
  id: "db.migrations.checksummed",
  clause: clause("6.6.1"),
  summary:
    "スキーマ変更は版管理されたマイグレーションのみで行い、適用済みマイグレーションのチェックサム不一致を検出して起動を止める。",
});

/** Each export ends with the chain head; a head kept outside the database detects truncation and rewriting. */
export const AUDIT_ARCHIVE_HEAD_ANCHORED: Control = defineControl({
  id: "audit.archive.head-anchored",
  clause: clause("5.5.3"),
  summary:
    "アーカイブ (JSON Lines 出力) は各行のハッシュ連鎖と末尾のチェーンヘッドを持ち、増分アーカイブは前回のヘッドから連鎖する。外部に保管したヘッドとの照合により、データベース側の末尾削除や連鎖の再計算による書換えを検出する。",
});

/** Audit times come from the database clock, read after the append lock; callers cannot set them. */
export const AUDIT_TIME_DB_CLOCK: Control = defineControl({
  id: "audit.time.db-clock",
  clause: clause("5.5.5"),
  summary:
    "監査記録の時刻は追記ロック取得後にデータベースの時計 (clock_timestamp、ミリ秒) から付与し、呼出し側が指定した時刻は用いない。時刻はハッシュ連鎖に含まれる。",
});

/** An archive file is verified on its own: row hashes, links, sequence, head line, and a head kept elsewhere. */
export const AUDIT_ARCHIVE_VERIFIABLE: Control = defineControl({
  id: "audit.archive.verifiable",
  clause: clause("5.5.7"),
  summary:
    "アーカイブはデータベースなしで検証できる: verifyAuditExport が各行のハッシュ・連鎖・連番・末尾ヘッド行 (件数を含む) を再計算し、前回アーカイブのヘッド及び別途保管したヘッドと照合して、改ざん・欠落・挿入・順序入替え・切詰めを検出する。",
});

/** Audit timestamps never go backwards along the chain, even if the database clock does. */
export const AUDIT_TIME_MONOTONIC: Control = defineControl({
  id: "audit.time.monotonic",
  clause: clause("6.8"),
  summary:
    "監査記録の時刻は seq の順に単調非減少: 追記ロック下で直前の記録時刻を下回る時計値は直前の時刻に揃え、時刻の逆転した連鎖を作らない。",
});
