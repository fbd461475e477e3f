import { createHash } from "node:crypto";
import type { TLSSocket } from "node:tls";
import rateLimit from "@fastify/rate-limit";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import { CLIENT_MTLS, CLIENT_SCOPE, RATE_LIMIT } from "../controls.ts";
import { ProblemError, problemBody, sendProblem } from "../problem.ts";

export interface ClientAuthOptions {
  /** Per-client requests per window (default 300 per minute). */
  rateLimit?: { max: number; timeWindowMs: number };
}

/**
 * Client authentication for every non-public route: the TLS client certificate must chain to the
 * client CA (ra.client.mtls) and its SPKI hash name a registered client; then the per-client rate
 * limit (ra.rate-limit) and the route's scope (ra.client.scope, before the body is validated).
 */
export const clientAuth = fp<ClientAuthOptions>(
  async (app: FastifyInstance, opts) => {
    void RATE_LIMIT; // per client (by certificate), registered below
    app.decorateRequest("apiClient", undefined);
    app.addHook("onRequest", authenticator(app));
    await app.register(rateLimit, {
      global: true,
      max: opts.rateLimit?.max ?? 300,
      timeWindow: opts.rateLimit?.timeWindowMs ?? 60_000,
      hook: "preHandler",
      keyGenerator: (req) => (req.apiClient ? `client:${req.apiClient.id}` : `ip:${req.ip}`),
      // the wallet endpoints are not limited here: behind a load balancer every wallet would share its
      // address and one limit; the ingress limits them per source address (docs/operations.md)
      allowList: (req) => Boolean(req.routeOptions.config?.public || req.routeOptions.config?.anonymous),
      errorResponseBuilder: (_req, ctx) => {
        const body = problemBody("rate-limited", `rate limit of ${ctx.max} requests per ${ctx.after} exceeded`);
        return Object.assign(new ProblemError("rate-limited", body.detail ?? "rate limited"), { statusCode: 429 });
      },
    });
    app.addHook("preValidation", async (req, reply) => {
      void CLIENT_SCOPE;
      const scope = req.routeOptions.config?.scope;
      if (!scope || req.routeOptions.config?.public || req.routeOptions.config?.anonymous) return;
      const client = req.apiClient;
      if (!client) return sendProblem(reply, "client-unknown", "not authenticated");
      if (scope !== "any" && !client.scopes.includes(scope))
        return sendProblem(reply, "scope-missing", `this operation requires the "${scope}" scope`, { scope });
    });
  },
  { name: "ra-client-auth", decorators: { fastify: ["ra"] } },
);

/** The onRequest hook: the client of the TLS connection, or a 401 problem. */
function authenticator(app: FastifyInstance) {
  const { clients } = app.ra;
  // SPKI hash per TLS connection (keep-alive clients send many requests over one handshake)
  const spkiOf = new WeakMap<TLSSocket, string>();
  return async (req: FastifyRequest, reply: FastifyReply) => {
    void CLIENT_MTLS;
    if (req.routeOptions.config?.public || req.routeOptions.config?.anonymous) return;
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
  };
}
