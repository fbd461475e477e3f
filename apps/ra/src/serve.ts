import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import { AuditLog, type Database, openDatabase, policyLoadEvent } from "@iaca/db";
import { createDtsApp } from "@iaca/dts";
import { ClusterKeyStore, type HsmRole, hsmConfigFromEnv, KeyStore, roleConfig } from "@iaca/hsm";
import {
  Gauge,
  IssuanceMetrics,
  type IssuerApi,
  type IssuerKeyStore,
  IssuerService,
  PkiDsSource,
} from "@iaca/issuance";
import { buildIssuerHttp, IssuerClient } from "@iaca/issuer";
import { startRotationScheduler } from "@iaca/lifecycle";
import {
  authorize,
  bootstrapOperators,
  currentRoot,
  dsInstall,
  dsKeygen,
  type Room,
  rootCrl,
  rootInit,
  rootSignCsr,
} from "@iaca/pki";
import { type AuditSink, IacaError, loadPolicy, type Policy } from "@iaca/policy";
import { currentTrustListSigner, DbSource, Publisher } from "@iaca/trust";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { buildRa } from "./app.ts";
import { ClientRegistry, SCOPES, type Scope } from "./clients.ts";
import { createLogger } from "./logger.ts";
import { ensureCa, ensureCert, issueCert, type Pem } from "./tls.ts";

/** Where the TLS material lives: the client CA, the service CA and the service certificates. */
export function tlsDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.IACA_TLS_DIR || join(env.IACA_DATA_DIR || "./var", "tls"));
}
/** $IACA_RA_PROOF_WORKERS: proof-signature worker threads (0: on the event loop); a bad value stops the start. */
export function proofWorkersFromEnv(env: NodeJS.ProcessEnv): number | undefined {
  const v = env.IACA_RA_PROOF_WORKERS;
  if (v === undefined || v === "") return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 64)
    throw new IacaError("CONFIG_INVALID", `IACA_RA_PROOF_WORKERS must be an integer 0..64 (got "${v}")`);
  return n;
}

export function clientsDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.IACA_CLIENTS_DIR || join(env.IACA_DATA_DIR || "./var", "clients"));
}

export const clientCa = (dir = tlsDir()) => ensureCa(dir, "client-ca", "mdoc IACA RA client CA");
export const serviceCa = (dir = tlsDir()) => ensureCa(dir, "service-ca", "mdoc IACA service CA");

/** Creates (or re-keys) a client: key and certificate from the client CA, registered with its scopes. */
export async function addClient(
  db: Database,
  id: string,
  scopes: Scope[],
  opts: { dir?: string; days?: number } = {},
): Promise<{ dir: string; cert: string; key: string; spkiSha256: string }> {
  if (!/^[a-z0-9][a-z0-9._-]{0,63}$/.test(id)) throw new Error("client name: 1-64 of a-z 0-9 . _ -");
  const ca = await clientCa();
  const issued = await issueCert(ca, { commonName: id, usage: "client", days: opts.days ?? 397 });
  const dir = opts.dir ?? join(clientsDir(), id);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, "key.pem"), issued.keyPem, { mode: 0o600 });
  chmodSync(join(dir, "key.pem"), 0o600);
  writeFileSync(join(dir, "cert.pem"), issued.certPem);
  writeFileSync(join(dir, "ca.pem"), (await serviceCa()).certPem);
  await new ClientRegistry(db.stores.clients).upsert({
    id,
    scopes,
    spkiSha256: issued.spkiSha256,
    certSerial: issued.serial,
    certNotAfter: issued.notAfter,
  });
  return { dir, cert: join(dir, "cert.pem"), key: join(dir, "key.pem"), spkiSha256: issued.spkiSha256 };
}

async function openRole(role: HsmRole, audit: AuditSink, actor: string): Promise<KeyStore> {
  const node = roleConfig(hsmConfigFromEnv(process.env, { roles: [role] }), role).nodes[0]!;
  return KeyStore.open({ module: node.module, token: node.token, pin: node.pin, audit, actor, name: node.name });
}

/**
 * The DS HSM: one token, or, when `IACA_HSM_DS_NODES` names several, a cluster the issuer signs
 * through (an unavailable node is skipped; hsm.cluster.failover). Key administration (the demo
 * ceremony, secret keys, rotation, the trust-list signer) uses the first node; a production
 * cluster clones keys to every node by the HSM vendor's own mechanism.
 */
