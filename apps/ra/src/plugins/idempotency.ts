import { randomUUID } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import { IDEMPOTENCY } from "../controls.ts";
import { requestHash } from "../idempotency.ts";
import { ProblemError } from "../problem.ts";

/** The work of an idempotent request under its request id; its answer is stored for replays. */
export type IdempotentWork = (requestId: string) => Promise<{ status: number; body: unknown }>;

declare module "fastify" {
  interface FastifyInstance {
    /**
     * Runs `work` under the request's Idempotency-Key (ra.idempotency): the same key and body
     * replay the stored answer (sealed with the issuer's HSM key), another body is 422, a request
     * still running is 409, a retry after a crash abandons the dead attempt's records first.
     * Without the header the work simply runs under a fresh request id.
     */
    idempotent(req: FastifyRequest, reply: FastifyReply, route: string, work: IdempotentWork): Promise<FastifyReply>;
  }
}

/** Who and what an idempotent run is keyed by: the client, its key, the route and the request's fingerprint. */
export interface IdempotentCall {
  clientId: string;
  key: string;
  route: string;
  bodyHash: string;
}

/**
 * The work under an Idempotency-Key: the same key and fingerprint replay the stored answer
 * (sealed with the issuer's HSM key), another fingerprint is 422, a run still going is 409, a
 * retry after a crash abandons the dead attempt's records first. Shared by the REST routes (the
 * Idempotency-Key header) and the OpenID4VCI credential endpoint (keyed by the access token's offer).
 */
export async function runIdempotent(
  ra: FastifyInstance["ra"],
  call: IdempotentCall,
  work: IdempotentWork,
): Promise<{ answer: { status: number; body: unknown }; replayed: boolean }> {
  void IDEMPOTENCY;
  const { issuer, idempotency: keys } = ra;
  const b = await keys.begin(call.clientId, call.key, call.route, call.bodyHash);
  if (b.kind === "mismatch")
    throw new ProblemError("idempotency-key-reused", "this Idempotency-Key was used with a different request");
  if (b.kind === "in-progress")
    throw new ProblemError("idempotency-in-progress", "retry later with the same Idempotency-Key");
  if (b.kind === "replay") {
    const { plaintext } = await issuer.unseal({ sealed: b.response.toString("base64url"), aad: b.id });
    return { answer: JSON.parse(plaintext), replayed: true };
  }
  if (b.kind === "retry") await issuer.abandon({ requestId: b.id, actor: `client:${call.clientId}` });
  try {
    const answer = await work(b.id);
    const { sealed } = await issuer.seal({ plaintext: JSON.stringify(answer), aad: b.id });
    await keys.complete(b.id, answer.status, Buffer.from(sealed, "base64url"));
    return { answer, replayed: false };
  } catch (e) {
    await keys.release(b.id).catch(() => undefined);
    throw e;
  }
}

export const idempotency = fp(
  async (app: FastifyInstance) => {
    app.decorate(
      "idempotent",
      async (req: FastifyRequest, reply: FastifyReply, route: string, work: IdempotentWork) => {
        const key = req.headers["idempotency-key"] as string | undefined;
        if (!key) return send(reply, await work(randomUUID()));
        const clientId = req.apiClient!.id;
        try {
          const r = await runIdempotent(app.ra, { clientId, key, route, bodyHash: requestHash(route, req.body) }, work);
          return send(r.replayed ? reply.header("idempotent-replayed", "true") : reply, r.answer);
        } catch (e) {
          if (e instanceof ProblemError && e.problem === "idempotency-in-progress") reply.header("retry-after", "1");
          throw e;
        }
      },
    );
  },
  { name: "ra-idempotency", decorators: { fastify: ["ra"] } },
);

export function send(reply: FastifyReply, answer: { status: number; body: unknown }): FastifyReply {
  return reply.code(answer.status).header("cache-control", "no-store").send(answer.body);
}
