#!/usr/bin/env node
// The operator CLI. Sources are TypeScript run through tsx's loader, so there is no build
// step between `npm ci` and `npx iaca`.
import { register } from "tsx/esm/api";

register();
const { applyLocalDefaults } = await import("../src/context.ts");
applyLocalDefaults();
const { main } = await import("../src/main.ts");
process.exitCode = await main(process.argv);
