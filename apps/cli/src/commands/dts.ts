import { writeFileSync } from "node:fs";
import { AuditLog, type Database, openDatabase } from "@iaca/db";
import { createDtsApp, readiness } from "@iaca/dts";
import type { KeyStore } from "@iaca/hsm";
import { IacaError, type Policy, revocationUrl } from "@iaca/policy";
import {
  currentDtsSigner,
  DbSource,
  exportTree,
  installCaCertificates,
  installCrl,
  kindFromFileName,
  Publisher,
  signerInstall,
  signerKeygen,
  verifyExport,
} from "@iaca/trust";
import type { Command } from "commander";
import { openRoleKeyStore, policyOf, readInput, withDatabase } from "../context.ts";
import { CliExit, printJson } from "../output.ts";

const actorOf = (cmd: Command) => (cmd.optsWithGlobals().operator as string | undefined) ?? "svc:dts";

/** Opens the online (operations) HSM for the trust-list signer; undefined with --no-sign. */
async function openSigner(db: Database, audit: AuditLog, sign: boolean, actor: string) {
  if (!sign) return { signer: undefined, close: () => undefined };
  let hsm: KeyStore;
  try {
    hsm = await openRoleKeyStore("ds", audit, actor);
  } catch (e) {
    throw new IacaError(
      "DTS_SIGNER_UNAVAILABLE",
      `cannot open the online HSM for the trust-list signer (${(e as Error).message}); use --no-sign to publish the stored trust list as it is`,
    );
  }
  const found = await currentDtsSigner(db, hsm);
  if (!found) process.stderr.write("iaca dts: no valid trust-list signer installed; the stored trust list is served\n");
  return { signer: found?.signer, close: () => hsm.close() };
}

async function publisherFor(db: Database, policy: Policy, signer: Awaited<ReturnType<typeof openSigner>>["signer"]) {
  const publisher = new Publisher({ source: new DbSource(db.stores), policy, signer });
  await publisher.refresh();
  return publisher;
}

export function registerDts(program: Command): void {
  const dts = program
    .command("dts")
    .description("trust publication service: serve or export certificates, CRL/ARL and the signed trust list");
  registerDtsServe(dts);
  registerDtsExport(dts);
  registerDtsInstallCrl(dts);
  registerDtsInstallCerts(dts);
  registerDtsSigner(dts);
  registerDtsStatus(dts);
}

function registerDtsServe(dts: Command): void {
  dts
    .command("serve")
    .description("run the public, read-only DTS (fastify) from the operations database")
    .option("--host <host>", "listen address", "127.0.0.1")
    .option("--port <port>", "listen port", "8080")
    .option("--poll <seconds>", "reload the published set this often", "30")
    .option("--no-sign", "never re-sign the trust list (no HSM access)")
    .action(async (opts: { host: string; port: string; poll: string; sign: boolean }, cmd: Command) => {
      const policy = policyOf(cmd);
      const db = await openDatabase({ migrate: true });
      const audit = new AuditLog(db);
      const s = await openSigner(db, audit, opts.sign, "svc:dts");
      const publisher = await publisherFor(db, policy, s.signer);
      const app = createDtsApp({ publisher, pollMs: Number(opts.poll) * 1000, logger: !!process.env.IACA_DTS_LOG });
      const close = async () => {
        await app.close();
        s.close();
        await db.close();
        process.exit(0);
      };
      process.once("SIGINT", close);
      process.once("SIGTERM", close);
      const addr = await app.listen({ host: opts.host, port: Number(opts.port) });
      process.stdout.write(`iaca dts: serving ${publisher.tree?.entries.size ?? 0} files at ${addr}\n`);
      await new Promise(() => undefined);
    });
}

function registerDtsExport(dts: Command): void {
  dts
    .command("export <dir>")
    .description("write the published tree as static files with manifest.json (the same bytes the server serves)")
    .option("--no-sign", "do not re-sign the trust list (publish the stored issue as it is)")
    .action(async (dir: string, opts: { sign: boolean }, cmd: Command) => {
      const policy = policyOf(cmd);
      await withDatabase(async (db, audit) => {
        const s = await openSigner(db, audit, opts.sign, actorOf(cmd));
        try {
          const publisher = await publisherFor(db, policy, s.signer);
          const r = await exportTree(publisher.tree!, dir);
          const bad = await verifyExport(dir);
          if (bad.length)
            throw new IacaError("DTS_EXPORT_MISMATCH", `exported files differ from the manifest: ${bad.join(", ")}`);
          printJson({ dir, files: r.files, manifest: r.manifest, readiness: readiness(publisher.tree) });
        } finally {
          s.close();
        }
      });
    });
}

