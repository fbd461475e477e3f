import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import { errorHandler, sendProblem } from "../problem.ts";

/**
 * problem+json for every error: one error handler (schema failures, typed errors, anything else as
 * `internal` without a stack) and the 404 handler. The path is named in the detail, never the body.
 */
export const problems = fp(
  async (app: FastifyInstance) => {
    app.setErrorHandler(errorHandler);
    // JSON only: anything else is 415 (fastify also parses text/plain by default)
    app.removeContentTypeParser("text/plain");
    app.setNotFoundHandler((req, reply) =>
      sendProblem(reply, "not-found", `no route ${req.method} ${req.url.split("?")[0]}`),
    );
  },
  { name: "ra-problems" },
);
