import { createHash, randomUUID } from "node:crypto";
import type { TLSSocket } from "node:tls";
import rateLimit from "@fastify/rate-limit";
import swagger from "@fastify/swagger";
import type { Database } from "@iaca/db";
import {
  type CredentialRecord,
  IssuanceError,
  type IssuanceMetrics,
  type IssueResult,
  type IssuerApi,
} from "@iaca/issuance";
import type { Policy } from "@iaca/policy";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import type { Logger } from "pino";
import { type ApiClient, ClientRegistry, type Scope } from "./clients.ts";
import {
  CLIENT_MTLS,
  CLIENT_SCOPE,
  HOLDER_IDENTITY,
  IDEMPOTENCY,
  INPUT_VALIDATION,
  RATE_LIMIT,
  STATUS,
} from "./controls.ts";
import { IdempotencyKeys, requestHash } from "./idempotency.ts";
import { ProofNonces } from "./nonce.ts";
import { errorHandler, ProblemError, problemBody, sendProblem } from "./problem.ts";
import { type ProofOptions, verifyProofs } from "./proof.ts";
import { ProofWorkers } from "./proof-workers.ts";
import * as S from "./schemas.ts";

declare module "fastify" {
  interface FastifyRequest {
    apiClient?: ApiClient;
  }
  interface FastifyContextConfig {
    scope?: Scope | "any";
    public?: boolean;
  }
}

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
}

const SMALL_BODY = 16 * 1024;

/** Builds the RA (not listening). */
export async function buildRa(opts: RaOptions): Promise<FastifyInstance> {
  return (await build(opts)) as unknown as FastifyInstance;
}

