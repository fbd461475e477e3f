import type { Command } from "commander";
import { registerAudit } from "./audit.ts";
import { registerDb } from "./db.ts";
import { registerMdoc } from "./mdoc.ts";
import { registerPolicy } from "./policy.ts";
import { registerStatus } from "./status.ts";
import { registerVerify } from "./verify.ts";

/**
 * Every command group, one module each (`status.ts`, `db.ts`, `audit.ts`, `root.ts`, `ds.ts`...).
 * A new group adds its module here and nothing else.
 */
export const commands: ((program: Command) => void)[] = [
  registerStatus,
  registerPolicy,
  registerDb,
  registerAudit,
  registerVerify,
  registerMdoc,
];
