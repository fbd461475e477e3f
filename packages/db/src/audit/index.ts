export * from "./canonical.ts";
export * from "./export.ts";
export * from "./log.ts";
export * from "./policy-load.ts";
export { AUDIT_SUCCEEDED_SQL, type AuditRow, auditSucceeded } from "./rows.ts";
export * from "./verify.ts";