async function build(opts: RaOptions) {
  const { db, issuer, policy } = opts;
  const bodyLimit = opts.bodyLimit ?? 512 * 1024;
  const app = Fastify({
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
          },
        }
      : {}),
    ...(opts.logger === false ? { logger: false } : opts.logger ? { loggerInstance: opts.logger } : { logger: false }),
    bodyLimit,
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: true, useDefaults: false } },
    return503OnClosing: true,
  });

  const clients = new ClientRegistry(db.stores.clients);
  const nonces = new ProofNonces(db.stores.nonces, opts.nonceTtlMs ?? 5 * 60_000);
  const proofWorkers = opts.proofWorkers === 0 ? undefined : new ProofWorkers(opts.proofWorkers);
  const proofOptions: ProofOptions = { ...opts.proof, signatures: opts.proof?.signatures ?? proofWorkers?.check };
  const idem = new IdempotencyKeys(db.stores.requests, {
    instance: opts.idempotency?.instance ?? process.env.IACA_INSTANCE ?? (await import("node:os")).hostname(),
    bootId: randomUUID(),
    leaseMs: opts.idempotency?.leaseMs ?? 60_000,
    ttlMs: opts.idempotency?.ttlMs ?? 24 * 3600_000,
  });
  const metrics = opts.metrics;

  app.setErrorHandler(errorHandler);
  // JSON only: anything else is 415 (fastify also parses text/plain by default)
  app.removeContentTypeParser("text/plain");
  app.setNotFoundHandler((req, reply) =>
    sendProblem(reply, "not-found", `no route ${req.method} ${req.url.split("?")[0]}`),
  );

  // ------------------------------------------------------------------ client authentication (mTLS)
  // SPKI hash per TLS connection (keep-alive clients send many requests over one handshake)
  const spkiOf = new WeakMap<TLSSocket, string>();
  app.addHook("onRequest", async (req, reply) => {
    if (req.routeOptions.config?.public) return;
    const socket = req.raw.socket as TLSSocket;
    const known = socket.authorized ? spkiOf.get(socket) : undefined;
    if (known) {
      const c = await clients.bySpki(known);
      if (c) {
        req.apiClient = c;
        return;
      }
    }
    const cert = typeof socket.getPeerX509Certificate === "function" ? socket.getPeerX509Certificate() : undefined;
    if (!cert)
      return sendProblem(reply, "client-certificate-required", "present a client certificate issued by the client CA");
    if (!socket.authorized)
      return sendProblem(
        reply,
        "client-certificate-required",
        "the client certificate is not issued by the client CA or has expired",
      );
    const spki = createHash("sha256")
      .update(cert.publicKey.export({ type: "spki", format: "der" }))
      .digest("hex");
    // only an authorized peer's certificate is remembered for its connection (the registry lookup,
    // and its few seconds of cache, still runs on every request: a disabled client is refused)
    spkiOf.set(socket, spki);
    const client = await clients.bySpki(spki);
    if (!client) return sendProblem(reply, "client-unknown", "the client certificate is not registered");
    req.apiClient = client;
  });

  await app.register(rateLimit, {
    global: true,
    max: opts.rateLimit?.max ?? 300,
    timeWindow: opts.rateLimit?.timeWindowMs ?? 60_000,
    hook: "preHandler",
    keyGenerator: (req) => (req.apiClient ? `client:${req.apiClient.id}` : `ip:${req.ip}`),
    allowList: (req) => Boolean(req.routeOptions.config?.public),
    errorResponseBuilder: (_req, ctx) => {
      const body = problemBody("rate-limited", `rate limit of ${ctx.max} requests per ${ctx.after} exceeded`);
      return Object.assign(new ProblemError("rate-limited", body.detail ?? "rate limited"), { statusCode: 429 });
    },
  });

  // scope check after authentication, before the body is validated
  app.addHook("preValidation", async (req, reply) => {
    const scope = req.routeOptions.config?.scope;
    if (!scope || req.routeOptions.config?.public) return;
    const client = req.apiClient;
    if (!client) return sendProblem(reply, "client-unknown", "not authenticated");
    if (scope !== "any" && !client.scopes.includes(scope))
      return sendProblem(reply, "scope-missing", `this operation requires the "${scope}" scope`, { scope });
  });

  if (metrics) {
    app.addHook("onResponse", async (req, reply) => {
      const route = req.routeOptions.url ?? "unknown";
      metrics.httpRequests.inc({ service: "ra", route, status: String(reply.statusCode) });
      metrics.httpLatency.observe(reply.elapsedTime / 1000, { service: "ra", route });
    });
  }

  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "mdoc IACA RA API",
        version: "1.0.0",
        description:
          "The API wallet backends call to obtain mdocs (ISO/IEC 18013-5 IssuerSigned) for the My Number Card. " +
          "Clients authenticate with mutual TLS. Errors are RFC 9457 problem+json (type urn:iaca:problem:<slug>). See docs/api.md.",
      },
      ...(opts.publicUrl ? { servers: [{ url: opts.publicUrl }] } : {}),
      components: {
        securitySchemes: {
          mtls: { type: "mutualTLS", description: "client certificate from the client CA" } as never,
        },
      },
      security: [{ mtls: [] }],
    },
  });
  app.addSchema(S.Problem);

  const errors = (codes: number[]) =>
    Object.fromEntries(codes.map((c) => [c, { description: "problem+json", $ref: "Problem#" }]));

  // ------------------------------------------------------------------ public operational routes
  app.get("/healthz", { config: { public: true }, schema: { hide: true } }, async () => ({ status: "up" }));
  app.get("/readyz", { config: { public: true }, schema: { hide: true } }, async (_req, reply) => {
    const checks: Record<string, { ok: boolean; detail?: string }> = {};
    try {
      await db.ping();
      checks.database = { ok: true };
    } catch {
      checks.database = { ok: false, detail: "unreachable" };
    }
    try {
      const r = await issuer.readiness();
      Object.assign(checks, r.checks);
      checks.issuer = { ok: r.ready };
    } catch {
      checks.issuer = { ok: false, detail: "unreachable" };
    }
    const ready = Object.values(checks).every((c) => c.ok);
    return reply.code(ready ? 200 : 503).send({ ready, checks });
  });
  if (metrics)
    app.get("/metrics", { config: { public: true }, schema: { hide: true } }, async (_req, reply) =>
      reply.type("text/plain; version=0.0.4").send(await metrics.registry.render()),
    );
  app.get("/docs/json", { config: { public: true }, schema: { hide: true } }, async () => app.swagger());
  app.get("/docs", { config: { public: true }, schema: { hide: true } }, async (_req, reply) =>
    reply.type("text/html; charset=utf-8").send(DOCS_HTML),
  );

  // ------------------------------------------------------------------ API
  app.post(
    "/v1/nonce",
    {
      bodyLimit: SMALL_BODY,
      config: { scope: "any" },
      schema: {
        summary: "A single-use nonce for proofs of possession",
        response: { 200: S.NonceResponse, ...errors([401, 403, 429]) },
      },
    },
    async (req, reply) => {
      const n = await nonces.issue(req.apiClient!.id);
      return reply.header("cache-control", "no-store").send({ nonce: n.nonce, expiresAt: n.expiresAt.toISOString() });
    },
  );

  const maxBatch = policy.mso.maxBatch;
  /** The refresh's holder proof: valid like any proof, over the request's nonce; its key's thumbprint. */
  const verifyHolderProof = async (jwt: string, nonce: string): Promise<string> => {
    let verified: Awaited<ReturnType<typeof verifyProofs>>;
    try {
      verified = await verifyProofs([jwt], proofOptions);
    } catch (e) {
      if (e instanceof ProblemError) throw new ProblemError(e.problem, e.message.replace(/^proof 0/, "holderProof"));
      throw e;
    }
    if (verified.nonce !== nonce)
      throw new ProblemError("invalid-proof", "holderProof: must carry the same nonce as the other proofs");
    return verified.devices[0]!.thumbprint;
  };

  const issueLike = async (
    req: FastifyRequest,
    reply: FastifyReply,
    route: string,
    build: (
      requestId: string,
      devices: Awaited<ReturnType<typeof verifyProofs>>["devices"],
      holderKey: string | undefined,
    ) => Parameters<IssuerApi["issue"]>[0],
    jwts: string[],
    /** Refresh: a proof by the presented mdoc's device key over the same nonce. */
    holderProof?: string,
  ) => {
    if (jwts.length > maxBatch)
      throw new ProblemError("batch-too-large", `at most ${maxBatch} device keys per request (policy mso.maxBatch)`, {
        maxBatch,
      });
    const client = req.apiClient!;
    const key = (req.headers["idempotency-key"] as string | undefined) ?? undefined;
    let requestId: string = randomUUID();
    let tracked = false;
    if (key) {
      const b = await idem.begin(client.id, key, route, requestHash(route, req.body));
      if (b.kind === "mismatch")
        throw new ProblemError("idempotency-key-reused", "this Idempotency-Key was used with a different request");
      if (b.kind === "in-progress") {
        reply.header("retry-after", "1");
        throw new ProblemError("idempotency-in-progress", "retry later with the same Idempotency-Key");
      }
      if (b.kind === "replay") {
        const { plaintext } = await issuer.unseal({ sealed: b.response.toString("base64url"), aad: b.id });
        const stored = JSON.parse(plaintext) as { status: number; body: unknown };
        return reply
          .code(stored.status)
          .header("idempotent-replayed", "true")
          .header("cache-control", "no-store")
          .send(stored.body);
      }
      requestId = b.id;
      tracked = true;
      if (b.kind === "retry") await issuer.abandon({ requestId, actor: `client:${client.id}` });
    }
    try {
      const proofs = await verifyProofs(jwts, proofOptions);
      const holder = holderProof === undefined ? undefined : await verifyHolderProof(holderProof, proofs.nonce);
      await nonces.consume(proofs.nonce, client.id, requestId);
      const result: IssueResult = await issuer.issue(build(requestId, proofs.devices, holder));
      if (tracked) {
        const { sealed } = await issuer.seal({
          plaintext: JSON.stringify({ status: 201, body: result }),
          aad: requestId,
        });
        await idem.complete(requestId, 201, Buffer.from(sealed, "base64url"));
      }
      return reply.code(201).header("cache-control", "no-store").send(result);
    } catch (e) {
      if (tracked) await idem.release(requestId).catch(() => undefined);
      throw e;
    }
  };

  const issueResponses = { 201: S.IssueResponse, ...errors([400, 401, 403, 409, 413, 415, 422, 429, 503]) };
  app.post(
    "/v1/credentials",
    {
      config: { scope: "issue" },
      schema: {
        summary: "Issue 1..N mdocs, one per device key (unlinkable batch)",
        headers: S.IdempotencyHeader,
        body: S.IssueBody,
        response: issueResponses,
      },
    },
    async (req, reply) => {
      const body = req.body as S.IssueBody;
      const profile = resolveProfile(body, policy);
      return issueLike(
        req,
        reply,
        "POST /v1/credentials",
        (requestId, devices) => ({ requestId, clientId: req.apiClient!.id, profile, holder: body.holder, devices }),
        body.proofs.jwt,
      );
    },
  );

  app.post(
    "/v1/credentials/refresh",
    {
      config: { scope: "refresh" },
      schema: {
        summary: "Fresh mdocs for a holder from a previously issued IssuerSigned (within the refresh window)",
        headers: S.IdempotencyHeader,
        body: S.RefreshBody,
        response: issueResponses,
      },
    },
    async (req, reply) => {
      const body = req.body as S.RefreshBody;
      return issueLike(
        req,
        reply,
        "POST /v1/credentials/refresh",
        (requestId, devices, holderKey) => ({
          requestId,
          clientId: req.apiClient!.id,
          profile: "",
          holder: {},
          devices,
          refresh: { issuerSigned: body.issuerSigned, holderKeyThumbprint: holderKey! },
        }),
        body.proofs.jwt,
        body.holderProof,
      );
    },
  );

  app.get(
    "/v1/credentials/:id",
    {
      bodyLimit: SMALL_BODY,
      config: { scope: "any" },
      schema: {
        summary: "State and validity of an issued mdoc",
        params: S.IdParams,
        response: { 200: S.CredentialStatus, ...errors([401, 403, 404, 429]) },
      },
    },
    async (req) => {
      const { id } = req.params as S.IdParams;
      const client = req.apiClient!;
      // the issuer owns the records: the RA asks it, as for every other credential operation
      const record = await issuer.credential({ id }).catch((e: { code?: string }) => {
        if (e.code === "NOT_FOUND") return undefined;
        throw e;
      });
      if (!record || (record.clientId !== client.id && !client.scopes.includes("revoke")))
        throw new ProblemError("not-found", "no such credential");
      return statusOf(record);
    },
  );

  app.post(
    "/v1/credentials/:id/revoke",
    {
      bodyLimit: SMALL_BODY,
      config: { scope: "revoke" },
      schema: {
        summary: "Revoke one mdoc",
        params: S.IdParams,
        body: S.RevokeBody,
        response: { 200: S.RevokeResponse, ...errors([400, 401, 403, 404, 429]) },
      },
    },
    async (req) => {
      const { id } = req.params as S.IdParams;
      const { reason } = req.body as S.RevokeBody;
      return issuer.revokeCredential({ id, reason, actor: `client:${req.apiClient!.id}` });
    },
  );

  app.post(
    "/v1/holders/revoke",
    {
      bodyLimit: SMALL_BODY,
      config: { scope: "revoke" },
      schema: {
        summary: "Revoke every mdoc of a holder (identified by My Number; matched by HMAC)",
        body: S.HolderRevokeBody,
        response: { 200: S.RevokeResponse, ...errors([400, 401, 403, 429]) },
      },
    },
    async (req) => {
      const { myNumber, reason } = req.body as S.HolderRevokeBody;
      return issuer.revokeHolder({ myNumber, reason, actor: `client:${req.apiClient!.id}` });
    },
  );

  // housekeeping: expired nonces and idempotency records
  const timer = setInterval(() => {
    nonces.purge().catch(() => undefined);
    idem.purge().catch(() => undefined);
  }, 60_000);
  timer.unref();
  app.addHook("onClose", async () => {
    clearInterval(timer);
    await proofWorkers?.close();
  });

  return app;
}

