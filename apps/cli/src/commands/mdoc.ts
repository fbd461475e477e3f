import { writeFileSync } from "node:fs";
import { ClusterKeyStore, hsmConfigFromEnv } from "@iaca/hsm";
import { getProfile, issueMdoc, parseDeviceKey, readDerList } from "@iaca/mdoc";
import { discardAudit, IacaError, loadPolicy } from "@iaca/policy";
import type { Command } from "commander";
import { readInput } from "../context.ts";
import { printTable } from "../output.ts";
import { parseTime } from "./verify.ts";

interface IssueOpts {
  profile?: string;
  data: string;
  deviceKey: string;
  out: string;
  dsCert: string;
  dsKey: string;
  portrait?: string;
  at?: string;
  format: "cbor" | "hex" | "base64url";
}

export function registerMdoc(program: Command): void {
  const mdoc = program.command("mdoc").description("mdoc issuing (IssuerSigned) with the DS key in the HSM");
  mdoc
    .command("issue")
    .description("issue an IssuerSigned for structured person data, signed by the DS key in the HSM")
    .option("--profile <id>", "doctype profile (interop, seed-2024, ...; default: policy.profile)")
    .requiredOption(
      "--data <json>",
      "structured input (familyName, givenName, birthDate, address, sex, localGovCode, individualNumber, portrait base64)",
    )
    .requiredOption("--device-key <file>", "holder's device public key: JWK (JSON) or COSE_Key (CBOR)")
    .requiredOption("--out <file>", "output file")
    .option("--ds-cert <pem>", "DS certificate (PEM/DER) of the key in the HSM", process.env.IACA_DS_CERT)
    .option("--ds-key <uri>", "pkcs11: URI or label of the DS private key on the DS token", process.env.IACA_DS_KEY)
    .option("--portrait <file>", "portrait image file (replaces data.portrait)")
    .option("--at <time>", "issuance time (default now)")
    .option("--format <f>", "cbor | hex | base64url", "cbor")
    .action(async (o: IssueOpts) => {
      const policy = loadPolicy(program.opts().policy);
      if (!o.dsCert || !o.dsKey)
        throw new IacaError(
          "MDOC_NO_DS_CERTIFICATE",
          "no DS certificate/key given (--ds-cert/--ds-key or IACA_DS_CERT/IACA_DS_KEY)",
        );
      let input: Record<string, unknown>;
      try {
        input = JSON.parse(readInput(o.data, "data").toString("utf8")) as Record<string, unknown>;
      } catch (e) {
        if (e instanceof IacaError) throw e;
        throw new IacaError("MDOC_INPUT_INVALID", `${o.data} is not valid JSON`);
      }
      if (o.portrait) input.portrait = new Uint8Array(readInput(o.portrait, "portrait"));
      const [certificate] = readDerList(readInput(o.dsCert, "DS certificate"), "CERTIFICATE");
      const profile = getProfile(o.profile ?? policy.profile);
      // The DS token of hsmConfigFromEnv (IACA_HSM_DS_*); the PIN never comes from the command line.
      const hsm = await ClusterKeyStore.forRole(hsmConfigFromEnv(process.env, { roles: ["ds"] }), "ds", discardAudit);
      try {
        const r = await issueMdoc({
          profile,
          input,
          deviceKey: parseDeviceKey(readInput(o.deviceKey, "device key")),
          signer: await hsm.signer(o.dsKey),
          dsCertificate: certificate as Uint8Array,
          mso: policy.mso,
          now: parseTime(o.at),
          actor: "op:cli",
        });
        const body =
          o.format === "hex"
            ? Buffer.from(r.issuerSigned).toString("hex")
            : o.format === "base64url"
              ? Buffer.from(r.issuerSigned).toString("base64url")
              : r.issuerSigned;
        writeFileSync(o.out, body);
        printTable([
          ["out", o.out],
          ["docType", r.docType],
          ["profile", r.profile],
          ["DS serial", r.dsSerial],
          ["validFrom", r.validity.validFrom.toISOString()],
          ["validUntil", `${r.validity.validUntil.toISOString()} (limited by ${r.validUntilLimitedBy})`],
          ["expectedUpdate", r.validity.expectedUpdate?.toISOString() ?? "-"],
        ]);
      } finally {
        hsm.close();
      }
    });
}
