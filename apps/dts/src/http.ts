import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { ListFreshness, PublishedTree, Publisher, TreeEntry, TreeList } from "@iaca/trust";
import { listNeeded, PATHS } from "@iaca/trust";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { DTS_CACHE_BOUNDED, DTS_CRL_NEVER_STALE, DTS_CRL_WARN_BEFORE, DTS_READ_ONLY } from "./controls.ts";

export interface DtsAppOptions {
  publisher: Publisher;
  /** Upper bound of max-age for everything that is not content-addressed (default 3600 s). */
  maxAgeSeconds?: number;
  /** max-age of content-addressed certificate files (default 86400 s). */
  immutableMaxAgeSeconds?: number;
  /** Poll the source this often (ms); 0 disables (tests call publisher.refresh()). Default 30 s. */
  pollMs?: number;
  logger?: boolean;
}

const PROBLEM = "application/problem+json";
const CORS = {
  "access-control-allow-origin": "*",
  "access-control-expose-headers": "ETag, Last-Modified, Cache-Control, Warning, DTS-Freshness, Content-Length",
};

function problem(reply: FastifyReply, status: number, title: string, detail?: string): FastifyReply {
  return reply
    .code(status)
    .headers({ "content-type": PROBLEM, "cache-control": "no-store", ...CORS })
    .send(Buffer.from(JSON.stringify({ type: "about:blank", title, status, ...(detail ? { detail } : {}) })));
}

const secondsUntil = (d: Date | undefined, now: number) =>
  d ? Math.floor((d.getTime() - now) / 1000) : Number.POSITIVE_INFINITY;

/**
 * Cache-Control for an entry: content-addressed certificates are immutable; everything else is
 * bounded by the nextUpdate of the list it depends on and never reaches past it (control
 * dts.cache.bounded-by-next-update), and by the next status transition of the tree.
 */
export function cacheControl(tree: PublishedTree, e: TreeEntry, now: number, maxAge: number, immutableMaxAge: number) {
  void DTS_CACHE_BOUNDED;
  if (e.cache === "immutable") return `public, max-age=${immutableMaxAge}, immutable`;
  if (e.statusCache) {
    const s = Math.min(e.statusCache.ttl, secondsUntil(e.statusCache.expiresAt, now));
    return s > 0 ? `public, max-age=${s}` : "public, max-age=0, must-revalidate";
  }
  const bounds = e.freshness
    ? [e.freshness.nextUpdate]
    : [...neededLists(tree).map((l) => l.freshness.nextUpdate), tree.changesAt];
  const s = Math.min(maxAge, ...bounds.map((d) => secondsUntil(d, now)));
  return s > 0 ? `public, max-age=${s}` : "public, max-age=0, must-revalidate";
}

/** The freshness that applies to an entry (expired CRL/ARL get a Warning header, never presented as current). */
function entryFreshness(tree: PublishedTree, e: TreeEntry): ListFreshness | undefined {
  if (e.freshness) return e.freshness;
  if (e.path === PATHS.trustJson || e.path === PATHS.trustList || e.path === PATHS.index)
    return neededLists(tree).find((l) => l.freshness.state === "expired")?.freshness;
  return undefined;
}

/** The lists that must be current now: a valid certificate names them (older keys' lists too). */
function neededLists(tree: PublishedTree): TreeList[] {
  return tree.lists.filter((l) => listNeeded(l, tree.at));
}

/** "crl" / "arl" for the newest key's lists (as before re-keys), "crl g1" for an older key's. */
function listName(tree: PublishedTree, l: TreeList): string {
  const newest = Math.max(...tree.lists.filter((x) => x.kind === l.kind).map((x) => x.gen));
  return l.gen === newest ? l.kind : `${l.kind} g${l.gen}`;
}

