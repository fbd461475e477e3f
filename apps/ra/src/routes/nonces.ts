import { type RaRoutes, SMALL_BODY } from "../context.ts";
import { problemResponses } from "../plugins/openapi.ts";
import * as S from "../schemas.ts";

/** POST /v1/nonce: a single-use nonce the device keys sign in their proofs of possession. */
export const nonceRoutes: RaRoutes = async (app) => {
  const { nonces } = app.ra;
  app.post(
    "/v1/nonce",
    {
      bodyLimit: SMALL_BODY,
      config: { scope: "any" },
      schema: {
        summary: "A single-use nonce for proofs of possession",
        response: { 200: S.NonceResponse, ...problemResponses([401, 403, 429]) },
      },
    },
    async (req, reply) => {
      const n = await nonces.issue(req.apiClient!.id);
      return reply.header("cache-control", "no-store").send({ nonce: n.nonce, expiresAt: n.expiresAt.toISOString() });
    },
  );
};
