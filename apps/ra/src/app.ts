import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { AuditLog, type Database } from "@iaca/db";
import { IssuanceError, type IssuanceMetrics, type IssuerApi } from "@iaca/issuance";
import { type AuditSink, type Policy, TLS_CIPHERS } from "@iaca/policy";
import Fastify, { type FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { ClientRegistry } from "./clients.ts";
import type { RaContext } from "./context.ts";
import {
  CLIENT_MTLS,
  CLIENT_SCOPE,
  HOLDER_IDENTITY,
  IDEMPOTENCY,
  INPUT_VALIDATION,
  RATE_LIMIT,
  STATUS,
} from "./controls.ts";
import { IdempotencyKeys } from "./idempotency.ts";
import { ProofNonces } from "./nonce.ts";
import { CredentialIssuer } from "./openid4vci/metadata.ts";
import { CredentialOffers } from "./openid4vci/offers.ts";
import { clientAuth } from "./plugins/client-auth.ts";
import { idempotency } from "./plugins/idempotency.ts";
import { jsonBody } from "./plugins/json-body.ts";
import { openapi } from "./plugins/openapi.ts";
import { problems } from "./plugins/problems.ts";
import { clientError, frameworkError } from "./problem.ts";
import type { ProofOptions } from "./proof.ts";
import { ProofWorkers } from "./proof-workers.ts";
import { offerRoutes } from "./routes/credential-offers.ts";
import { credentialRoutes, issuanceRoutes } from "./routes/credentials.ts";
import { healthRoutes } from "./routes/health.ts";
import { holderRoutes } from "./routes/holders.ts";
import { nonceRoutes } from "./routes/nonces.ts";
import { openid4vciRoutes } from "./routes/openid4vci.ts";

export const CONTROLS = [CLIENT_MTLS, CLIENT_SCOPE, IDEMPOTENCY, INPUT_VALIDATION, RATE_LIMIT, HOLDER_IDENTITY, STATUS];

export interface RaTls {
  /** Server certificate and key (PEM). */
  cert: string;
  key: string;
  /** The client CA (PEM): wallet backends' certificates must chain to it. */
  clientCa: string;
}

export interface RaOptions {
  db: Database;
  issuer: IssuerApi;
  policy: Policy;
  /** HTTPS with client certificates; without it the RA serves plain HTTP and every client call gets 401 (tests of public routes only). */
  tls?: RaTls;
  logger?: Logger | false;
  metrics?: IssuanceMetrics;
  /** Per-client requests per window (default 300 per minute). */
  rateLimit?: { max: number; timeWindowMs: number };
  /** Body limit of credential routes in bytes (default 512 KiB; others 16 KiB). */
  bodyLimit?: number;
  nonceTtlMs?: number;
  idempotency?: { instance?: string; leaseMs?: number; ttlMs?: number };
  proof?: ProofOptions;
  /** Worker threads checking proof signatures (default cores - 1, at least 1; 0: on the event loop). */
  proofWorkers?: number;
  /** Public base URL shown in the OpenAPI document. */
  publicUrl?: string;
  /**
   * The OpenID4VCI credential issuer identifier (an https URL; proofs of the credential endpoint
   * must name it as `aud`). Default: https://localhost:<the port the RA listens on>.
   */
  credentialIssuer?: string;
  /** Where the RA's own decisions (offers, tokens, notifications) are audited; default the database's audit log. */
  audit?: AuditSink;
}

/** The fastify server: HTTPS with optional client certificates, JSON only, strict schema validation. */
function server(opts: RaOptions) {
  return Fastify({
    ...(opts.tls
      ? {
          https: {
            cert: opts.tls.cert,
            key: opts.tls.key,
            ca: opts.tls.clientCa,
            requestCert: true,
            // The handshake succeeds without a certificate so the API can answer 401 as problem+json.
            rejectUnauthorized: false,
            minVersion: "TLSv1.2" as const,
            ciphers: TLS_CIPHERS,
          },
        }
      : {}),
    ...(opts.logger === false ? { logger: false } : opts.logger ? { loggerInstance: opts.logger } : { logger: false }),
    bodyLimit: opts.bodyLimit ?? 512 * 1024,
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: true, useDefaults: false } },
    return503OnClosing: true,
    frameworkErrors: frameworkError,
    clientErrorHandler: clientError,
  }).withTypeProvider<TypeBoxTypeProvider>();
}

