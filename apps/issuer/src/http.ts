import { createHash } from "node:crypto";
import type { TLSSocket } from "node:tls";
import type { IssuanceMetrics, IssuerApi } from "@iaca/issuance";
import { IacaError, TLS_CIPHERS } from "@iaca/policy";
import type { Static, TSchema } from "@sinclair/typebox";
import Fastify, { type FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { INTERNAL_MTLS, INTERNAL_SCHEMA } from "./controls.ts";
import * as S from "./schemas.ts";

export interface IssuerHttpOptions {
  api: IssuerApi;
  tls: {
    cert: string;
    key: string;
    /** The service CA: the RA's client certificate must chain to it. */
    ca: string;
    /** Allowed client certificate subjects' CN (default ["iaca-ra"]) or SPKI SHA-256 pins. */
    allowedClients?: string[];
  };
  logger?: Logger | false;
  metrics?: IssuanceMetrics;
  bodyLimit?: number;
}

/** HTTP status of an error code crossing the internal API (the RA maps codes to problem types). */
export function statusOfCode(code: string): number {
  if (code === "NOT_FOUND") return 404;
  if (["CREDENTIAL_REVOKED", "REFRESH_OUTSIDE_WINDOW", "HOLDER_MISMATCH"].includes(code)) return 422;
  if (code === "CREDENTIAL_ALREADY_REFRESHED") return 409;
  if (code === "SIGNING_UNAVAILABLE" || code.startsWith("HSM_") || code.startsWith("DB_")) return 503;
  if (code === "INTERNAL") return 500;
  return 400;
}

/**
 * The issuer's internal API: the IssuerApi methods as POST /internal/v1/<method>, mutual TLS
 * with the service CA, only the RA's certificate accepted (issuer.internal.mtls).
 */
export async function buildIssuerHttp(o: IssuerHttpOptions): Promise<FastifyInstance> {
  const allowed = new Set(o.tls.allowedClients ?? ["iaca-ra"]);
  const app = Fastify({
    https: {
      cert: o.tls.cert,
      key: o.tls.key,
      ca: o.tls.ca,
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: "TLSv1.2",
      ciphers: TLS_CIPHERS,
    },
    ...(o.logger ? { loggerInstance: o.logger } : { logger: false }),
    bodyLimit: o.bodyLimit ?? 2 * 1024 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false, useDefaults: false } },
  }) as unknown as FastifyInstance;
  void INTERNAL_MTLS;

  const PUBLIC = new Set(["/healthz", "/readyz", "/metrics"]);
  app.addHook("onRequest", async (req, reply) => {
    if (PUBLIC.has(req.url.split("?")[0] ?? "")) return;
    const socket = req.raw.socket as TLSSocket;
    const cert = socket.getPeerX509Certificate?.();
    if (!cert || !socket.authorized)
      return reply.code(401).send({ code: "UNAUTHENTICATED", message: "client certificate required" });
    const cn = /(?:^|\n)CN=([^\n]+)/.exec(cert.subject)?.[1];
    const spki = createHash("sha256")
      .update(cert.publicKey.export({ type: "spki", format: "der" }))
      .digest("hex");
    if (!(cn && allowed.has(cn)) && !allowed.has(spki))
      return reply.code(403).send({ code: "FORBIDDEN", message: "this certificate may not call the issuer" });
  });

  app.setErrorHandler((e, req, reply) => {
    if ((e as { validation?: unknown }).validation || (e as { statusCode?: number }).statusCode === 400)
      return reply.code(400).send({ code: "INPUT_INVALID", message: "malformed internal request" });
    if (e instanceof IacaError) {
      const status = statusOfCode(e.code);
      const d = e.details ?? {};
      const details: Record<string, unknown> = {};
      for (const k of ["element", "rule", "index", "opens", "closes", "reasons"]) if (k in d) details[k] = d[k];
      return reply.code(status).send({ code: e.code, message: e.message, details });
    }
    req.log.error({ err: { name: (e as Error).name, message: (e as Error).message } }, "internal error");
    return reply.code(500).send({ code: "INTERNAL", message: "internal error" });
  });

  const api = o.api;
  // issuer.internal.schema: fastify validates the body against the schema before the handler runs
  const post = <S extends TSchema>(name: string, body: S, fn: (b: Static<S>) => Promise<unknown>) =>
    app.post(`/internal/v1/${name}`, { schema: { body }, config: { control: INTERNAL_SCHEMA.id } }, async (req) =>
      fn(req.body as Static<S>),
    );
  post("issue", S.InternalIssueBody, (b) => api.issue(b));
  post("revoke-credential", S.RevokeCredentialBody, (b) => api.revokeCredential(b));
  post("revoke-holder", S.RevokeHolderBody, (b) => api.revokeHolder(b));
  post("set-suspended", S.SetSuspendedBody, (b) => api.setSuspended(b));
  post("credential", S.CredentialBody, (b) => api.credential(b));
  post("seal", S.SealBody, (b) => api.seal(b));
  post("unseal", S.UnsealBody, (b) => api.unseal(b));
  post("abandon", S.AbandonBody, (b) => api.abandon(b));
  app.get("/internal/v1/readiness", async () => api.readiness());
  app.get("/healthz", async () => ({ status: "up" }));
  app.get("/readyz", async (_req, reply) => {
    const r = await api.readiness().catch(() => ({ ready: false, checks: {} }));
    return reply.code(r.ready ? 200 : 503).send(r);
  });
  if (o.metrics) {
    const m = o.metrics;
    app.get("/metrics", async (_req, reply) => reply.type("text/plain; version=0.0.4").send(await m.registry.render()));
  }
  return app;
}
