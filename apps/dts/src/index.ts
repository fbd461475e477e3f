export * from "./controls.ts";
export * from "./http.ts";
