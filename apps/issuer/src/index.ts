export * from "./api.ts";
export * from "./controls.ts";
export * from "./errors.ts";
export * from "./metrics.ts";
