import { type VerifyResult, verifyMdoc } from "@iaca/mdoc";
import { IacaError } from "@iaca/policy";
import type { Command } from "commander";
import { readInput } from "../context.ts";
import { CliExit, printJson } from "../output.ts";

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function parseTime(text: string | undefined): Date | undefined {
  if (text === undefined) return undefined;
  const d = /^\d+$/.test(text) ? new Date(Number(text) * 1000) : new Date(text);
  if (Number.isNaN(d.getTime()))
    throw new IacaError("CLI_USAGE", `--at: not a time: ${text} (ISO 8601 or epoch seconds)`);
  return d;
}

/** Values for the JSON view: bytes as length + hex prefix, Maps as objects, bigint as string. */
function jsonable(v: unknown): unknown {
  if (v instanceof Uint8Array) return `<${v.length} bytes>`;
  if (typeof v === "bigint") return v.toString();
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), jsonable(x)]));
  if (Array.isArray(v)) return v.map(jsonable);
  if (v && typeof v === "object" && "value" in v && Object.keys(v).length <= 2) return (v as { value: unknown }).value;
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, jsonable(x)]));
  return v;
}

export function printChecks(r: VerifyResult): void {
  const w = Math.max(...r.checks.map((c) => c.name.length));
  for (const c of r.checks)
    process.stdout.write(
      `${c.status}  ${c.name.padEnd(w)}  ${c.document !== undefined ? `[doc ${c.document}] ` : ""}${c.reason}\n`,
    );
}

export function registerVerify(program: Command): void {
  program
    .command("verify")
    .description(
      "verify an mdoc (IssuerSigned, Document or DeviceResponse; binary, hex or base64url) against trusted IACAs",
    )
    .argument("<file>", "mdoc file")
    .requiredOption("--trust <pem>", "trusted IACA certificate (repeatable)", collect)
    .option("--untrusted <pem>", "link or intermediate certificate that may complete the path (repeatable)", collect)
    .option("--crl <file>", "CRL of the IACA (DER or PEM, repeatable)", collect)
    .option("--at <time>", "verification time (ISO 8601 or epoch seconds; default now)")
    .option("--doctype <docType>", "expected docType")
    .option("--json", "print the structured result (includes the disclosed element values)")
    .action(
      async (
        file: string,
        o: { trust: string[]; untrusted?: string[]; crl?: string[]; at?: string; doctype?: string; json?: boolean },
      ) => {
        const r = await verifyMdoc(readInput(file, "mdoc"), {
          trustAnchors: o.trust.map((p) => readInput(p, "trust anchor")),
          untrusted: (o.untrusted ?? []).map((p) => readInput(p, "certificate")),
          crls: (o.crl ?? []).map((p) => readInput(p, "CRL")),
          at: parseTime(o.at),
          docType: o.doctype,
        });
        if (o.json) printJson(jsonable(r));
        else printChecks(r);
        if (!r.ok) throw new CliExit(1);
      },
    );
}
