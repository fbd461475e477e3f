import swagger from "@fastify/swagger";
import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import * as S from "../schemas.ts";

/** The OpenAPI 3.1 document generated from the route schemas, at /docs/json, and a small viewer at /docs. */
export const openapi = fp<{ publicUrl?: string }>(
  async (app: FastifyInstance, opts) => {
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
    app.get("/docs/json", { config: { public: true }, schema: { hide: true } }, async () => app.swagger());
    app.get("/docs", { config: { public: true }, schema: { hide: true } }, async (_req, reply) =>
      reply.type("text/html; charset=utf-8").send(DOCS_HTML),
    );
  },
  { name: "ra-openapi" },
);

/** Response entries that point at the shared Problem schema. */
export const problemResponses = (codes: number[]) =>
  Object.fromEntries(codes.map((c) => [c, { description: "problem+json", $ref: "Problem#" }]));

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
