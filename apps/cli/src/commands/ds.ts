import { readFileSync, writeFileSync } from "node:fs";
import { dsInstall, dsKeygen, dsList } from "@iaca/pki";
import { IacaError, loadPolicy } from "@iaca/policy";
import type { Command } from "commander";
import { printJson } from "../output.ts";
import { type CeremonyOpts, ceremonyOptions, withRoom } from "./root.ts";

export function registerDs(program: Command): void {
  const ds = program.command("ds").description("operations room: Document Signer keys and certificates");

  ceremonyOptions(ds.command("keygen").description("generate a DS key in the DS HSM and write its CSR"))
    .option("--out <file>", "CSR file to carry to the root room", "ds.csr")
    .action(async (o: CeremonyOpts & { out: string }) => {
      await withRoom(program, "ops", "ds.keygen", o, async (room) => {
        const k = await dsKeygen(room);
        writeFileSync(o.out, k.csrPem);
        process.stdout.write(`DS key     ${k.keyUri}\nfingerprint sha256 ${k.fingerprint}\nCSR        ${o.out}\n`);
      });
    });

  ceremonyOptions(ds.command("install").description("install a DS certificate signed in the root room"))
    .argument("<cert>", "DS certificate (PEM or DER)")
    .requiredOption("--trust <files...>", "IACA root certificate(s) and link certificates")
    .option("--activate-at <date>", "activation (default: the certificate's notBefore, as planned)")
    .action(async (cert: string, o: CeremonyOpts & { trust: string[]; activateAt?: string }) => {
      await withRoom(program, "ops", "ds.install", o, async (room) => {
        const at = o.activateAt ? new Date(o.activateAt) : undefined;
        if (at && Number.isNaN(at.getTime())) throw new IacaError("CLI_INVALID", "--activate-at: not a date");
        const r = await dsInstall(
          room,
          readFileSync(cert),
          o.trust.map((f) => readFileSync(f)),
          at ? { activatesAt: at } : {},
        );
        process.stdout.write(
          `installed ${r.serial} (chain via ${r.chain}), activates ${r.activatesAt.toISOString()}\n`,
        );
      });
    });

  ds.command("list")
    .description("DS certificates: state, usage period, days left")
    .option("--json", "machine-readable output")
    .action(async (o: { json?: boolean }) => {
      const policy = loadPolicy(program.opts().policy);
      const { openDatabase } = await import("@iaca/db");
      const db = await openDatabase({ migrate: true });
      try {
        const rows = await dsList(db, policy);
        if (o.json) printJson(rows);
        else
          for (const r of rows)
            process.stdout.write(
              `${r.serial}  ${r.state.padEnd(10)} usage ${r.usageStart.toISOString().slice(0, 10)}..${r.usageEnd.toISOString().slice(0, 10)}  ${String(r.daysLeft).padStart(3)} days left  ${r.subject}\n`,
            );
      } finally {
        await db.close();
      }
    });
}
