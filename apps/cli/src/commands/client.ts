import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { applyLocalDefaults } from "../context.ts";
import { printJson } from "../output.ts";

/** `iaca client`: wallet-backend clients of the RA (mutual TLS certificates from the client CA). */
export function registerClient(program: Command): void {
  const client = program.command("client").description("RA API clients: certificates from the client CA, scopes");

  client
    .command("add")
    .description("create a client: key + certificate from the client CA (var/tls), registered with its scopes")
    .argument("<name>", "client id (a-z 0-9 . _ -)")
    .option("--scopes <list>", "comma-separated: issue, refresh, revoke", "issue,refresh")
    .option("--out <dir>", "where to write key.pem, cert.pem and ca.pem (default var/clients/<name>)")
    .option("--days <n>", "certificate validity in days", "397")
    .action(async (name: string, o: { scopes: string; out?: string; days: string }) => {
      applyLocalDefaults();
      const { addClient, parseScopes } = await import("@iaca/ra");
      const { openDatabase } = await import("@iaca/db");
      const db = await openDatabase({ migrate: true });
      try {
        const r = await addClient(db, name, parseScopes(o.scopes), { dir: o.out, days: Number(o.days) });
        process.stdout.write(
          `client ${name} (${parseScopes(o.scopes).join(", ")})\ncert ${r.cert}\nkey  ${r.key}\nca   ${join(r.dir, "ca.pem")}  (the RA's server CA)\nspki sha256 ${r.spkiSha256}\n`,
        );
      } finally {
        await db.close();
      }
    });

  client
    .command("list")
    .description("registered clients")
    .action(async () => {
      applyLocalDefaults();
      const { ClientRegistry } = await import("@iaca/ra");
      const { openDatabase } = await import("@iaca/db");
      const db = await openDatabase({ migrate: true });
      try {
        printJson(await new ClientRegistry(db.stores.clients).list());
      } finally {
        await db.close();
      }
    });

  client
    .command("disable")
    .description("disable a client (its certificate is refused from then on)")
    .argument("<name>")
    .action(async (name: string) => {
      applyLocalDefaults();
      const { ClientRegistry } = await import("@iaca/ra");
      const { openDatabase } = await import("@iaca/db");
      const db = await openDatabase({ migrate: true });
      try {
        if (!(await new ClientRegistry(db.stores.clients).disable(name))) {
          process.stderr.write(`iaca: no client ${name}\n`);
          process.exitCode = 1;
        }
      } finally {
        await db.close();
      }
    });

  client
    .command("demo-request")
    .description("print a ready POST /v1/credentials body: nonce from the RA, fresh device keys, proofs (for curl)")
    .argument("[name]", "client whose certificate fetches the nonce", "demo-wallet")
    .option("--url <url>", "RA base URL", process.env.IACA_RA_URL ?? "https://127.0.0.1:8443")
    .option("--count <n>", "device keys (batch size)", "1")
    .option("--holder <file>", "holder data JSON (default: a fictional sample holder)")
    .option("--keys-out <file>", "write the device private keys (JWK array) here")
    .action(async (name: string, o: { url: string; count: string; holder?: string; keysOut?: string }) => {
      const { demoRequest } = await import("@iaca/ra");
      const r = await demoRequest({
        url: o.url,
        ...(await clientTls(name)),
        count: Number(o.count),
        ...(o.holder ? { holder: JSON.parse(readFileSync(o.holder, "utf8")) } : {}),
      });
      if (o.keysOut) writeFileSync(o.keysOut, JSON.stringify(r.deviceKeys, null, 2), { mode: 0o600 });
      process.stdout.write(`${JSON.stringify(r.body)}\n`);
    });

  client
    .command("demo-offer")
    .description("create an OpenID4VCI Credential Offer for a holder (default: the sample holder) and print its URI")
    .argument("[name]", "client (scope issue) whose certificate creates the offer", "demo-wallet")
    .option("--url <url>", "RA base URL", process.env.IACA_RA_URL ?? "https://127.0.0.1:8443")
    .option("--holder <file>", "holder data JSON (default: a fictional sample holder)")
    .option("--tx-code", "require a tx_code (printed on a second line, for the holder)")
    .action(async (name: string, o: { url: string; holder?: string; txCode?: boolean }) => {
      const { demoOffer } = await import("@iaca/ra");
      const r = await demoOffer({
        url: o.url,
        ...(await clientTls(name)),
        txCode: Boolean(o.txCode),
        ...(o.holder ? { holder: JSON.parse(readFileSync(o.holder, "utf8")) } : {}),
      });
      process.stdout.write(`${r.credentialOfferUri}\n`);
      if (r.txCode) process.stdout.write(`tx_code ${r.txCode}\n`);
    });
}

/** The TLS material `iaca client add` wrote for a client (the demo commands present it). */
async function clientTls(name: string): Promise<{ cert: string; key: string; ca: string }> {
  const { clientsDir } = await import("@iaca/ra");
  const dir = join(clientsDir(), name);
  const read = (f: string) => readFileSync(join(dir, f), "utf8");
  return { cert: read("cert.pem"), key: read("key.pem"), ca: read("ca.pem") };
}
