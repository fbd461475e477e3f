import { AuditLog } from "@iaca/db";
import { addOperator, bootstrapOperators, credentialsFromEnv, disableOperator, listOperators } from "@iaca/pki";
import { IacaError, loadPolicy } from "@iaca/policy";
import type { Command } from "commander";
import { printJson } from "../output.ts";
import { type CeremonyOpts, ceremonyOptions, openRoomDb, startTranscript, withRoomDb } from "./root.ts";

type RoomOpt = { room: string };

/** The room's registry is in that room's database: the root room's own, or the operations database. */
function roomOf(o: RoomOpt): "root" | "ops" {
  if (o.room !== "root" && o.room !== "ops") throw new IacaError("CLI_INVALID", "--room: root or ops");
  return o.room;
}

const roomOption = (c: Command) => c.requiredOption("--room <room>", "root (root room) or ops (operations room)");

/** `iaca operator enroll|add|disable|list`: the ceremony operators of a room (CP/CPS 5.2.3). */
export function registerOperator(program: Command): void {
  const op = program.command("operator").description("ceremony operators of a room: enrol, add, disable, list");

  roomOption(
    ceremonyOptions(
      op
        .command("enroll")
        .description("a room's first operators, together (each secret in $IACA_OPERATOR_SECRET_<ID>)"),
    ),
  ).action(async (o: CeremonyOpts & RoomOpt) => {
    const room = roomOf(o);
    const policy = loadPolicy(program.opts().policy);
    const creds = credentialsFromEnv(o.operator);
    const db = await openRoomDb(room, o.dataDir);
    try {
      const actors = await bootstrapOperators({ policy, db, audit: new AuditLog(db) }, creds);
      if (o.transcript) startTranscript("operator.enroll", policy, actors).write(o.transcript, actors);
      process.stdout.write(`enrolled ${actors.join(", ")} in the ${room} room\n`);
    } finally {
      await db.close();
    }
  });

  roomOption(
    ceremonyOptions(
      op
        .command("add")
        .description("add an operator (secret in $IACA_OPERATOR_SECRET_<ID>), authorised by existing operators"),
    ),
  )
    .argument("<id>", "the new operator's id (2-32 of a-z 0-9 _ -)")
    .action(async (id: string, o: CeremonyOpts & RoomOpt) => {
      const [cred] = credentialsFromEnv([id]);
      await withRoomDb(program, roomOf(o), "operator.add", o, async (r) => {
        await addOperator(r, cred!);
        r.transcript.add("added", `op:${id}`);
        process.stdout.write(`added op:${id}, authorised by ${r.actors.join(", ")}\n`);
      });
    });

  roomOption(
    ceremonyOptions(op.command("disable").description("disable an operator for good, authorised by other operators")),
  )
    .argument("<id>", "operator id")
    .requiredOption("--reason <text>", "why (kept in the audit log; no personal data)")
    .action(async (id: string, o: CeremonyOpts & RoomOpt & { reason: string }) => {
      await withRoomDb(program, roomOf(o), "operator.disable", o, async (r) => {
        await disableOperator(r, id, o.reason);
        r.transcript.add("disabled", `op:${id}`);
        process.stdout.write(`disabled op:${id}\n`);
      });
    });

  roomOption(op.command("list").description("the room's operators (never their secrets)"))
    .option("--data-dir <dir>", "this room's embedded database (default $IACA_DATA_DIR / $DATABASE_URL)")
    .option("--json", "machine-readable output")
    .action(async (o: RoomOpt & { dataDir?: string; json?: boolean }) => {
      const db = await openRoomDb(roomOf(o), o.dataDir);
      try {
        const rows = await listOperators(db);
        if (o.json) printJson(rows);
        else
          for (const r of rows)
            process.stdout.write(
              `${r.id.padEnd(32)} enrolled ${r.enrolledAt.toISOString()}  ${r.disabledAt ? `disabled ${r.disabledAt.toISOString()}` : "enabled"}\n`,
            );
      } finally {
        await db.close();
      }
    });
}
