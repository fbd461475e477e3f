export * from "./api.ts";
export * from "./client.ts";
export * from "./controls.ts";
export * from "./ds.ts";
export * from "./errors.ts";
export * from "./http.ts";
export * from "./metrics.ts";
export * from "./service.ts";