function registerDtsInstallCrl(dts: Command): void {
  dts
    .command("install-crl <file>")
    .description("verify (signature, issuer, number increase, profile) and publish a CRL/ARL from a root ceremony")
    .option("--kind <kind>", "crl (DS certificates) or arl (CA certificates); default from the file name")
    .option("--operator <id>", "operator recorded in the audit log")
    .action(async (file: string, opts: { kind?: string }, cmd: Command) => {
      const kind = (opts.kind ?? kindFromFileName(file)) as "crl" | "arl" | undefined;
      if (kind !== "crl" && kind !== "arl")
        throw new IacaError("CLI_USAGE", "say --kind crl or --kind arl (the file name does not end in .crl/.arl)");
      const data = readInput(file, "CRL file");
      const policy = policyOf(cmd);
      await withDatabase(async (db, audit) => {
        const r = await installCrl({ source: new DbSource(db.stores), policy, data, kind, audit, actor: actorOf(cmd) });
        printJson({
          kind: r.kind,
          rootGen: r.rootGen,
          url: revocationUrl(policy, r.kind, r.rootGen),
          number: r.number.toString(),
          previous: r.previous?.toString() ?? null,
          thisUpdate: r.thisUpdate.toISOString(),
          nextUpdate: r.nextUpdate.toISOString(),
          revoked: r.revoked,
          newlyRevoked: r.newlyRevoked,
          sha256: r.sha256,
        });
      });
    });
}

function registerDtsInstallCerts(dts: Command): void {
  dts
    .command("install-certs <files...>")
    .description("publish IACA roots and link certificates carried from the root room")
    .option("--bootstrap <sha256>", "fingerprint of the first root (only when no root is trusted yet)")
    .option("--operator <id>", "operator recorded in the audit log")
    .action(async (files: string[], opts: { bootstrap?: string }, cmd: Command) => {
      const data = files.map((f) => new Uint8Array(readInput(f, "certificate")));
      await withDatabase(async (db, audit) => {
        printJson(
          await installCaCertificates({
            db,
            audit,
            actor: actorOf(cmd),
            files: data,
            bootstrapFingerprint: opts.bootstrap,
          }),
        );
      });
    });
}

function signerRole(role: string): "tsl-signer" | "status-signer" {
  if (role === "trust-list") return "tsl-signer";
  if (role === "status") return "status-signer";
  throw new IacaError("CLI_INVALID", "--role: trust-list or status");
}

function registerDtsSigner(dts: Command): void {
  const signer = dts
    .command("signer")
    .description(
      "the trust-list signer, or with --role status the status-list signer (key in the online HSM, certificate from the IACA)",
    );
  signer
    .command("keygen")
    .description("generate the trust-list signer key in the online HSM and write the CSR for the root ceremony")
    .requiredOption("--out <file>", "CSR file (PEM) to carry to the root room")
    .option("--role <role>", "trust-list (default) or status (status-list signer, profile status-signer)", "trust-list")
    .option("--operator <id>", "operator recorded in the audit log")
    .action(async (opts: { out: string; role: string }, cmd: Command) => {
      const policy = policyOf(cmd);
      const role = signerRole(opts.role);
      await withDatabase(async (db, audit) => {
        const hsm = await openRoleKeyStore("ds", audit, actorOf(cmd));
        try {
          const r = await signerKeygen({ db, hsm, policy, audit, actor: actorOf(cmd), role });
          writeFileSync(opts.out, r.csrPem);
          printJson({ keyUri: r.keyUri, fingerprint: r.fingerprint, csr: opts.out, csrSha256: r.csrSha256 });
        } finally {
          hsm.close();
        }
      });
    });
  signer
    .command("install <cert>")
    .description("install the trust-list signer certificate issued at the root ceremony (EKU 1.0.18013.5.1.8)")
    .option("--role <role>", "trust-list (default) or status", "trust-list")
    .option("--operator <id>", "operator recorded in the audit log")
    .action(async (certFile: string, opts: { role: string }, cmd: Command) => {
      const policy = policyOf(cmd);
      const role = signerRole(opts.role);
      const data = readInput(certFile, "certificate");
      await withDatabase(async (db, audit) => {
        const hsm = await openRoleKeyStore("ds", audit, actorOf(cmd));
        try {
          printJson(await signerInstall({ db, hsm, policy, audit, actor: actorOf(cmd), data, role }));
        } finally {
          hsm.close();
        }
      });
    });
}

function registerDtsStatus(dts: Command): void {
  dts
    .command("status")
    .description(
      "what the DTS would publish now: readiness, CRL/ARL freshness, trust-list issue (exit 1 when not ready)",
    )
    .action(async (_opts: unknown, cmd: Command) => {
      const policy = policyOf(cmd);
      await withDatabase(async (db) => {
        const publisher = await publisherFor(db, policy, undefined);
        const r = readiness(publisher.tree);
        printJson({ files: publisher.tree?.entries.size ?? 0, ...r });
        if (!r.ready) throw new CliExit(1);
      });
    });
}
