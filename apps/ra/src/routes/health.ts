import type { RaRoutes } from "../context.ts";

/** Public operational routes: liveness, readiness (database and issuer), Prometheus metrics. */
export const healthRoutes: RaRoutes = async (app) => {
  const { db, issuer, metrics } = app.ra;
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
};
