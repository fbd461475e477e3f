import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { AuditLog, type Database, openDatabase, policyLoadEvent } from "@iaca/db";
import { hsmConfigFromEnv, KeyStore, roleConfig } from "@iaca/hsm";
import {
  authorize,
  bootstrapOperators,
  credentialsFromEnv,
  type OperatorRoom,
  type Room,
  rootCrl,
  rootCrls,
  rootDestroyKey,
  rootInit,
  rootRekey,
  rootRevoke,
  rootSignCsr,
  Transcript,
} from "@iaca/pki";
import { IacaError, loadPolicy, type Policy, seedLimitOverrideRecord } from "@iaca/policy";
import type { Command } from "commander";

export interface CeremonyOpts {
  operator: string[];
  transcript?: string;
  dataDir?: string;
}

const collect = (v: string, prev: string[]) => [...prev, v];

export function ceremonyOptions(c: Command): Command {
  return c
    .option("--operator <id>", "operator (repeat for dual control); secret in $IACA_OPERATOR_SECRET_<ID>", collect, [])
    .option("--transcript <file>", "write a ceremony transcript for witnesses to sign")
    .option("--data-dir <dir>", "this room's embedded database (default $IACA_DATA_DIR / $DATABASE_URL)");
}

export async function openRoomDb(room: "root" | "ops", dataDir?: string): Promise<Database> {
  // The root room is offline: its own embedded database under --data-dir (or $IACA_DATA_DIR).
  if (dataDir) return openDatabase({ url: "", dataDir: resolve(dataDir, "db"), migrate: true });
  if (room === "root" && process.env.IACA_DATA_DIR) return openDatabase({ url: "", migrate: true });
  return openDatabase({ migrate: true });
}

/** A step's transcript, opened with its date and operators. */
export function startTranscript(step: string, policy: Policy, actors: string[]): Transcript {
  const transcript = new Transcript(step, policy);
  transcript.add("date", new Date().toISOString());
  transcript.add("operators", actors.join(", "));
  const override = seedLimitOverrideRecord(policy);
  if (override)
    transcript.add(
      "seed limits overridden",
      `${override.fields.map((f) => `${f.field} ${f.value} (seed: ${f.bound} ${f.limit})`).join(", ")}; reason: ${override.reason}`,
    );
  return transcript;
}

/** What a step of a room gets when it needs no HSM (the operator registry). */
export type RegistryRoom = OperatorRoom & { transcript: Transcript };

/** Opens the room's database, authenticates the operators, runs the step, writes the transcript. */
export async function withRoomDb(
  program: Command,
  room: "root" | "ops",
  step: string,
  o: CeremonyOpts,
  fn: (r: RegistryRoom) => Promise<void>,
): Promise<void> {
  const policy = loadPolicy(program.opts().policy);
  const creds = credentialsFromEnv(o.operator);
  const db = await openRoomDb(room, o.dataDir);
  try {
    const audit = new AuditLog(db);
    // a ceremony under a policy beyond the seed's limits leaves the override and its reason on record
    if (policy.seedLimitOverride)
      await audit.append(
        policyLoadEvent(policy, "svc:cli", program.opts().policy ?? process.env.IACA_POLICY ?? "built-in defaults"),
      );
    // the first ceremony of a root room enrols the operators who run it
    if (step === "root.init" && (await db.stores.operators.count()) === 0)
      await bootstrapOperators({ policy, db, audit }, creds);
    const actors = await authorize(db, policy, step, creds, audit);
    const transcript = startTranscript(step, policy, actors);
    await fn({ policy, db, audit, actors, transcript });
    if (o.transcript) transcript.write(o.transcript, actors);
  } finally {
    await db.close();
  }
}

