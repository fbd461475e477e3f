import { Agent, request } from "node:https";
import type {
  CredentialRecord,
  IssueRequest,
  IssueResult,
  IssuerApi,
  Readiness,
  RevokeResult,
  SuspendResult,
} from "@iaca/issuance";
import { IssuanceError, type IssuanceErrorCode } from "@iaca/issuance";
import { ISSUER_FAILOVER } from "./controls.ts";

export interface IssuerClientOptions {
  /** https://host:port of each issuer replica's internal API (one or more). */
  urls: string[];
  /** The RA's client certificate and key (service CA), and the service CA to verify the issuer. */
  cert: string;
  key: string;
  ca: string;
  /** Expected server name in the issuer's certificate (default: the URL's host). */
  servername?: string;
  timeoutMs?: number;
  /** How long a replica that refused a connection is tried last (default 5 s). */
  downMs?: number;
}

/**
 * Connection failures that prove the request never reached the issuer: only then is the same call
 * sent to another replica (issuer.failover). A request lost in flight (reset, timeout) is not
 * resent here; it answers issuer-unavailable and the client's retry with its Idempotency-Key goes
 * to a live replica, which abandons and audits the lost attempt's pending records first.
 */
const NOT_DELIVERED = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN"]);

/** IssuerApi over mutual TLS to one or more issuer replicas: what the RA uses when the issuer runs as its own service. */
export class IssuerClient implements IssuerApi {
  private readonly agent: Agent;
  private readonly bases: URL[];
  private readonly downUntil: number[];
  private next = 0;
  private readonly o: IssuerClientOptions;
  constructor(o: IssuerClientOptions) {
    if (o.urls.length === 0) throw new IssuanceError("ISSUER_UNAVAILABLE", "no issuer URL configured");
    this.o = o;
    this.bases = o.urls.map((u) => new URL(u));
    this.downUntil = o.urls.map(() => 0);
    this.agent = new Agent({ keepAlive: true, cert: o.cert, key: o.key, ca: o.ca, maxSockets: 64 });
  }

  /** Replicas in the order to try: round robin over those up, then those marked down. */
  private order(): number[] {
    const now = Date.now();
    const start = this.next++ % this.bases.length;
    const all = this.bases.map((_, i) => (start + i) % this.bases.length);
    return [...all.filter((i) => this.downUntil[i]! <= now), ...all.filter((i) => this.downUntil[i]! > now)];
  }

  private async call<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
    void ISSUER_FAILOVER;
    let last: unknown;
    for (const i of this.order()) {
      try {
        return await this.callOne<T>(this.bases[i]!, method, path, body);
      } catch (e) {
        const code = (e as { cause?: { code?: string } }).cause?.code;
        if (!(e instanceof IssuanceError) || !code || !NOT_DELIVERED.has(code)) throw e;
        this.downUntil[i] = Date.now() + (this.o.downMs ?? 5000);
        last = e;
      }
    }
    throw last;
  }

  private callOne<T>(base: URL, method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise<T>((resolve, reject) => {
      const req = request(
        new URL(path, base),
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
  setSuspended(req: { id: string; suspended: boolean; actor: string }): Promise<SuspendResult> {
    return this.call("POST", "/internal/v1/set-suspended", req);
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
  const err = new IssuanceError(
    "ISSUER_UNAVAILABLE",
    `the issuer service is unreachable (${(e as { code?: string }).code ?? e.message})`,
  );
  Object.defineProperty(err, "cause", { value: e });
  return err;
}
