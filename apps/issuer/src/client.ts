import { Agent, request } from "node:https";
import type { CredentialRecord, IssueRequest, IssueResult, IssuerApi, Readiness, RevokeResult } from "@iaca/issuance";
import { IssuanceError, type IssuanceErrorCode } from "@iaca/issuance";

export interface IssuerClientOptions {
  /** https://host:port of the issuer's internal API. */
  url: string;
  /** The RA's client certificate and key (service CA), and the service CA to verify the issuer. */
  cert: string;
  key: string;
  ca: string;
  /** Expected server name in the issuer's certificate (default: the URL's host). */
  servername?: string;
  timeoutMs?: number;
}

/** IssuerApi over mutual TLS: what the RA uses when the issuer runs as its own service. */
export class IssuerClient implements IssuerApi {
  private readonly agent: Agent;
  private readonly base: URL;
  private readonly o: IssuerClientOptions;
  constructor(o: IssuerClientOptions) {
    this.o = o;
    this.base = new URL(o.url);
    this.agent = new Agent({ keepAlive: true, cert: o.cert, key: o.key, ca: o.ca, maxSockets: 64 });
  }

  private call<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise<T>((resolve, reject) => {
      const req = request(
        new URL(path, this.base),
        {
          method,
          agent: this.agent,
          ...(this.o.servername ? { servername: this.o.servername } : {}),
          headers: data ? { "content-type": "application/json", "content-length": data.length } : {},
          timeout: this.o.timeoutMs ?? 30_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            let json: unknown;
            try {
              json = text ? JSON.parse(text) : undefined;
            } catch {
              json = undefined;
            }
            if (res.statusCode && res.statusCode < 300) return resolve(json as T);
            const err = (json ?? {}) as { code?: string; message?: string; details?: Record<string, unknown> };
            reject(
              new IssuanceError(
                (err.code ?? "ISSUER_UNAVAILABLE") as IssuanceErrorCode,
                err.message ?? `issuer answered ${res.statusCode}`,
                err.details,
              ),
            );
          });
          res.on("error", (e) => reject(unavailable(e)));
        },
      );
      req.on("timeout", () => req.destroy(new Error("timeout")));
      req.on("error", (e) => reject(unavailable(e)));
      if (data) req.write(data);
      req.end();
    });
  }

  issue(req: IssueRequest): Promise<IssueResult> {
    return this.call("POST", "/internal/v1/issue", req);
  }
  revokeCredential(req: { id: string; reason: string; actor: string }): Promise<RevokeResult> {
    return this.call("POST", "/internal/v1/revoke-credential", req);
  }
  revokeHolder(req: { myNumber: string; reason: string; actor: string }): Promise<RevokeResult> {
    return this.call("POST", "/internal/v1/revoke-holder", req);
  }
  credential(req: { id: string }): Promise<CredentialRecord> {
    return this.call("POST", "/internal/v1/credential", req);
  }
  seal(req: { plaintext: string; aad: string }): Promise<{ sealed: string }> {
    return this.call("POST", "/internal/v1/seal", req);
  }
  unseal(req: { sealed: string; aad: string }): Promise<{ plaintext: string }> {
    return this.call("POST", "/internal/v1/unseal", req);
  }
  abandon(req: { requestId: string; actor: string }): Promise<{ abandoned: number }> {
    return this.call("POST", "/internal/v1/abandon", req);
  }
  readiness(): Promise<Readiness> {
    return this.call("GET", "/internal/v1/readiness");
  }
  close(): void {
    this.agent.destroy();
  }
}

function unavailable(e: Error): IssuanceError {
  return new IssuanceError(
    "ISSUER_UNAVAILABLE",
    `the issuer service is unreachable (${(e as { code?: string }).code ?? e.message})`,
  );
}
