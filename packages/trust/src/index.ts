// What the DTS publishes, as a package: the published set and tree, the signed trust list, CRL
// installation, the trust-list signer's ceremony steps and the static export. apps/dts serves it
// over HTTP; packages/lifecycle re-signs it in the rotation job.
export * from "./controls.ts";
export * from "./export.ts";
export * from "./freshness.ts";
export * from "./install-crl.ts";
export * from "./ops.ts";
export * from "./paths.ts";
export * from "./published.ts";
export * from "./publisher.ts";
export * from "./status-publisher.ts";
export * from "./store.ts";
export * from "./strict-crl.ts";
export * from "./tree.ts";
export * from "./vical.ts";
