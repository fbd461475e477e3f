// The verifier kit: what a verifier's backend needs to check My Number Card mdocs with trust from
// the DTS alone. See README.md.
export * from "./controls.ts";
export * from "./dts-trust.ts";
export * from "./errors.ts";
export * from "./fetcher.ts";
export * from "./verifier.ts";
