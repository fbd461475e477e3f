// `iaca serve` wiring: the composition root of the online services. It opens the database, the
// HSM and the TLS material, builds the issuer service, the rotation job, the DTS and the RA from
// their packages and apps, and starts the roles asked for.
import { existsSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { AuditLog, type Database, openDatabase, policyLoadEvent } from "@iaca/db";
import { createDtsApp } from "@iaca/dts";
import type { KeyStore } from "@iaca/hsm";
import {
  Gauge,
  IssuanceMetrics,
  type IssuerApi,
  type IssuerKeyStore,
  IssuerService,
  type IssuerServiceOptions,
  PkiDsSource,
} from "@iaca/issuance";
import { buildIssuerHttp, IssuerClient } from "@iaca/issuer";
import { auditCheckpointKey, startAuditCheckpoints, startRotationScheduler } from "@iaca/lifecycle";
import { IacaError, loadPolicy, type Policy } from "@iaca/policy";
import {
  addClient,
  buildRa,
  ClientRegistry,
  clientCa,
  clientsDir,
  createLogger,
  ensureCert,
  type Pem,
  proofWorkersFromEnv,
  SCOPES,
  serviceCa,
  tlsDir,
} from "@iaca/ra";
import { currentDtsSigner, DbSource, Publisher, startStatusPublisher, statusPassMs } from "@iaca/trust";
import type { Logger } from "pino";
import { auditCheckpointFile } from "../data-dir.ts";
import { ensureDemoPki, ensureDemoStatusSigner } from "./demo-pki.ts";
import { openDs } from "./hsm.ts";

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
  /** Test-only fault injection into the issuance pipeline (crash tests); the CLI never sets it. */
  faults?: IssuerServiceOptions["faults"];
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

/** What every part of one serving process shares. */
interface Ctx {
  o: ServeOptions;
  role: "all" | "ra" | "issuer";
  policy: Policy;
  db: Database;
  audit: AuditLog;
  logger: Logger;
  log: (s: string) => void;
  dir: string;
  svcCa: Pem;
  hostnames: string[];
  host: string;
  metrics: IssuanceMetrics;
  /** $IACA_RA_PROOF_WORKERS, checked before anything opens. */
  proofWorkers: number | undefined;
  closers: (() => Promise<void> | void)[];
  running: Running;
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
  const ctx = await open(o);
  const { role, closers, db } = ctx;
  try {
    let issuer: IssuerApi;
    if (role === "ra") issuer = await issuerClient(ctx);
    else {
      const { service, signing } = await startIssuer(ctx);
      issuer = service;
      if (role === "all") await startDts(ctx, signing);
      if (role === "issuer") await startIssuerHttp(ctx, service);
    }
    if (role !== "issuer") await startRa(ctx, issuer);
  } catch (e) {
    for (const c of closers.reverse()) await c();
    await db.close();
    throw e;
  }
  ctx.running.close = async () => {
    for (const c of closers.reverse()) await c();
    await db.close();
  };
  return ctx.running;
}

/** Policy, database (migrated), the policy-load audit event (CP/CPS 5.4.1) and the service CA. */
async function open(o: ServeOptions): Promise<Ctx> {
  const role = o.role ?? "all";
  const logger = o.logger ?? createLogger({ name: `iaca-${role}` });
  const policy = loadPolicy(o.policyFile);
  const proofWorkers = proofWorkersFromEnv(process.env); // a bad value stops the start before anything opens
  const db = await openDatabase({ migrate: true, poolSize: Number(process.env.IACA_DB_POOL ?? 20) });
  const audit = new AuditLog(db);
  const loaded = policyLoadEvent(policy, `svc:${role}`, o.policyFile ?? process.env.IACA_POLICY ?? "built-in defaults");
  await audit.append(loaded);
  if (loaded.details?.seedLimitOverride)
    logger.warn({ seedLimitOverride: loaded.details.seedLimitOverride }, "policy overrides the seed's limits");
  const dir = tlsDir();
  return {
    o,
    role,
    policy,
    db,
    audit,
    logger,
    log: o.log ?? ((s: string) => process.stderr.write(`${s}\n`)),
    dir,
    svcCa: await serviceCa(dir),
    hostnames: o.hostnames ?? (process.env.IACA_TLS_HOSTNAMES ?? "").split(",").filter(Boolean),
    host: o.host ?? process.env.IACA_HOST ?? "127.0.0.1",
    metrics: new IssuanceMetrics(),
    proofWorkers,
    closers: [],
    running: { ca: join(dir, "service-ca.crt"), close: async () => undefined },
  };
}

/** Role ra: the issuer is another process, reached over mutual TLS. */
async function issuerClient(ctx: Ctx): Promise<IssuerApi> {
  const cert = await ensureCert(ctx.dir, "ra-internal", ctx.svcCa, { commonName: "iaca-ra", usage: "client" });
  const client = new IssuerClient({
    // several replicas: a comma-separated list (issuer.failover)
    urls: (ctx.o.issuerUrl ?? process.env.IACA_ISSUER_URL ?? "https://127.0.0.1:8444")
      .split(",")
      .map((u) => u.trim())
      .filter(Boolean),
    cert: cert.certPem,
    key: cert.keyPem,
    ca: ctx.svcCa.certPem,
  });
  ctx.closers.push(() => client.close());
  return client;
}

/** The Document Signer service on the DS HSM, its gauges and the in-process rotation job. */
async function startIssuer(ctx: Ctx): Promise<{ service: IssuerService; dsKs: KeyStore; signing: IssuerKeyStore }> {
  const { db, policy, audit, metrics, closers, o } = ctx;
  const ds = await openDs(audit);
  closers.push(() => ds.close());
  const demo = o.demoPki ?? ctx.role === "all";
  if (demo) {
    await ensureDemoPki(db, policy, audit, ds.admin, ctx.log);
    await ensureDemoStatusSigner(db, policy, audit, ds.admin, ctx.log);
  }
  await startCheckpoints(ctx, ds.admin, demo);
  await IssuerService.ensureSecretKeys(ds.admin, audit);
  const source = new PkiDsSource(db.stores.certificates);
  const service = new IssuerService({
    db,
    keyStore: ds.signing,
    policy,
    ds: source,
    audit,
    metrics,
    ...(o.faults ? { faults: o.faults } : {}),
  });
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
  if (process.env.IACA_ROTATE_SCHEDULE !== "off") startRotation(ctx, ds.admin, ds.signing);
  startStatusPublishing(ctx, ds.signing);
  return { service, dsKs: ds.admin, signing: ds.signing };
}

/**
 * Signed audit checkpoints every $IACA_AUDIT_CHECKPOINT_EVERY seconds (default 60, "off"): the
 * first start on embedded defaults creates the key as it creates the demo PKI; in production it
 * comes from `iaca audit keygen`, and without it the service warns and runs without checkpoints.
 */
async function startCheckpoints(ctx: Ctx, dsKs: KeyStore, demo: boolean): Promise<void> {
  const every = process.env.IACA_AUDIT_CHECKPOINT_EVERY ?? "60";
  if (every === "off") return;
  const seconds = Number(every);
  if (!Number.isFinite(seconds) || seconds < 1)
    throw new IacaError("CONFIG_INVALID", "IACA_AUDIT_CHECKPOINT_EVERY: seconds (>= 1) or off");
  const key = await auditCheckpointKey(dsKs, { create: demo, actor: "svc:first-start" });
  if (!key) {
    ctx.logger.warn("no audit checkpoint key in the DS HSM (iaca audit keygen): the audit chain is not anchored");
    return;
  }
  const timer = startAuditCheckpoints({
    db: ctx.db,
    hsm: dsKs,
    file: auditCheckpointFile(),
    everyMs: seconds * 1000,
    onError: (e) => ctx.logger.error({ err: e.message }, "audit checkpoint failed"),
  });
  ctx.closers.push(() => timer.stop());
  ctx.metrics.registry.register(
    new Gauge("iaca_audit_checkpoint_ok", "1 when the last audit checkpoint pass succeeded", () =>
      timer.last ? [{ value: timer.last.error ? 0 : 1 }] : [],
    ),
  );
  const started = Date.now();
  ctx.metrics.registry.register(
    new Gauge("iaca_audit_checkpoint_age_seconds", "seconds since the last successful audit checkpoint pass", () => [
      { value: (Date.now() - (timer.lastOk?.getTime() ?? started)) / 1000 },
    ]),
  );
}

/**
 * The status publisher on every issuer replica (one signs at a time): a status change is in the
 * served list within policy.status.publishWithin. $IACA_STATUS_PUBLISH_EVERY (seconds) overrides
 * the pass interval, "off" leaves it to another process.
 */
function startStatusPublishing(ctx: Ctx, signing: IssuerKeyStore): void {
  const every = process.env.IACA_STATUS_PUBLISH_EVERY;
  if (every === "off") return;
  if (every !== undefined && !(Number(every) >= 1))
    throw new IacaError("CONFIG_INVALID", "IACA_STATUS_PUBLISH_EVERY: seconds (>= 1) or off");
  let warned = false;
  const publisher = startStatusPublisher({
    db: ctx.db,
    policy: ctx.policy,
    hsm: signing,
    ...(every ? { everyMs: Number(every) * 1000 } : {}),
    onResult: (r) => {
      if (r.noSigner && !warned)
        ctx.logger.warn("no status-list signer installed (iaca dts signer keygen --role status)");
      warned ||= Boolean(r.noSigner);
    },
    onError: (e) => ctx.logger.error({ err: e.message }, "status list publication failed"),
  });
  ctx.closers.push(() => publisher.stop());
  ctx.metrics.registry.register(
    new Gauge("iaca_status_publish_ok", "1 when the last status list publication pass succeeded", () =>
      publisher.last ? [{ value: publisher.last.error || publisher.last.noSigner ? 0 : 1 }] : [],
    ),
  );
}

/** The rotation job in-process (croner; $IACA_ROTATE_SCHEDULE pattern, "off" to leave it to cron). */
function startRotation(ctx: Ctx, dsKs: KeyStore, signing: IssuerKeyStore): void {
  const { logger } = ctx;
  const rotation = startRotationScheduler({
    db: ctx.db,
    policy: ctx.policy,
    audit: ctx.audit,
    hsm: dsKs,
    signing,
    actor: "svc:rotate",
    pattern: process.env.IACA_ROTATE_SCHEDULE || undefined,
    onResult: (r) => {
      if (r.actions.length || r.warnings.length)
        logger.info({ actions: r.actions, warnings: r.warnings, exitCode: r.exitCode }, "rotation");
    },
    onError: (e) => logger.error({ err: (e as Error).message }, "rotation failed"),
  });
  ctx.closers.push(() => rotation.stop());
  ctx.metrics.registry.register(
    new Gauge("iaca_rotation_status", "last rotation run: 0 ok, 2 ceremony due soon, 3 late", () =>
      rotation.last ? [{ value: rotation.last.exitCode }] : [],
    ),
  );
}

/**
 * Role all: the embedded database serves one process, so the all-in-one also publishes (DTS). The
 * trust list is signed through the same DS token or cluster the issuer signs with.
 */
async function startDts(ctx: Ctx, signing: IssuerKeyStore): Promise<void> {
  const found = await currentDtsSigner(ctx.db, signing);
  const publisher = new Publisher({ source: new DbSource(ctx.db.stores), policy: ctx.policy, signer: found?.signer });
  await publisher.refresh();
  // a status change reaches the served tree within policy.status.publishWithin (a third for each hop)
  const dts = createDtsApp({ publisher, pollMs: Math.min(30_000, statusPassMs(ctx.policy)) });
  const addr = await dts.listen({ host: ctx.host, port: ctx.o.dtsPort ?? Number(process.env.IACA_DTS_PORT ?? 8080) });
  ctx.closers.push(() => dts.close());
  ctx.running.dtsUrl = addr.replace("0.0.0.0", "127.0.0.1");
}

/** Role issuer: the internal API (mutual TLS with the service CA) for RA processes. */
async function startIssuerHttp(ctx: Ctx, service: IssuerService): Promise<void> {
  const cert = await ensureCert(ctx.dir, "issuer", ctx.svcCa, {
    commonName: "iaca-issuer",
    usage: "server",
    ...sans(["iaca-issuer", "issuer", ...ctx.hostnames]),
  });
  const http = await buildIssuerHttp({
    api: service,
    tls: { cert: cert.certPem, key: cert.keyPem, ca: ctx.svcCa.certPem },
    logger: ctx.logger,
    metrics: ctx.metrics,
  });
  await http.listen({ host: ctx.host, port: ctx.o.issuerPort ?? Number(process.env.IACA_ISSUER_PORT ?? 8444) });
  ctx.closers.push(() => http.close());
  ctx.running.issuerUrl = `https://${ctx.host}:${(http.server.address() as { port: number }).port}`;
}

/** The RA for wallet backends, and the demo client on first start (role all, or when asked). */
/**
 * $IACA_CREDENTIAL_ISSUER, the credential issuer identifier (the RA's public https URL): when set,
 * every proof JWT must carry it as `aud` (OpenID4VCI 1.0 proof type jwt; control ra.proof.audience).
 */
function credentialIssuer(): { proof?: { audience: string }; credentialIssuer?: string } {
  const id = process.env.IACA_CREDENTIAL_ISSUER;
  if (!id) return {};
  if (!/^https:\/\/[^\s/?#]+(\/[^\s?#]*)?$/.test(id))
    throw new IacaError("CONFIG_INVALID", "IACA_CREDENTIAL_ISSUER: an https URL without query or fragment");
  return { proof: { audience: id }, credentialIssuer: id };
}

/**
 * $IACA_IDEMPOTENCY_LEASE (seconds, default 60): how long a replica that took a request holds its
 * Idempotency-Key; after it died, a retry on another replica proceeds once the lease ran out. Keep
 * it above the issuer call timeout (30 s).
 */
function idempotencyLease(): { idempotency?: { leaseMs: number } } {
  const text = process.env.IACA_IDEMPOTENCY_LEASE;
  if (text === undefined) return {};
  const s = Number(text);
  if (!Number.isInteger(s) || s < 1)
    throw new IacaError("CONFIG_INVALID", "IACA_IDEMPOTENCY_LEASE: whole seconds >= 1");
  return { idempotency: { leaseMs: s * 1000 } };
}

async function startRa(ctx: Ctx, issuer: IssuerApi): Promise<void> {
  const { db, dir, role, o } = ctx;
  const cca = await clientCa(dir);
  const cert = await ensureCert(dir, "ra", ctx.svcCa, {
    commonName: "iaca-ra",
    usage: "server",
    ...sans(["iaca-ra", "ra", ...ctx.hostnames]),
  });
  const demo = o.demoClient ?? (role === "all" ? "demo-wallet" : false);
  if (demo) {
    const existing = await new ClientRegistry(db.stores.clients).get(demo);
    const cdir = join(clientsDir(), demo);
    if (!existing || !existsSync(join(cdir, "cert.pem"))) await addClient(db, demo, [...SCOPES], { dir: cdir });
    ctx.running.demoClient = { id: demo, dir: cdir, cert: join(cdir, "cert.pem"), key: join(cdir, "key.pem") };
  }
  const { proofWorkers } = ctx;
  const ra = await buildRa({
    db,
    issuer,
    policy: ctx.policy,
    tls: { cert: cert.certPem, key: cert.keyPem, clientCa: cca.certPem },
    logger: ctx.logger,
    metrics: ctx.metrics,
    ...(process.env.IACA_RATE_LIMIT
      ? { rateLimit: { max: Number(process.env.IACA_RATE_LIMIT), timeWindowMs: 60_000 } }
      : {}),
    ...idempotencyLease(),
    ...(proofWorkers !== undefined ? { proofWorkers } : {}),
    ...credentialIssuer(),
    audit: ctx.audit,
  });
  await ra.listen({ host: ctx.host, port: o.port ?? Number(process.env.IACA_RA_PORT ?? 8443) });
  ctx.closers.push(() => ra.close());
  const host = ctx.host === "0.0.0.0" ? "127.0.0.1" : ctx.host;
  ctx.running.raUrl = `https://${host}:${(ra.server.address() as { port: number }).port}`;
}
