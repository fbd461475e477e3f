import { parseStatusListToken, type StatusSource, type VerifyResult, verifyMdoc } from "@iaca/mdoc";
import { IacaError } from "@iaca/policy";
import { MdocVerifier } from "@iaca/verifier";
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

interface VerifyCliOptions {
  trust?: string[];
  untrusted?: string[];
  crl?: string[];
  dts?: string;
  pin?: string[];
  at?: string;
  doctype?: string;
  json?: boolean;
  statusFailOpen?: boolean;
  statusList?: string[];
}

export function registerVerify(program: Command): void {
  program
    .command("verify")
    .description(
      "verify an mdoc (IssuerSigned, Document or DeviceResponse; binary, hex or base64url) against trusted IACAs, given as files or loaded from a DTS",
    )
    .argument("<file>", "mdoc file")
    .option("--trust <pem>", "trusted IACA certificate (repeatable); with --dts: a pin", collect)
    .option("--untrusted <pem>", "link or intermediate certificate that may complete the path (repeatable)", collect)
    .option("--crl <file>", "CRL of the IACA (DER or PEM, repeatable)", collect)
    .option(
      "--dts <url>",
      "load trust from this DTS (signed trust list, every IACA generation, every CRL/ARL) with the verifier kit",
    )
    .option(
      "--pin <sha256>",
      "with --dts: SHA-256 fingerprint of an IACA certificate known out of band (repeatable)",
      collect,
    )
    .option(
      "--status-list <file>",
      "Status List Token (CWT) for the MSO's status; the one whose sub is the MSO's uri is used (repeatable)",
      collect,
    )
    .option(
      "--status-fail-open",
      "with --dts: when a status list cannot be fetched, skip the status check instead of failing (default: fail-closed)",
    )
    .option("--at <time>", "verification time (ISO 8601 or epoch seconds; default now)")
    .option("--doctype <docType>", "expected docType")
    .option("--json", "print the structured result (includes the disclosed element values)")
    .action(async (file: string, o: VerifyCliOptions) => {
      const r = o.dts ? await verifyWithDts(file, o.dts, o) : await verifyWithFiles(file, o);
      if (o.json) printJson(jsonable(r));
      else printChecks(r);
      if (!r.ok) throw new CliExit(1);
    });
}

async function verifyWithFiles(file: string, o: VerifyCliOptions): Promise<VerifyResult> {
  if (!o.trust?.length) throw new IacaError("CLI_USAGE", "give --trust (IACA certificates) or --dts with --pin");
  return verifyMdoc(readInput(file, "mdoc"), {
    trustAnchors: o.trust.map((p) => readInput(p, "trust anchor")),
    untrusted: (o.untrusted ?? []).map((p) => readInput(p, "certificate")),
    crls: (o.crl ?? []).map((p) => readInput(p, "CRL")),
    at: parseTime(o.at),
    docType: o.doctype,
    ...(o.statusList?.length ? { status: statusFromFiles(o.statusList, Boolean(o.statusFailOpen)) } : {}),
  });
}

/** Status list tokens given as files, looked up by their sub (the URI the MSO names). */
function statusFromFiles(files: string[], failOpen: boolean): StatusSource {
  const bySub = new Map<string, Uint8Array>();
  for (const f of files) {
    const bytes = readInput(f, "status list token");
    try {
      bySub.set(parseStatusListToken(bytes).sub, bytes);
    } catch (e) {
      throw new IacaError("CLI_INVALID", `${f}: not a Status List Token (${(e as Error).message})`);
    }
  }
  return {
    failOpen,
    fetch: async (uri) => {
      const t = bySub.get(uri);
      if (!t) throw new Error(`no --status-list file has sub ${uri}`);
      return t;
    },
  };
}

/** The verifier kit end to end: trust from the DTS, then the mdoc (control verifier.kit). */
async function verifyWithDts(file: string, dts: string, o: VerifyCliOptions): Promise<VerifyResult> {
  if (o.crl?.length || o.untrusted?.length)
    throw new IacaError("CLI_USAGE", "--dts loads CRLs and link certificates itself: drop --crl/--untrusted");
  if (!/^https?:\/\//.test(dts)) throw new IacaError("CLI_USAGE", "--dts: expected an http(s) URL");
  const at = parseTime(o.at);
  const verifier = await MdocVerifier.fromDts(dts, {
    pins: o.pin ?? [],
    anchors: (o.trust ?? []).map((p) => readInput(p, "pinned IACA")),
    ...(at ? { now: () => at } : {}),
    statusFailOpen: Boolean(o.statusFailOpen),
  });
  for (const w of verifier.trust.warnings) process.stderr.write(`warning: ${w}\n`);
  return verifier.verify(readInput(file, "mdoc"), { docType: o.doctype });
}