async function openDs(audit: AuditSink): Promise<{ admin: KeyStore; signing: IssuerKeyStore; close(): Promise<void> }> {
  const config = hsmConfigFromEnv(process.env, { roles: ["ds"] });
  const nodes = roleConfig(config, "ds").nodes;
  if (nodes.length > 1) {
    const cluster = await ClusterKeyStore.forRole(config, "ds", audit);
    // administration on the first node that opens: the service starts whenever the cluster can sign
    for (const n of nodes) {
      const admin = await cluster.node(n.name).catch(() => undefined);
      if (admin) return { admin, signing: cluster, close: () => cluster.close() };
    }
    await cluster.close();
    throw new IacaError("HSM_UNAVAILABLE", "no DS HSM node could be opened");
  }
  const ks = await openRole("ds", audit, "svc:issuer");
  return { admin: ks, signing: ks, close: () => ks.close() };
}

/**
 * The embedded default's first start: when no DS key is installed, run the demo ceremony on the
 * configured tokens and database (root init, DS key + CSR, sign, install, CRL and ARL) with two
 * throwaway operators whose secrets go to var/demo-operators.env. Never for production: the root
 * key belongs in an offline room (docs/operations.md).
 */
export async function ensureDemoPki(
  db: Database,
  policy: Policy,
  audit: AuditSink,
  dsKs: KeyStore,
  log: (s: string) => void,
): Promise<boolean> {
  if ((await db.stores.certificates.installedDocumentSigners()).length > 0) return false;
  log("no Document Signer installed: running the demo ceremony (embedded default, not for production)");
  const rootKs = await openRole("root", audit, "svc:demo");
  try {
    const opsFile = resolve(process.env.IACA_DATA_DIR || "./var", "demo-operators.env");
    const creds = [
      { id: "demo-alice", secret: randomBytes(18).toString("base64url") },
      { id: "demo-bob", secret: randomBytes(18).toString("base64url") },
    ];
    if ((await db.stores.operators.count()) === 0) {
      await bootstrapOperators({ policy, db, audit }, creds);
      mkdirSync(resolve(opsFile, ".."), { recursive: true });
      writeFileSync(
        opsFile,
        `# demo ceremony operators (iaca serve first start); never use in production\n${creds
          .map((c) => `IACA_OPERATOR_SECRET_${c.id.toUpperCase().replace(/-/g, "_")}=${c.secret}`)
          .join("\n")}\n`,
        { mode: 0o600 },
      );
    } else if (existsSync(opsFile)) {
      const env = Object.fromEntries(
        readFileSync(opsFile, "utf8")
          .split("\n")
          .filter((l) => l.startsWith("IACA_OPERATOR_SECRET_"))
          .map((l) => l.split("=") as [string, string]),
      );
      for (const c of creds)
        c.secret = env[`IACA_OPERATOR_SECRET_${c.id.toUpperCase().replace(/-/g, "_")}`] ?? c.secret;
    }
    const room = async (hsm: KeyStore, step: string): Promise<Room> => ({
      policy,
      db,
      hsm,
      audit,
      actors: await authorize(db, policy, step, creds),
    });
    let rootDer: Uint8Array;
    try {
      rootDer = new Uint8Array((await currentRoot(db)).row.der);
    } catch {
      const t0 = new Date(Date.now() - 3600_000);
      rootDer = (await rootInit(await room(rootKs, "root.init"), { at: t0 })).cert.der;
      log("demo ceremony: IACA root created");
    }
    const k = await dsKeygen(await room(dsKs, "ds.keygen"));
    const signed = await rootSignCsr(await room(rootKs, "root.sign-csr"), k.csr, {
      notBefore: new Date(Date.now() - 3600_000),
    });
    await dsInstall(await room(dsKs, "ds.install"), signed.cert.der, [rootDer], {
      activatesAt: new Date(Date.now() - 3600_000),
    });
    await rootCrl(await room(rootKs, "root.crl"), "crl");
    await rootCrl(await room(rootKs, "root.arl"), "arl");
    log(`demo ceremony: DS ${signed.serial} installed, CRL and ARL issued`);
    return true;
  } finally {
    rootKs.close();
  }
}

