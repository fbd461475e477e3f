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

export const idempotency = fp(
  async (app: FastifyInstance) => {
    const { issuer, idempotency: keys } = app.ra;
    app.decorate(
      "idempotent",
      async (req: FastifyRequest, reply: FastifyReply, route: string, work: IdempotentWork) => {
        void IDEMPOTENCY;
        const client = req.apiClient!;
        const key = req.headers["idempotency-key"] as string | undefined;
        if (!key) return send(reply, await work(randomUUID()));
        const b = await keys.begin(client.id, key, route, requestHash(route, req.body));
        if (b.kind === "mismatch")
          throw new ProblemError("idempotency-key-reused", "this Idempotency-Key was used with a different request");
        if (b.kind === "in-progress") {
          reply.header("retry-after", "1");
          throw new ProblemError("idempotency-in-progress", "retry later with the same Idempotency-Key");
        }
        if (b.kind === "replay") {
          const { plaintext } = await issuer.unseal({ sealed: b.response.toString("base64url"), aad: b.id });
          return send(reply.header("idempotent-replayed", "true"), JSON.parse(plaintext));
        }
        if (b.kind === "retry") await issuer.abandon({ requestId: b.id, actor: `client:${client.id}` });
        try {
          const answer = await work(b.id);
          const { sealed } = await issuer.seal({ plaintext: JSON.stringify(answer), aad: b.id });
          await keys.complete(b.id, answer.status, Buffer.from(sealed, "base64url"));
          return send(reply, answer);
        } catch (e) {
          await keys.release(b.id).catch(() => undefined);
          throw e;
        }
      },
    );
  },
  { name: "ra-idempotency", decorators: { fastify: ["ra"] } },
);

function send(reply: FastifyReply, answer: { status: number; body: unknown }): FastifyReply {
  return reply.code(answer.status).header("cache-control", "no-store").send(answer.body);
}
