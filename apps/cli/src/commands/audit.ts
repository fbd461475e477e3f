import { createWriteStream, openSync } from "node:fs";
import { exportAudit, verifyAuditChain } from "@iaca/db";
import { IacaError } from "@iaca/policy";
import type { Command } from "commander";
import { withDatabase } from "../context.ts";
import { CliExit, printJson } from "../output.ts";

function parseHead(text: string | undefined): { seq: number; hash: string } | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d+):([0-9a-f]{64})$/.exec(text);
  if (!m) throw new IacaError("CLI_USAGE", `--expect-head: expected SEQ:SHA256HEX, got "${text}"`);
  return { seq: Number(m[1]), hash: m[2]! };
}

/** Never overwrites an earlier archive. */
function createExclusive(path: string): number {
  try {
    return openSync(path, "wx", 0o600);
  } catch (e) {
    throw new IacaError("CLI_FILE_UNWRITABLE", `cannot create ${path}: ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
}

export function registerAudit(program: Command): void {
  const audit = program.command("audit").description("the tamper-evident audit log (CP/CPS 5.4)");
  audit
    .command("verify")
    .description("recompute the hash chain; exit 1 and name the first modified, deleted, inserted or reordered row")
    .option(
      "--expect-head <seq:hash>",
      "a chain head recorded earlier (last line of an export): also detects truncation",
    )
    .option("--json", "machine-readable output")
    .action(async (opts: { expectHead?: string; json?: boolean }) => {
      const expectedHead = parseHead(opts.expectHead);
      const r = await withDatabase((db) => verifyAuditChain(db, expectedHead ? { expectedHead } : {}));
      if (opts.json) printJson(r);
      else if (r.ok)
        process.stdout.write(
          `audit chain intact: ${r.count} events, head ${r.head ? `${r.head.seq}:${r.head.hash}` : "(empty)"}\n`,
        );
      else
        process.stdout.write(
          `audit chain BROKEN at seq ${r.failure!.seq} (${r.failure!.kind}): ${r.failure!.message}\n`,
        );
      if (!r.ok) throw new CliExit(1);
    });
  audit
    .command("export")
    .description("write the audit log as JSON Lines, chain head last, for external archiving")
    .option("--out <file>", "output file (default: standard output)")
    .option("--after <seq>", "only events after this seq (incremental archive)")
    .action(async (opts: { out?: string; after?: string }) => {
      const after = opts.after === undefined ? undefined : Number(opts.after);
      if (after !== undefined && !Number.isInteger(after))
        throw new IacaError("CLI_USAGE", `--after: not a number: ${opts.after}`);
      const out = opts.out ? createWriteStream("", { fd: createExclusive(opts.out) }) : process.stdout;
      const r = await withDatabase((db) => exportAudit(db, out, after === undefined ? {} : { after }));
      if (opts.out) {
        await new Promise<void>((res, rej) =>
          (out as ReturnType<typeof createWriteStream>).end((e?: Error) => (e ? rej(e) : res())),
        );
        process.stderr.write(`exported ${r.count} events to ${opts.out}; head ${r.head.seq}:${r.head.hash}\n`);
      }
    });
}
