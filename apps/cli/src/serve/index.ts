export { applyLocalDefaults } from "../context.ts";
export * from "./demo-pki.ts";
export * from "./hsm.ts";
export * from "./start.ts";
