import { loadPolicy } from "@iaca/policy";
import type { Command } from "commander";
import { printJson } from "../output.ts";

export function registerPolicy(program: Command): void {
  program
    .command("policy")
    .description("print the effective policy (built-in defaults merged with --policy / $IACA_POLICY)")
    .action(() => {
      printJson(loadPolicy(program.opts().policy));
    });
}
