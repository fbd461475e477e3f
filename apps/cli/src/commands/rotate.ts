import { writeFileSync } from "node:fs";
import type { KeyStore } from "@iaca/hsm";
import { formatRotation, rotationMetrics, runRotation } from "@iaca/lifecycle";
import { IacaError } from "@iaca/policy";
import type { Command } from "commander";
import { openRoleKeyStore, policyOf, withDatabase } from "../context.ts";
import { CliExit, printJson } from "../output.ts";

interface RotateOpts {
  dryRun?: boolean;
  json?: boolean;
  confirmDestroy?: boolean;
  hsm: boolean;
  metricsFile?: string;
  at?: string;
  operator?: string;
}

export function registerRotate(program: Command): void {
  program
    .command("rotate")
    .description(
      "do whatever key rotation is due (DS activation/retirement, retired DS key destruction, trust-list re-sign) and warn about ceremonies due soon; idempotent, safe on several hosts",
    )
    .option("--dry-run", "print what is due without changing anything")
    .option("--json", "machine-readable result")
    .option("--confirm-destroy", "an operator confirms destroying due DS keys (policy ds.destroyConfirm)")
    .option("--operator <id>", "who confirms (audit actor), e.g. op:alice")
    .option("--no-hsm", "do not open the DS HSM (no destruction, no trust-list signing)")
    .option("--metrics-file <file>", "also write Prometheus metrics (node_exporter textfile collector)")
    .option("--at <date>", "evaluate at this instant instead of now (what-if; with --dry-run)")
    .action(async (o: RotateOpts, cmd: Command) => {
      const policy = policyOf(cmd);
      const at = o.at ? new Date(o.at) : undefined;
      if (at && Number.isNaN(at.getTime())) throw new IacaError("CLI_INVALID", `--at: not a date: ${o.at}`);
      if (at && !o.dryRun) throw new IacaError("CLI_INVALID", "--at is only allowed with --dry-run");
      const result = await withDatabase(async (db, audit) => {
        const actor = o.operator ?? "svc:rotate";
        let hsm: KeyStore | undefined;
        if (o.hsm) hsm = await openRoleKeyStore("ds", audit, actor);
        try {
          return await runRotation(
            { db, policy, audit, hsm, actor, ...(at ? { now: () => at } : {}) },
            { dryRun: o.dryRun, confirmDestroy: o.confirmDestroy },
          );
        } finally {
          hsm?.close();
        }
      });
      if (o.metricsFile) writeFileSync(o.metricsFile, rotationMetrics(result));
      if (o.json) printJson(result);
      else process.stdout.write(formatRotation(result));
      if (result.exitCode !== 0) throw new CliExit(result.exitCode);
    });
}
