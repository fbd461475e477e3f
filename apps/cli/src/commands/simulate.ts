import { writeFileSync } from "node:fs";
import { AuditLog, openDatabase } from "@iaca/db";
import { KeyStore } from "@iaca/hsm";
import { formatSimulation, simulate, throwawaySoftHsm } from "@iaca/lifecycle";
import { IacaError } from "@iaca/policy";
import type { Command } from "commander";
import { policyOf } from "../context.ts";
import { CliExit, printJson } from "../output.ts";

interface SimulateOpts {
  years: string;
  months?: string;
  from: string;
  asIs?: boolean;
  issuesPerWeek: string;
  links: boolean;
  drill: boolean;
  svg?: string;
  json?: boolean;
  verbose?: boolean;
  maxFailures?: string;
  databaseUrl?: string;
}

export function registerSimulate(program: Command): void {
  program
    .command("simulate")
    .description(
      "run the whole key lifecycle on a simulated clock with real SoftHSM keys and a throwaway database; verify every live mdoc as DTS-only verifiers would",
    )
    .option("--years <n>", "horizon in years", "10")
    .option("--months <n>", "horizon in months (instead of --years)")
    .option("--from <date>", "simulated start", "2026-04-01")
    .option("--as-is", "run the policy as given even when the planner finds it inconsistent")
    .option("--issues-per-week <n>", "new mdocs per simulated week", "3")
    .option("--no-links", "do not publish link certificates at re-keys (a deliberately broken set-up)")
    .option("--no-drill", "skip the key-compromise drill half-way")
    .option("--svg <file>", "also write the timeline as it happened (SVG) to this file")
    .option("--max-failures <n>", "stop after this many failures")
    .option("--database-url <url>", "PostgreSQL for the run (default: a throwaway embedded database)")
    .option("--json", "machine-readable summary")
    .option("--verbose", "print every event")
    .action(async (o: SimulateOpts, cmd: Command) => {
      const policy = policyOf(cmd);
      const months = o.months ? Number(o.months) : Number(o.years) * 12;
      const from = new Date(o.from);
      if (!Number.isInteger(months) || months < 1 || months > 360)
        throw new IacaError("CLI_INVALID", "--years 1..30 or --months 1..360");
      if (Number.isNaN(from.getTime())) throw new IacaError("CLI_INVALID", `--from: not a date: ${o.from}`);
      const hsm = throwawaySoftHsm(["sim-root", "sim-ds"]);
      const db = await openDatabase({ url: o.databaseUrl ?? "", dataDir: "memory://", migrate: true });
      const audit = new AuditLog(db);
      const open = (token: string) =>
        KeyStore.open({ module: hsm.module, token, pin: hsm.pins[token]!, audit, actor: "svc:simulate", sessions: 4 });
      const rootHsm = await open("sim-root");
      const dsHsm = await open("sim-ds");
      try {
        const r = await simulate({
          db,
          rootHsm,
          dsHsm,
          policy,
          months,
          from,
          adjust: !o.asIs,
          issuesPerWeek: Number(o.issuesPerWeek),
          linkCertificates: o.links,
          compromiseDrill: o.drill,
          ...(o.maxFailures ? { maxFailures: Number(o.maxFailures) } : {}),
          ...(o.verbose ? { log: (l: string) => process.stderr.write(`${l}\n`) } : {}),
        });
        if (o.svg) writeFileSync(o.svg, r.svg);
        if (o.json) printJson({ ...r, svg: o.svg });
        else process.stdout.write(`${formatSimulation(r)}${o.svg ? `timeline: ${o.svg}\n` : ""}`);
        if (r.failures.length) throw new CliExit(1);
      } finally {
        rootHsm.close();
        dsHsm.close();
        await db.close();
        hsm.remove();
      }
    });
}
