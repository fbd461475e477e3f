import { IacaError } from "@iaca/policy";
import { Command, CommanderError } from "commander";
import { commands } from "./commands/index.ts";
import { CliExit } from "./output.ts";

export function buildProgram(): Command {
  const program = new Command("iaca")
    .description("mdoc IACA operator CLI: ceremonies, key rotation, lint, plan, verify, audit")
    .option("--policy <file>", "policy file (YAML/JSON); default $IACA_POLICY or the built-in policy")
    .showHelpAfterError()
    .exitOverride();
  for (const register of commands) register(program);
  return program;
}

/** Runs the CLI; returns the process exit code. Errors become one line on stderr, never a stack trace. */
export async function main(argv: string[]): Promise<number> {
  // Everything the CLI creates (embedded database, keys, secrets) is private to its owner
  // (control cli.data-dir.private; `iaca status` reports anything more open).
  process.umask(0o077);
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CliExit) return e.exitCode;
    if (e instanceof CommanderError) return e.exitCode;
    if (e instanceof IacaError) {
      process.stderr.write(`iaca: ${e.code}: ${e.message}\n`);
      if (e.code === "DB_LOCKED") process.stderr.write(lockedHint(argv, (e.details as { pid?: number })?.pid));
      return 1;
    }
    process.stderr.write(`iaca: internal error: ${(e as Error)?.message ?? e}\n`);
    if (process.env.IACA_DEBUG) console.error(e);
    return 70;
  }
}

/**
 * The embedded database (PGlite) serves one process: while `iaca serve` holds it, an administrative
 * command cannot open it. Say exactly what works instead of only that it failed (issue 16 item 10).
 */
function lockedHint(argv: string[], pid: number | undefined): string {
  // the command words only: arguments may be anything, and a hint never echoes input
  const words = argv.slice(2).filter((a) => !a.startsWith("-"));
  const command = words
    .slice(0, 2)
    .filter((w) => /^[a-z][a-z-]*$/.test(w))
    .join(" ");
  const stop = pid ? `kill -TERM ${pid}` : "stop the running iaca serve";
  return (
    "iaca: the embedded database serves one process at a time. Either stop the service, run the command and start it again:\n" +
    `  ${stop} && npx iaca ${command} <the same arguments> && npx iaca serve\n` +
    "or run the service on PostgreSQL (DATABASE_URL), where administrative commands work while it runs.\n"
  );
}