/** withRoomDb, plus the room's HSM (root token in the root room, DS token in operations). */
export async function withRoom(
  program: Command,
  room: "root" | "ops",
  step: string,
  o: CeremonyOpts,
  fn: (r: Room) => Promise<void>,
): Promise<void> {
  await withRoomDb(program, room, step, o, async (r) => {
    const role = room === "root" ? "root" : "ds";
    const node = roleConfig(hsmConfigFromEnv(process.env, { roles: [role] }), role).nodes[0];
    if (!node) throw new IacaError("HSM_CONFIG_INVALID", `no HSM configured for the ${room} room`);
    const hsm = await KeyStore.open({
      module: node.module,
      token: node.token,
      pin: node.pin,
      audit: r.audit,
      actor: r.actors[0] ?? "svc:cli",
      sessions: 2,
    });
    try {
      await fn({ ...r, hsm });
    } finally {
      hsm.close();
    }
  });
}

export function registerRoot(program: Command): void {
  const root = program.command("root").description("root room (Managed PKI Security Room): offline IACA ceremonies");
  registerRootInit(root, program);
  registerRootSignCsr(root, program);
  registerRootRekey(root, program);
  registerRootRevocationLists(root, program);
  registerRootDestroyKey(root, program);
  registerRootRevoke(root, program);
}

function registerRootInit(root: Command, program: Command): void {
  ceremonyOptions(
    root.command("init").description("generate the root key in the root HSM and self-sign the IACA certificate"),
  )
    .option("--out <file>", "IACA certificate", "iaca.pem")
    .action(async (o: CeremonyOpts & { out: string }) => {
      await withRoom(program, "root", "root.init", o, async (room) => {
        const r = await rootInit(room);
        writeFileSync(o.out, r.cert.pem);
        process.stdout.write(`root ${r.serial}\nkey  ${r.keyUri}\ncert ${o.out} sha256 ${r.cert.sha256}\n`);
      });
    });
}

function registerRootSignCsr(root: Command, program: Command): void {
  ceremonyOptions(
    root
      .command("sign-csr")
      .description("check a DS CSR (proof of possession, policy, lint) and sign the DS certificate"),
  )
    .argument("<csr>", "CSR from the operations room")
    .requiredOption("--expect-sha256 <hex>", "the CSR's SHA-256 recorded in the operations room (printed by ds keygen)")
    .option("--out <file>", "DS certificate", "ds.pem")
    .option("--not-before <date>", "future activation (pre-signing per the plan)")
    .option(
      "--profile <profile>",
      "ds; tsl-signer for the DTS trust-list signer (EKU 1.0.18013.5.1.8); status-signer for the status-list signer (no EKU)",
      "ds",
    )
    .action(
      async (
        csr: string,
        o: CeremonyOpts & { out: string; notBefore?: string; profile: string; expectSha256: string },
      ) => {
        await withRoom(program, "root", "root.sign-csr", o, async (room) => {
          const nb = o.notBefore ? new Date(o.notBefore) : undefined;
          if (nb && Number.isNaN(nb.getTime())) throw new IacaError("CLI_INVALID", "--not-before: not a date");
          if (o.profile !== "ds" && o.profile !== "tsl-signer" && o.profile !== "status-signer")
            throw new IacaError("CLI_INVALID", "--profile: ds, tsl-signer or status-signer");
          const r = await rootSignCsr(room, readFileSync(csr), {
            ...(nb ? { notBefore: nb } : {}),
            profile: o.profile,
            expectSha256: o.expectSha256,
          });
          writeFileSync(o.out, r.cert.pem);
          process.stdout.write(
            `CSR key fingerprint sha256 ${r.fingerprint}  <- compare with the operations room before carrying ${o.out} out\nDS ${r.serial} -> ${o.out}\n`,
          );
        });
      },
    );
}

