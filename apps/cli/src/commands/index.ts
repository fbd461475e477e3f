import type { Command } from "commander";
import { registerAudit } from "./audit.ts";
import { registerDb } from "./db.ts";
import { registerDemo } from "./demo.ts";
import { registerDs } from "./ds.ts";
import { registerLint } from "./lint.ts";
import { registerMdoc } from "./mdoc.ts";
import { registerOperator } from "./operator.ts";
import { registerPlan } from "./plan.ts";
import { registerPolicy } from "./policy.ts";
import { registerRoot } from "./root.ts";
import { registerRotate } from "./rotate.ts";
import { registerSimulate } from "./simulate.ts";
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
  registerRoot,
  registerDs,
  registerOperator,
  registerLint,
  registerPlan,
  registerDemo,
  registerRotate,
  registerSimulate,
];
commands.push((await import("./dts.ts")).registerDts);
commands.push((await import("./client.ts")).registerClient);
commands.push((await import("./serve.ts")).registerServe);
