export * from "./controls.ts";
export * from "./der.ts";
export * from "./lint.ts";
export * from "./oids.ts";
export * from "./profiles.ts";
export * from "./sign.ts";