export interface ServeOptions {
  role?: "all" | "ra" | "issuer";
  host?: string;
  /** RA port (default $IACA_RA_PORT or 8443; 0 = any). */
  port?: number;
  /** Issuer internal API port (role issuer; default $IACA_ISSUER_PORT or 8444). */
  issuerPort?: number;
  /** Role all: DTS port (default $IACA_DTS_PORT or 8080; 0 = any). */
  dtsPort?: number;
  /** Role ra: the issuer's internal API (default $IACA_ISSUER_URL or https://127.0.0.1:8444). */
  issuerUrl?: string;
  policyFile?: string;
  /** Run the demo ceremony when no DS is installed (default: true for role all). */
  demoPki?: boolean;
  /** Create this client with every scope on first start (default "demo-wallet" for role all; false: none). */
  demoClient?: string | false;
  /** Extra DNS names / IPs for the server certificates (default $IACA_TLS_HOSTNAMES, comma-separated). */
  hostnames?: string[];
  logger?: Logger;
  log?: (line: string) => void;
}

export interface Running {
  raUrl?: string;
  /** Role all: the DTS (plain HTTP; TLS comes from the reverse proxy or CDN in production). */
  dtsUrl?: string;
  issuerUrl?: string;
  demoClient?: { id: string; dir: string; cert: string; key: string };
  ca: string;
  close(): Promise<void>;
}

function sans(hostnames: string[]) {
  const names = ["localhost", hostname(), ...hostnames];
  return {
    dns: [...new Set(names.filter((n) => !/^[\d.:]+$/.test(n)))],
    ips: [...new Set(["127.0.0.1", ...names.filter((n) => /^[\d.:]+$/.test(n))])],
  };
}