function etagMatches(header: string, etag: string): boolean {
  if (header.trim() === "*") return true;
  for (const part of header.split(",")) {
    const t = part.trim().replace(/^W\//, "");
    if (t === etag) return true;
  }
  return false;
}

const WARNING_EXPIRED = '110 - "Revocation list nextUpdate has passed; not current"';

/**
 * Answers a GET/HEAD for a published file straight from the tree: exact path lookup (so "..",
 * encoded separators and anything else not published never match), validators, conditional GET,
 * bounded Cache-Control, CORS, freshness warning. Returns false when it did not answer (the caller
 * then produces the problem+json response).
 */
export function treeResponder(publisher: Publisher, maxAge: number, immutableMaxAge: number) {
  // Response headers of an entry depend on the tree and the current second only (Cache-Control
  // counts down to nextUpdate): computed once per entry and second, then reused as raw arrays.
  const cache = new WeakMap<TreeEntry, { tree: PublishedTree; sec: number; ok: string[]; notModified: string[] }>();
  const headersFor = (tree: PublishedTree, e: TreeEntry, now: number) => {
    const sec = Math.floor(now / 1000);
    const hit = cache.get(e);
    if (hit && hit.tree === tree && hit.sec === sec) return hit;
    const common = [
      "ETag",
      e.etag,
      "Last-Modified",
      e.lastModifiedHttp,
      "Cache-Control",
      cacheControl(tree, e, now, maxAge, immutableMaxAge),
      "X-Content-Type-Options",
      "nosniff",
      "Access-Control-Allow-Origin",
      CORS["access-control-allow-origin"],
      "Access-Control-Expose-Headers",
      CORS["access-control-expose-headers"],
    ];
    const f = entryFreshness(tree, e);
    if (f) {
      common.push("DTS-Freshness", f.state);
      if (f.state === "expired") {
        void DTS_CRL_NEVER_STALE;
        common.push("Warning", WARNING_EXPIRED);
      }
    }
    const v = {
      tree,
      sec,
      ok: ["Content-Type", e.contentType, "Content-Length", String(e.bytes.length), ...common],
      notModified: common,
    };
    cache.set(e, v);
    return v;
  };
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    const method = req.method;
    if (method !== "GET" && method !== "HEAD") return false;
    const tree = publisher.tree;
    if (!tree) return false;
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    let path = q === -1 ? url : url.slice(0, q);
    if (path === "/") path = PATHS.index;
    const e = tree.entries.get(path);
    if (!e) return false;
    const h = headersFor(tree, e, publisher.clock().getTime());
    const inm = req.headers["if-none-match"];
    const ims = req.headers["if-modified-since"];
    const notModified =
      typeof inm === "string"
        ? etagMatches(inm, e.etag)
        : typeof ims === "string" && Date.parse(ims) >= e.lastModified.getTime();
    if (notModified) {
      res.writeHead(304, h.notModified);
      res.end();
      return true;
    }
    res.writeHead(200, h.ok);
    res.end(method === "HEAD" ? undefined : e.bytes);
    return true;
  };
}

/** The fastify app: public, read-only, everything served from the in-memory published tree. */
export function createDtsApp(opts: DtsAppOptions): FastifyInstance {
  const { publisher } = opts;
  const maxAge = opts.maxAgeSeconds ?? 3600;
  const immutableMaxAge = opts.immutableMaxAgeSeconds ?? 86_400;
  const app = Fastify({
    // Published files are answered before fastify's routing (same responder as the fastify route
    // below, which inject() and misses go through); everything else is fastify's.
    serverFactory: (handler) => {
      const fast = treeResponder(publisher, maxAge, immutableMaxAge);
      return createServer((req, res) => {
        if (!fast(req, res)) handler(req, res);
      });
    },
    logger: opts.logger ?? false,
    exposeHeadRoutes: false,
    return503OnClosing: true,
    frameworkErrors: (err, _req, reply) => {
      problem(reply, 400, "Bad Request", err.code === "FST_ERR_BAD_URL" ? "malformed URL" : undefined);
    },
  });

  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", (_req, _payload, done) => done(null, undefined));

  app.setErrorHandler((err: { statusCode?: number }, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) req.log.error({ err }, "dts internal error");
    problem(reply, status, status === 500 ? "Internal Server Error" : "Bad Request");
  });
  void DTS_READ_ONLY;
  // Any other method (TRACE, PROPFIND, ...) on any path is 405 with Allow, not "not found".
  app.setNotFoundHandler((req, reply) =>
    ["GET", "HEAD", "OPTIONS"].includes(req.method)
      ? problem(reply, 404, "Not Found", "no such published file")
      : problem(reply.header("allow", "GET, HEAD, OPTIONS"), 405, "Method Not Allowed", "the DTS is read-only"),
  );

  const respond = treeResponder(publisher, maxAge, immutableMaxAge);
  const serve = (req: FastifyRequest, reply: FastifyReply) => {
    if (!publisher.tree) return problem(reply, 503, "Service Unavailable", "the published set is not loaded yet");
    if (!respond(req.raw, reply.raw)) return problem(reply, 404, "Not Found", "no such published file");
    reply.hijack();
  };

  operationalRoutes(app, publisher);
  publicationRoutes(app, serve);

  if (opts.pollMs !== 0) {
    const timer = setInterval(() => {
      publisher.refresh().catch((err) => app.log.error({ err }, "dts refresh failed"));
    }, opts.pollMs ?? 30_000);
    timer.unref();
    app.addHook("onClose", async () => clearInterval(timer));
  }
  return app;
}

