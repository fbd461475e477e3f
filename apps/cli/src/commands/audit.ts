import { createWriteStream, existsSync, openSync } from "node:fs";
import { type AuditVerifyResult, exportAudit, verifyAuditChain } from "@iaca/db";
import { auditCheckpointKey, verifyAuditAnchored, writeAuditCheckpoint } from "@iaca/lifecycle";
import { IacaError } from "@iaca/policy";
import type { Command } from "commander";
import { openRoleKeyStore, withDatabase } from "../context.ts";
import { auditCheckpointFile } from "../data-dir.ts";
import { CliExit, printJson } from "../output.ts";

const actorOf = (cmd: Command) => (cmd.optsWithGlobals().operator as string | undefined) ?? "svc:audit";

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
  registerAuditVerify(audit);
  registerAuditCheckpoints(audit);
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

interface VerifyOpts {
  expectHead?: string;
  checkpoints: string | false;
  key?: string;
  json?: boolean;
}

function registerAuditVerify(audit: Command): void {
  audit
    .command("verify")
    .description(
      "recompute the hash chain and check it against the signed checkpoints; exit 1 and name the first modified, deleted, inserted or reordered row, a cut tail or a rewritten range",
    )
    .option(
      "--checkpoints <file>",
      "signed checkpoint file (default: $IACA_AUDIT_CHECKPOINTS or <data dir>/audit/checkpoints.jsonl)",
    )
    .option("--no-checkpoints", "check the chain alone (a cut tail or a rewritten suffix then goes unnoticed)")
    .option("--key <sha256>", "SHA-256 of the checkpoint key's public key, to confirm the file's signer")
    .option("--expect-head <seq:hash>", "a chain head recorded elsewhere (last line of an export)")
    .option("--json", "machine-readable output")
    .action(async (opts: VerifyOpts) => {
      const expectedHead = parseHead(opts.expectHead);
      const file = opts.checkpoints === false ? undefined : opts.checkpoints || auditCheckpointFile();
      if (file && !existsSync(file) && opts.checkpoints === undefined)
        process.stderr.write(
          `warning: no checkpoint file at ${file}: a cut tail or a rewritten suffix would go unnoticed\n`,
        );
      const r = await withDatabase((db) =>
        file && existsSync(file)
          ? verifyAuditAnchored(db, file, { expectKid: opts.key?.toLowerCase(), expectedHead })
          : verifyAuditChain(db, expectedHead ? { expectedHead } : {}),
      );
      if (opts.json) printJson(r);
      else printVerify(r);
      if (!r.ok) throw new CliExit(1);
    });
}

function printVerify(
  r: AuditVerifyResult & { checkpoints?: { count: number; latest: { seq: number } | null; kid?: string } },
) {
  const cp = r.checkpoints;
  const anchored = cp
    ? `; ${cp.count} signed checkpoints${cp.latest ? `, latest at row ${cp.latest.seq}` : ""} (key ${cp.kid ?? "-"})`
    : "; no checkpoints checked";
  if (r.ok)
    process.stdout.write(
      `audit chain intact: ${r.count} events, head ${r.head ? `${r.head.seq}:${r.head.hash}` : "(empty)"}${anchored}\n`,
    );
  else
    process.stdout.write(`audit chain BROKEN at seq ${r.failure!.seq} (${r.failure!.kind}): ${r.failure!.message}\n`);
}

function registerAuditCheckpoints(audit: Command): void {
  audit
    .command("keygen")
    .description("create the audit checkpoint key in the operations HSM (once; audited)")
    .option("--operator <id>", "operator recorded in the audit log")
    .action(async (_opts: unknown, cmd: Command) => {
      await withDatabase(async (_db, log) => {
        const hsm = await openRoleKeyStore("ds", log, actorOf(cmd));
        try {
          const had = await auditCheckpointKey(hsm);
          const key = had ?? (await auditCheckpointKey(hsm, { create: true, actor: actorOf(cmd) }))!;
          printJson({ keyUri: key.uri, kid: key.kid, created: !had });
        } finally {
          hsm.close();
        }
      });
    });
  audit
    .command("checkpoint")
    .description(
      "sign the current chain head now and append it to the checkpoint file (iaca serve does this every minute)",
    )
    .option(
      "--checkpoints <file>",
      "checkpoint file (default: $IACA_AUDIT_CHECKPOINTS or <data dir>/audit/checkpoints.jsonl)",
    )
    .action(async (opts: { checkpoints?: string }, cmd: Command) => {
      const file = opts.checkpoints || auditCheckpointFile();
      await withDatabase(async (db, log) => {
        const hsm = await openRoleKeyStore("ds", log, actorOf(cmd));
        try {
          printJson({ file, ...(await writeAuditCheckpoint({ db, hsm, file })) });
        } finally {
          hsm.close();
        }
      });
    });
}
