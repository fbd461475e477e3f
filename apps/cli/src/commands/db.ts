import { migrate, migrationStatus } from "@iaca/db";
import type { Command } from "commander";
import { withDatabase } from "../context.ts";
import { CliExit, printJson } from "../output.ts";

export function registerDb(program: Command): void {
  const db = program.command("db").description("database schema and migrations");
  db.command("migrate")
    .description("apply pending migrations (Prisma layout, recorded in _prisma_migrations)")
    .action(async () => {
      await withDatabase(async (d) => {
        const r = await migrate(d);
        process.stdout.write(
          `${d.kind} ${d.location}: ${r.applied.length} applied, ${r.alreadyApplied.length} already applied\n`,
        );
        for (const name of r.applied) process.stdout.write(`  applied ${name}\n`);
      }, false);
    });
  db.command("status")
    .description("list migrations and their state (exit 1 unless up to date)")
    .option("--json", "machine-readable output")
    .action(async (opts: { json?: boolean }) => {
      const s = await withDatabase((d) => migrationStatus(d), false);
      if (opts.json) printJson(s);
      else for (const m of s.migrations) process.stdout.write(`${m.state.padEnd(15)} ${m.name}\n`);
      if (!s.upToDate) throw new CliExit(1);
    });
}
