// The Document Signer service: policy and key-state checks before every signature, a durable
// issuance record before the HSM is asked, holder HMAC, revocation records. apps/issuer serves it
// over internal mTLS; packages/lifecycle drives it in the simulation.
export * from "./api.ts";
export * from "./audit.ts";
export * from "./controls.ts";
export * from "./ds.ts";
export * from "./errors.ts";
export * from "./metrics.ts";
export * from "./service.ts";
export * from "./status-allocator.ts";
export * from "./status-index.ts";
