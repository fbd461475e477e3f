export * from "./audit-checkpoint.ts";
export * from "./controls.ts";
export * from "./rotate.ts";
export * from "./scheduler.ts";
export * from "./simulate.ts";
export * from "./softhsm.ts";
