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
