export * from "./canonical.ts";
export * from "./export.ts";
export * from "./log.ts";
export type { AuditRow } from "./rows.ts";
export * from "./verify.ts";
