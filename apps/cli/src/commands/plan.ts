import { writeFileSync } from "node:fs";
import { formatPlan, plan, planSvg } from "@iaca/pki";
import { IacaError, loadPolicy } from "@iaca/policy";
import type { Command } from "commander";
import { printJson } from "../output.ts";

export function registerPlan(program: Command): void {
  program
    .command("plan")
    .description("print the ceremony / rotation schedule, check the validity invariants, propose a consistent policy")
    .option("--from <date>", "start (ISO 8601 date)", new Date().toISOString().slice(0, 10))
    .option("--years <n>", "horizon in years", "10")
    .option("--visit-every <duration>", "target interval between root-room visits", "P3M")
    .option("--svg <file>", "also draw the timeline as SVG")
    .option("--json", "machine-readable output")
    .action((o: { from: string; years: string; visitEvery: string; svg?: string; json?: boolean }) => {
      const policy = loadPolicy(program.opts().policy);
      const from = new Date(o.from);
      const years = Number(o.years);
      if (Number.isNaN(from.getTime())) throw new IacaError("CLI_INVALID", `--from: not a date: ${o.from}`);
      if (!Number.isInteger(years) || years < 1 || years > 30)
        throw new IacaError("CLI_INVALID", "--years must be an integer 1..30");
      const p = plan(policy, from, years, { visitEvery: o.visitEvery });
      if (o.svg) writeFileSync(o.svg, planSvg(p));
      if (o.json) printJson({ ...p, policy: undefined });
      else process.stdout.write(formatPlan(p));
    });
}