function registerRootRekey(root: Command, program: Command): void {
  ceremonyOptions(
    root.command("rekey").description("new root key and certificate (same name) plus both link certificates"),
  )
    .option("--out-dir <dir>", "where to write iaca.pem, iaca-old.pem, link-old-to-new.pem, link-new-to-old.pem", ".")
    .action(async (o: CeremonyOpts & { outDir: string }) => {
      await withRoom(program, "root", "root.rekey", o, async (room) => {
        const r = await rootRekey(room);
        const w = (n: string, pem: string) => writeFileSync(join(o.outDir, n), pem);
        w("iaca.pem", r.root.pem);
        if (r.linkOldToNew) w("link-old-to-new.pem", r.linkOldToNew.pem);
        if (r.linkNewToOld) w("link-new-to-old.pem", r.linkNewToOld.pem);
        const { toPem } = await import("@iaca/pki");
        w("iaca-old.pem", toPem(r.oldRoot.der, "CERTIFICATE"));
        const links = r.linkOldToNew
          ? "both link certificates"
          : "no link certificates (the old root is revoked: distribute the new root out of band)";
        // the new root's serial and fingerprint, for the transcript and the out-of-band check by verifiers
        process.stdout.write(`root ${r.serial}\ncert ${join(o.outDir, "iaca.pem")} sha256 ${r.root.sha256}\n`);
        process.stdout.write(`root generation ${r.gen}; wrote iaca.pem, iaca-old.pem and ${links} to ${o.outDir}\n`);
      });
    });
}

function registerRootRevocationLists(root: Command, program: Command): void {
  for (const kind of ["crl", "arl"] as const)
    ceremonyOptions(
      root
        .command(kind)
        .description(
          kind === "crl" ? "issue the CRL (revoked DS certificates)" : "issue the ARL (revoked CA certificates)",
        ),
    )
      .option("--out <file>", "DER output (generation N >= 2 of the root key: -gN before the extension)", `${kind}.der`)
      .option("--gen <n>", "only the list of this root key generation (default: every key with valid certificates)")
      .option(
        "--next-update <date>",
        "an earlier nextUpdate (default and latest: thisUpdate + policy.revocation.nextUpdate)",
      )
      .action(async (o: CeremonyOpts & { out: string; gen?: string; nextUpdate?: string }) => {
        await withRoom(program, "root", `root.${kind}`, o, async (room) => {
          const opts = o.nextUpdate ? { nextUpdate: new Date(o.nextUpdate) } : {};
          const lists =
            o.gen === undefined
              ? await rootCrls(room, kind, opts)
              : [await rootCrl(room, kind, { ...opts, gen: gen(o.gen) })];
          for (const r of lists) {
            const file = r.gen === 1 ? o.out : o.out.replace(/(\.[^./]*)?$/, (ext) => `-g${r.gen}${ext}`);
            writeFileSync(file, r.crl.der);
            process.stdout.write(
              `${kind} #${r.number} of root generation ${r.gen}: ${r.entries} entries, nextUpdate ${r.nextUpdate.toISOString()} -> ${file}\n`,
            );
            if (r.warning) process.stderr.write(`warning: ${r.warning}\n`);
          }
        });
      });
}

function gen(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new IacaError("CLI_USAGE", "--gen: expected a root generation (1, 2, ...)");
  return n;
}

function registerRootDestroyKey(root: Command, program: Command): void {
  ceremonyOptions(
    root
      .command("destroy-key")
      .description("destroy the key of a superseded root once its certificate expired (at once if revoked)"),
  )
    .argument("<serial>", "serial number (hex) of the old IACA certificate")
    .action(async (serial: string, o: CeremonyOpts) => {
      await withRoom(program, "root", "root.destroy-key", o, async (room) => {
        const r = await rootDestroyKey(room, serial);
        process.stdout.write(`destroyed ${r.keyUri} (root ${r.serial})\n`);
      });
    });
}

function registerRootRevoke(root: Command, program: Command): void {
  ceremonyOptions(root.command("revoke").description("revoke a certificate (listed in the next CRL or ARL)"))
    .argument("<serial>", "serial number (hex)")
    .requiredOption(
      "--reason <reason>",
      "keyCompromise | superseded | cessationOfOperation | ... (kept in the database)",
    )
    .action(async (serial: string, o: CeremonyOpts & { reason: string }) => {
      await withRoom(program, "root", "root.revoke", o, async (room) => {
        const r = await rootRevoke(room, serial, o.reason);
        process.stdout.write(
          `revoked ${r.serial} (${r.kind}); issue the next ${r.list.toUpperCase()} with \`iaca root ${r.list}\`\n`,
        );
      });
    });
}
