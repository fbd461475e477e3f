export * from "./client.ts";
export * from "./controls.ts";
export * from "./http.ts";