/** `iaca serve`: RA and issuer in one process (default) or one of them (docker-compose). */
export async function serve(o: ServeOptions = {}): Promise<Running> {
  const role = o.role ?? "all";
  const log = o.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  const logger = o.logger ?? createLogger({ name: `iaca-${role}` });
  const policy = loadPolicy(o.policyFile);
  const proofWorkers = proofWorkersFromEnv(process.env); // checked before anything starts
  const db = await openDatabase({ migrate: true, poolSize: Number(process.env.IACA_DB_POOL ?? 20) });
  const audit = new AuditLog(db);
  // which policy this process runs under (CP/CPS 5.4.1: loading the policy is recorded)
  const loaded = policyLoadEvent(policy, `svc:${role}`, o.policyFile ?? process.env.IACA_POLICY ?? "built-in defaults");
  await audit.append(loaded);
  if (loaded.details?.seedLimitOverride)
    logger.warn({ seedLimitOverride: loaded.details.seedLimitOverride }, "policy overrides the seed's limits");
  const dir = tlsDir();
  const svcCa = await serviceCa(dir);
  const hostnames = o.hostnames ?? (process.env.IACA_TLS_HOSTNAMES ?? "").split(",").filter(Boolean);
  const host = o.host ?? process.env.IACA_HOST ?? "127.0.0.1";
  const metrics = new IssuanceMetrics();
  const closers: (() => Promise<void> | void)[] = [];
  const running: Running = { ca: join(dir, "service-ca.crt"), close: async () => undefined };
  try {
    let issuer: IssuerApi;
    if (role === "ra") {
      const cert = await ensureCert(dir, "ra-internal", svcCa, { commonName: "iaca-ra", usage: "client" });
      const client = new IssuerClient({
        url: o.issuerUrl ?? process.env.IACA_ISSUER_URL ?? "https://127.0.0.1:8444",
        cert: cert.certPem,
        key: cert.keyPem,
        ca: svcCa.certPem,
      });
      closers.push(() => client.close());
      issuer = client;
    } else {
      const ds = await openDs(audit);
      const dsKs = ds.admin;
      closers.push(() => ds.close());
      if (o.demoPki ?? role === "all") await ensureDemoPki(db, policy, audit, dsKs, log);
      await IssuerService.ensureSecretKeys(dsKs, audit);
      const source = new PkiDsSource(db.stores.certificates);
      const service = new IssuerService({ db, keyStore: ds.signing, policy, ds: source, audit, metrics });
      service.startSweeper();
      closers.push(() => service.stop());
      metrics.registry.register(
        new Gauge("iaca_ds_usage_days_left", "days left in the usage period of each installed DS", () =>
          service.usageDaysLeft(),
        ),
      );
      metrics.registry.register(
        new Gauge("iaca_crl_next_update_days", "days until the current DS CRL's nextUpdate", async () => {
          const d = await service.crlDaysLeft();
          return d === undefined ? [] : [{ value: d }];
        }),
      );
      // The rotation job in-process (croner; $IACA_ROTATE_SCHEDULE pattern, "off" to leave it to cron).
      if (process.env.IACA_ROTATE_SCHEDULE !== "off") {
        const rotation = startRotationScheduler({
          db,
          policy,
          audit,
          hsm: dsKs,
          actor: "svc:rotate",
          pattern: process.env.IACA_ROTATE_SCHEDULE || undefined,
          onResult: (r) => {
            if (r.actions.length || r.warnings.length)
              logger.info({ actions: r.actions, warnings: r.warnings, exitCode: r.exitCode }, "rotation");
          },
          onError: (e) => logger.error({ err: (e as Error).message }, "rotation failed"),
        });
        closers.push(() => rotation.stop());
        metrics.registry.register(
          new Gauge("iaca_rotation_status", "last rotation run: 0 ok, 2 ceremony due soon, 3 late", () =>
            rotation.last ? [{ value: rotation.last.exitCode }] : [],
          ),
        );
      }
      issuer = service;
      if (role === "all") {
        // The embedded database serves one process, so the all-in-one also publishes (DTS).
        const found = await currentTrustListSigner(db, dsKs);
        const publisher = new Publisher({ source: new DbSource(db.stores), policy, signer: found?.signer });
        await publisher.refresh();
        const dts = createDtsApp({ publisher, pollMs: 30_000 });
        const addr = await dts.listen({ host, port: o.dtsPort ?? Number(process.env.IACA_DTS_PORT ?? 8080) });
        closers.push(() => dts.close());
        running.dtsUrl = addr.replace("0.0.0.0", "127.0.0.1");
      }
      if (role === "issuer") {
        const cert = await ensureCert(dir, "issuer", svcCa, {
          commonName: "iaca-issuer",
          usage: "server",
          ...sans(["iaca-issuer", "issuer", ...hostnames]),
        });
        const http = await buildIssuerHttp({
          api: service,
          tls: { cert: cert.certPem, key: cert.keyPem, ca: svcCa.certPem },
          logger,
          metrics,
        });
        const port = o.issuerPort ?? Number(process.env.IACA_ISSUER_PORT ?? 8444);
        await http.listen({ host, port });
        closers.push(() => http.close());
        const actual = (http.server.address() as { port: number }).port;
        running.issuerUrl = `https://${host}:${actual}`;
      }
    }
    if (role !== "issuer") {
      const cca = await clientCa(dir);
      const cert = await ensureCert(dir, "ra", svcCa, {
        commonName: "iaca-ra",
        usage: "server",
        ...sans(["iaca-ra", "ra", ...hostnames]),
      });
      const demo = o.demoClient ?? (role === "all" ? "demo-wallet" : false);
      // (role ra: only when asked, e.g. docker compose exec ra iaca client add …)
      if (demo) {
        const existing = await new ClientRegistry(db.stores.clients).get(demo);
        const cdir = join(clientsDir(), demo);
        if (!existing || !existsSync(join(cdir, "cert.pem"))) await addClient(db, demo, [...SCOPES], { dir: cdir });
        running.demoClient = { id: demo, dir: cdir, cert: join(cdir, "cert.pem"), key: join(cdir, "key.pem") };
      }
      const ra: FastifyInstance = await buildRa({
        db,
        issuer,
        policy,
        tls: { cert: cert.certPem, key: cert.keyPem, clientCa: cca.certPem },
        logger,
        metrics,
        ...(process.env.IACA_RATE_LIMIT
          ? { rateLimit: { max: Number(process.env.IACA_RATE_LIMIT), timeWindowMs: 60_000 } }
          : {}),
        ...(proofWorkers !== undefined ? { proofWorkers } : {}),
      });
      const port = o.port ?? Number(process.env.IACA_RA_PORT ?? 8443);
      await ra.listen({ host, port });
      closers.push(() => ra.close());
      running.raUrl = `https://${host === "0.0.0.0" ? "127.0.0.1" : host}:${(ra.server.address() as { port: number }).port}`;
    }
  } catch (e) {
    for (const c of closers.reverse()) await c();
    await db.close();
    throw e;
  }
  running.close = async () => {
    for (const c of closers.reverse()) await c();
    await db.close();
  };
  return running;
}

export type { Pem };
