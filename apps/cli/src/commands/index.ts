import type { Command } from "commander";
import { registerPolicy } from "./policy.ts";

/**
 * Every command group, one module each (`status.ts`, `db.ts`, `audit.ts`, `root.ts`, `ds.ts`...).
 * A new group adds its module here and nothing else.
 */
export const commands: ((program: Command) => void)[] = [registerPolicy];
commands.push((await import("./verify.ts")).registerVerify);
commands.push((await import("./mdoc.ts")).registerMdoc);