/** Liveness, readiness (CRL/ARL freshness, trust list) and Prometheus text: never cached. */
function operationalRoutes(app: FastifyInstance, publisher: Publisher): void {
  app.get("/healthz", (_req, reply) => reply.header("cache-control", "no-store").send({ status: "ok" }));

  app.get("/readyz", (_req, reply) => {
    const tree = publisher.tree;
    const r = readiness(tree);
    reply
      .code(r.ready ? 200 : 503)
      .header("cache-control", "no-store")
      .send(r);
  });

  app.get("/metrics", (_req, reply) => {
    reply
      .header("content-type", "text/plain; version=0.0.4; charset=utf-8")
      .header("cache-control", "no-store")
      .send(metrics(publisher.tree, publisher.clock()));
  });
}

/** The published tree for GET/HEAD, CORS preflight, and 405 for every method that would write. */
function publicationRoutes(app: FastifyInstance, serve: (req: FastifyRequest, reply: FastifyReply) => unknown): void {
  app.route({ method: ["GET", "HEAD"], url: "/", handler: serve });
  app.route({ method: ["GET", "HEAD"], url: "/*", handler: serve });
  app.route({
    method: "OPTIONS",
    url: "/*",
    handler: (_req, reply) =>
      reply
        .code(204)
        .headers({
          ...CORS,
          "access-control-allow-methods": "GET, HEAD, OPTIONS",
          "access-control-allow-headers": "If-None-Match, If-Modified-Since, Range",
          "access-control-max-age": "86400",
          allow: "GET, HEAD, OPTIONS",
        })
        .send(),
  });
  app.route({
    method: ["POST", "PUT", "DELETE", "PATCH"],
    url: "/*",
    handler: (_req, reply) =>
      problem(reply.header("allow", "GET, HEAD, OPTIONS"), 405, "Method Not Allowed", "the DTS is read-only"),
  });
}

export interface DtsReadiness {
  ready: boolean;
  warnings: string[];
  crl: { state: string; hoursLeft: number | null; nextUpdate: string | null };
  arl: { state: string; hoursLeft: number | null; nextUpdate: string | null };
  trustList: { issueId: number | null };
}

/**
 * Ready when the tree is loaded and neither list is missing or past nextUpdate (control
 * dts.crl.never-stale); within warnBefore of nextUpdate it stays ready but warns (control
 * dts.crl.warn-before-next-update: a root ceremony is needed to issue the next list).
 */
