#!/usr/bin/env node
// The operator CLI. Node runs the TypeScript sources directly (type stripping: the code uses
// only erasable syntax), so there is no build step between `npm ci` and `npx iaca`.
// Everything the CLI creates (embedded database, keys, secrets) is private to its owner
// (control cli.data-dir.private; `iaca status` reports anything more open).
process.umask(0o077);
const { applyLocalDefaults } = await import("../src/context.ts");
applyLocalDefaults();
const { main } = await import("../src/main.ts");
process.exitCode = await main(process.argv);
