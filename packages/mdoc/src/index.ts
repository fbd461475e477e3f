export * from "./cbor.ts";
export * from "./checks.ts";
export * from "./controls.ts";
export * from "./cose.ts";
export * from "./errors.ts";
export * from "./issue.ts";
export * from "./profiles.ts";
export * from "./verify.ts";