export function readiness(tree: PublishedTree | undefined): DtsReadiness {
  const show = (f: ListFreshness | undefined) => ({
    state: f?.state ?? "missing",
    hoursLeft: f?.hoursLeft === undefined ? null : Math.round(f.hoursLeft * 100) / 100,
    nextUpdate: f?.nextUpdate?.toISOString() ?? null,
  });
  const warnings: string[] = [];
  let ready = !!tree;
  if (!tree) warnings.push("published set not loaded");
  const checked: [string, ListFreshness][] = tree
    ? [
        ["crl", tree.crl],
        ["arl", tree.arl],
        ...neededLists(tree)
          .filter((l) => listName(tree, l).includes(" "))
          .map((l): [string, ListFreshness] => [listName(tree, l), l.freshness]),
      ]
    : [];
  for (const [name, f] of checked) {
    if (f.state === "expired" || f.state === "missing") {
      void DTS_CRL_NEVER_STALE;
      ready = false;
      warnings.push(f.state === "missing" ? `${name}: not installed` : `${name}: nextUpdate has passed`);
    } else if (f.state === "warning") {
      void DTS_CRL_WARN_BEFORE;
      warnings.push(
        `${name}: nextUpdate in ${Math.floor(f.hoursLeft ?? 0)} h and no newer list installed; a root ceremony is due`,
      );
    }
  }
  if (tree) warnings.push(...tree.signerWarnings);
  const tl = tree?.set.trustList;
  if (tree && !tl) warnings.push("trust list: not signed yet (no trust-list signer installed?)");
  if (tl?.nextUpdate && tl.nextUpdate.getTime() <= tree!.at.getTime())
    warnings.push("trust list: nextUpdate has passed; install a new CRL/ARL so it is re-signed");
  // an expired status list token tells verifiers nothing: not ready (the status publisher is down)
  for (const s of tree?.set.statusLists ?? [])
    if (s.expiresAt.getTime() <= tree!.at.getTime()) {
      ready = false;
      warnings.push(
        `status list ${s.listNo}: the token expired at ${s.expiresAt.toISOString()}; is the status publisher running?`,
      );
    }
  return {
    ready,
    warnings,
    crl: show(tree?.crl),
    arl: show(tree?.arl),
    trustList: { issueId: tree?.set.trustList?.issueId ?? null },
  };
}

/** Prometheus text exposition. */
export function metrics(tree: PublishedTree | undefined, now: Date): string {
  const lines: string[] = [];
  const gauge = (name: string, help: string, samples: [string, number][]) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
    for (const [labels, v] of samples) lines.push(`${name}${labels} ${Number.isFinite(v) ? v : "NaN"}`);
  };
  const r = readiness(tree);
  gauge("dts_ready", "1 when /readyz is true", [["", r.ready ? 1 : 0]]);
  if (tree) {
    const lists = tree.lists.map((l): [string, TreeList] => [`{list="${l.kind}",root_generation="${l.gen}"}`, l]);
    gauge(
      "dts_revocation_list_hours_left",
      "hours until nextUpdate of the installed CRL/ARL of each root key (negative once passed)",
      lists
        .filter(([, l]) => l.freshness.nextUpdate)
        .map(([n, l]) => [n, (l.freshness.nextUpdate!.getTime() - now.getTime()) / 3_600_000]),
    );
    gauge(
      "dts_revocation_list_warning",
      "1 when a list a valid certificate names is within policy.revocation.warnBefore of nextUpdate or past it",
      lists.map(([n, l]) => [n, listNeeded(l, now) && l.freshness.state !== "current" ? 1 : 0]),
    );
    gauge(
      "dts_revocation_list_expired",
      "1 when a list a valid certificate names is past nextUpdate or not installed",
      lists.map(([n, l]) => [
        n,
        listNeeded(l, now) && (l.freshness.state === "expired" || l.freshness.state === "missing") ? 1 : 0,
      ]),
    );
    gauge(
      "dts_revocation_list_number",
      "CRL number of the installed list",
      lists.filter(([, l]) => l.info).map(([n, l]) => [n, Number(l.info!.number ?? Number.NaN)]),
    );
    gauge("dts_trust_list_issue_id", "vicalIssueID of the published trust list", [
      ["", tree.set.trustList?.issueId ?? 0],
    ]);
    const tlNext = tree.set.trustList?.nextUpdate;
    gauge(
      "dts_trust_list_hours_left",
      "hours until the published trust list's nextUpdate (negative once passed; NaN when none is published)",
      [["", tlNext ? (tlNext.getTime() - now.getTime()) / 3_600_000 : Number.NaN]],
    );
    gauge(
      "dts_status_list_hours_left",
      "hours until the exp of each published status list token (negative once passed)",
      tree.set.statusLists.map((s) => [`{list="${s.listNo}"}`, (s.expiresAt.getTime() - now.getTime()) / 3_600_000]),
    );
    gauge("dts_published_files", "files in the published tree", [["", tree.entries.size]]);
  }
  return `${lines.join("\n")}\n`;
}