function resolveProfile(body: S.IssueBody, policy: Policy): string {
  if (body.profile) return body.profile;
  if (body.docType) return `docType:${body.docType}`;
  return policy.profile;
}

/** A credential's state as the RA reports it, derived from the issuer's record at `now`. */
export function statusOf(record: CredentialRecord, now = new Date()) {
  const validUntil = new Date(record.validUntil);
  const state =
    record.state !== "issued"
      ? record.state
      : record.revokedAt
        ? "revoked"
        : validUntil.getTime() < now.getTime()
          ? "expired"
          : "valid";
  return {
    id: record.id,
    clientId: record.clientId,
    state,
    profile: record.profile,
    docType: record.docType,
    dsCertificateSerial: record.dsCertificateSerial,
    validFrom: new Date(record.validFrom).toISOString(),
    validUntil: validUntil.toISOString(),
    issuedAt: new Date(record.signedAt ?? record.createdAt).toISOString(),
    ...(record.revokedAt ? { revokedAt: new Date(record.revokedAt).toISOString() } : {}),
    ...(record.revocationReason ? { revocationReason: record.revocationReason } : {}),
    ...(record.refreshedFrom ? { refreshedFrom: record.refreshedFrom } : {}),
  };
}

export { IssuanceError };

const DOCS_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>mdoc IACA RA API</title>
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}code,pre{background:#f4f4f4}
h2{border-bottom:1px solid #ccc}.m{font-weight:bold;display:inline-block;width:4rem}</style></head>
<body><h1>mdoc IACA RA API</h1><p>OpenAPI 3.1: <a href="/docs/json">/docs/json</a>. Clients authenticate with mutual TLS;
errors are RFC 9457 <code>application/problem+json</code>.</p><div id="ops">loading…</div>
<script>
fetch('/docs/json').then(r=>r.json()).then(doc=>{const el=document.getElementById('ops');el.innerHTML='';
for(const [path,ops] of Object.entries(doc.paths||{}))for(const [m,op] of Object.entries(ops)){
const d=document.createElement('details');const s=document.createElement('summary');
s.innerHTML='<span class="m">'+m.toUpperCase()+'</span><code>'+path+'</code> '+(op.summary||'');d.appendChild(s);
const p=document.createElement('pre');p.textContent=JSON.stringify({requestBody:op.requestBody,responses:op.responses},null,2);
d.appendChild(p);el.appendChild(d);}});
</script></body></html>`;