/** Builds the RA (not listening): plugins for errors, client authentication and idempotency, then one module per resource. */
export async function buildRa(opts: RaOptions): Promise<FastifyInstance> {
  const app = server(opts);
  const proofWorkers = opts.proofWorkers === 0 ? undefined : new ProofWorkers(opts.proofWorkers);
  const ra: RaContext = {
    db: opts.db,
    issuer: opts.issuer,
    policy: opts.policy,
    clients: new ClientRegistry(opts.db.stores.clients),
    nonces: new ProofNonces(opts.db.stores.nonces, opts.nonceTtlMs ?? 5 * 60_000),
    idempotency: new IdempotencyKeys(opts.db.stores.requests, {
      instance: opts.idempotency?.instance ?? process.env.IACA_INSTANCE ?? hostname(),
      bootId: randomUUID(),
      leaseMs: opts.idempotency?.leaseMs ?? 60_000,
      ttlMs: opts.idempotency?.ttlMs ?? 24 * 3600_000,
    }),
    proof: { ...opts.proof, signatures: opts.proof?.signatures ?? proofWorkers?.check },
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
  };
  ra.openid4vci = openid4vciOf(app, opts);
  app.decorate("ra", ra);
  await app.register(problems);
  await app.register(clientAuth, opts.rateLimit ? { rateLimit: opts.rateLimit } : {});
  await app.register(jsonBody);
  if (ra.metrics) countRequests(app, ra.metrics);
  await app.register(openapi, opts.publicUrl ? { publicUrl: opts.publicUrl } : {});
  await app.register(idempotency);
  await app.register(healthRoutes);
  await app.register(nonceRoutes);
  await app.register(issuanceRoutes);
  await app.register(credentialRoutes);
  await app.register(holderRoutes);
  await app.register(offerRoutes);
  await app.register(openid4vciRoutes);
  housekeeping(app, ra, proofWorkers);
  return app as unknown as FastifyInstance;
}

/** The OpenID4VCI front's identifier (configured, or this server's https URL once it listens) and its offers. */
function openid4vciOf(app: ReturnType<typeof server>, opts: RaOptions): RaContext["openid4vci"] {
  const issuer = new CredentialIssuer(
    opts.credentialIssuer ??
      (() =>
        `${opts.tls ? "https" : "http"}://localhost:${(app.server.address() as { port?: number } | null)?.port ?? 443}`),
  );
  const audit = opts.audit ?? new AuditLog(opts.db);
  return {
    issuer,
    offers: new CredentialOffers({
      issuer,
      policy: opts.policy,
      store: opts.db.stores.offers,
      api: opts.issuer,
      audit,
    }),
  };
}

function countRequests(app: ReturnType<typeof server>, metrics: IssuanceMetrics): void {
  app.addHook("onResponse", async (req, reply) => {
    const route = req.routeOptions.url ?? "unknown";
    metrics.httpRequests.inc({ service: "ra", route, status: String(reply.statusCode) });
    metrics.httpLatency.observe(reply.elapsedTime / 1000, { service: "ra", route });
  });
}

/** Expired nonces and idempotency records go every minute; the proof workers stop with the server. */
function housekeeping(app: ReturnType<typeof server>, ra: RaContext, proofWorkers: ProofWorkers | undefined): void {
  const timer = setInterval(() => {
    ra.nonces.purge().catch(() => undefined);
    ra.idempotency.purge().catch(() => undefined);
    ra.openid4vci?.offers.expire().catch(() => undefined);
  }, 60_000);
  timer.unref();
  app.addHook("onClose", async () => {
    clearInterval(timer);
    await proofWorkers?.close();
  });
}

export { credentialStatusOf } from "./routes/credentials.ts";
export { IssuanceError };
