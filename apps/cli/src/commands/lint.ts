import { readFileSync } from "node:fs";
import { fromPemOrDer, lintArtifact, type Profile, parseArtifact } from "@iaca/pki";
import { loadPolicy } from "@iaca/policy";
import type { Command } from "commander";
import { CliExit, printJson } from "../output.ts";

export function registerLint(program: Command): void {
  program
    .command("lint")
    .description(
      "lint certificates and CRLs (PEM or DER) against the ISO/IEC 18013-5 Annex B profiles; exit 1 on any FAIL",
    )
    .argument("<files...>", "certificate or CRL files")
    .option("--issuer <file>", "issuing IACA (or link) certificate, enables the issuer-dependent rules")
    .option("--profile <profile>", "iaca | link | ds | tsl-signer | status-signer | crl | arl (default: detected)")
    .option("--json", "machine-readable output")
    .action((files: string[], o: { issuer?: string; profile?: Profile; json?: boolean }) => {
      const policy = loadPolicy(program.opts().policy);
      const issuerArt = o.issuer ? parseArtifact(readFileSync(o.issuer)) : undefined;
      if (issuerArt && issuerArt.kind !== "certificate") throw new Error("--issuer must be a certificate");
      let failed = false;
      const all = [];
      // A PEM bundle (chain-pem-bundle.pem, a CA bundle) is linted certificate by certificate.
      for (const f of files) {
        const parts = fromPemOrDer(readFileSync(f));
        for (const [i, der] of (parts.length ? parts : [readFileSync(f)]).entries()) {
          const name = parts.length > 1 ? `${f}#${i + 1}` : f;
          const r = lintArtifact(der, {
            policy,
            ...(issuerArt?.kind === "certificate" ? { issuer: issuerArt.cert } : {}),
            ...(o.profile ? { profile: o.profile } : {}),
          });
          failed ||= r.results.some((x) => x.status === "FAIL");
          if (o.json) all.push({ file: name, ...r });
          else printLint(name, r);
        }
      }
      if (o.json) printJson(all);
      if (failed) throw new CliExit(1);
    });
}

function printLint(name: string, r: ReturnType<typeof lintArtifact>): void {
  process.stdout.write(`${name} (${r.profile})\n`);
  for (const x of r.results)
    process.stdout.write(
      `  ${x.status}  ${x.rule.padEnd(28)} ${x.clause.padEnd(6)} ${x.description}${x.detail ? `: ${x.detail}` : ""}\n`,
    );
}
