#!/usr/bin/env node
// The operator CLI. Node runs the TypeScript sources directly (type stripping: the code uses
// only erasable syntax), so there is no build step between `npm ci` and `npx iaca`.
const { applyLocalDefaults } = await import("../src/context.ts");
applyLocalDefaults();
const { main } = await import("../src/main.ts");
process.exitCode = await main(process.argv);
