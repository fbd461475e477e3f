import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import { assertJsonDepth, assertUtf8 } from "../json-limits.ts";

/**
 * Request bodies are UTF-8 JSON nested at most MAX_JSON_DEPTH levels, checked after client
 * authentication and scope and before schema validation and everything else that walks the body.
 */
export const jsonBody = fp(
  async (app: FastifyInstance) => {
    app.addHook("preValidation", async (req) => {
      if (req.body === undefined) return;
      assertUtf8(req.headers["content-type"]);
      assertJsonDepth(req.body);
    });
  },
  { name: "ra-json-body", dependencies: ["ra-client-auth"] },
);
