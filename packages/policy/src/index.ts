export * from "./audit.ts";
export * from "./clauses.ts";
export * from "./controls.ts";
export * from "./defaults.ts";
export * from "./duration.ts";
export * from "./errors.ts";
export * from "./load.ts";
export * from "./schema.ts";
