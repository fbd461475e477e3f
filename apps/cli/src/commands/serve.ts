import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { applyLocalDefaults } from "../context.ts";

/** `iaca serve`: the RA and the issuer (Document Signer) on the embedded defaults, or one of them. */
export function registerServe(program: Command): void {
  program
    .command("serve")
    .description("run the RA and the issuer in one process (or --role ra|issuer); demo PKI and client on first start")
    .option("--role <role>", "all | ra | issuer", "all")
    .option("--host <host>", "listen address", process.env.IACA_HOST ?? "127.0.0.1")
    .option("--port <port>", "RA port", process.env.IACA_RA_PORT ?? "8443")
    .option("--issuer-port <port>", "issuer internal API port (role issuer)", process.env.IACA_ISSUER_PORT ?? "8444")
    .option("--issuer-url <url>", "issuer internal API (role ra)", process.env.IACA_ISSUER_URL)
    .option("--no-demo-pki", "do not run the demo ceremony when no DS is installed")
    .option("--demo-client <name>", "client created with every scope on first start (default demo-wallet for role all)")
    .action(
      async (o: {
        role: "all" | "ra" | "issuer";
        host: string;
        port: string;
        issuerPort: string;
        issuerUrl?: string;
        demoPki: boolean;
        demoClient?: string;
      }) => {
        applyLocalDefaults();
        const { serve } = await import("../serve/index.ts");
        const running = await serve({
          role: o.role,
          host: o.host,
          port: Number(o.port),
          issuerPort: Number(o.issuerPort),
          ...(o.issuerUrl ? { issuerUrl: o.issuerUrl } : {}),
          policyFile: program.opts().policy,
          demoPki: o.role === "ra" ? false : o.demoPki,
          demoClient: o.demoClient ?? (o.role === "all" ? "demo-wallet" : false),
        });
        const out = (s: string) => process.stdout.write(`${s}\n`);
        if (running.raUrl) {
          out(
            `RA       ${running.raUrl}   (OpenAPI: ${running.raUrl}/docs, health: /healthz /readyz, metrics: /metrics)`,
          );
        }
        if (running.issuerUrl) out(`issuer   ${running.issuerUrl}   (internal API, mutual TLS)`);
        if (running.dtsUrl)
          out(`DTS      ${running.dtsUrl}/   (public: certificates, CRL/ARL, trust.json, trust-list.cose)`);
        out(`CA       ${running.ca}   (server certificates; curl --cacert)`);
        const c = running.demoClient;
        if (c && running.raUrl) {
          const tls = `--cacert ${running.ca} --cert ${c.cert} --key ${c.key}`;
          out(`client   ${c.id}: cert ${c.cert}  key ${c.key}  scopes issue, refresh, revoke`);
          out("");
          out("issue an mdoc (the helper fetches a nonce and signs a proof with a fresh device key):");
          out(
            `  npx iaca client demo-request ${c.id} --url ${running.raUrl} | curl -sS ${tls} -H 'content-type: application/json' --data-binary @- ${running.raUrl}/v1/credentials`,
          );
          out(`a nonce:  curl -sS ${tls} -X POST ${running.raUrl}/v1/nonce`);
          out("");
          out(
            `or with any OpenID4VCI 1.0 wallet (metadata: ${running.raUrl}/.well-known/openid-credential-issuer; the wallet`,
          );
          out(`must trust ${running.ca}): this Credential Offer for the sample holder, good for 10 minutes,`);
          out(`  ${await sampleOffer(running, c)}`);
          out(`a new one: npx iaca client demo-offer ${c.id} --url ${running.raUrl}`);
        }
        out("ready");
        const stop = async () => {
          await running.close();
          process.exit(0);
        };
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
        await new Promise(() => undefined);
      },
    );
}

/** A Credential Offer for the sample holder from the RA just started (or why there is none). */
async function sampleOffer(running: { raUrl?: string; ca: string }, c: { cert: string; key: string }): Promise<string> {
  const { demoOffer } = await import("@iaca/ra");
  try {
    const r = await demoOffer({
      url: running.raUrl!,
      cert: readFileSync(c.cert, "utf8"),
      key: readFileSync(c.key, "utf8"),
      ca: readFileSync(running.ca, "utf8"),
    });
    return r.credentialOfferUri;
  } catch (e) {
    return `(no offer: ${(e as Error).message})`;
  }
}
