export * from "./app.ts";
export * from "./clients.ts";
export * from "./controls.ts";
export * from "./idempotency.ts";
export * from "./logger.ts";
export * from "./problem.ts";
export * from "./proof.ts";
export * from "./tls.ts";
