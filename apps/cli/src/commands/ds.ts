import { readFileSync, writeFileSync } from "node:fs";
import { dsInstall, dsKeygen, dsList, dsStop } from "@iaca/pki";
import { IacaError, loadPolicy } from "@iaca/policy";
import type { Command } from "commander";
import { printJson } from "../output.ts";
import { type CeremonyOpts, ceremonyOptions, withRoom, withRoomDb } from "./root.ts";

export function registerDs(program: Command): void {
  const ds = program.command("ds").description("operations room: Document Signer keys and certificates");

  ceremonyOptions(ds.command("keygen").description("generate a DS key in the DS HSM and write its CSR"))
    .option("--out <file>", "CSR file to carry to the root room", "ds.csr")
    .action(async (o: CeremonyOpts & { out: string }) => {
      await withRoom(program, "ops", "ds.keygen", o, async (room) => {
        const k = await dsKeygen(room);
        writeFileSync(o.out, k.csrPem);
        process.stdout.write(
          `DS key     ${k.keyUri}\nfingerprint sha256 ${k.fingerprint}\nCSR        ${o.out} sha256 ${k.csrSha256}  <- record it; the root room signs only with --expect-sha256 ${k.csrSha256}\n`,
        );
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

  ceremonyOptions(
    ds.command("stop").description("stop a DS key signing now (suspected compromise), before the root room's CRL"),
  )
    .argument("<serial>", "DS certificate serial (hex)")
    .requiredOption("--reason <text>", "why (kept in the audit log; no personal data)")
    .action(async (serial: string, o: CeremonyOpts & { reason: string }) => {
      await withRoomDb(program, "ops", "ds.stop", o, async (room) => {
        const r = await dsStop(room, serial, o.reason);
        process.stdout.write(
          `DS ${r.serial} stopped signing at ${r.stoppedAt.toISOString()}; ${
            r.signer
              ? `the issuer now signs with DS ${r.signer}`
              : "no DS can sign now: issuance answers 503 until another DS is installed"
          }\nrevoke it at the next root ceremony (iaca root revoke ${r.serial} --reason keyCompromise), then install the CRL here (iaca dts install-crl)\n`,
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
