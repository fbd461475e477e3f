// The issuer's internal API over mutual TLS: only the RA's certificate from the service CA is
// accepted, and IssuerClient gives the RA the same IssuerApi as the in-process service.
import { request } from "node:https";
import { IssuanceError } from "@iaca/issuance";
import { buildIssuerHttp, IssuerClient } from "@iaca/issuer";
import { buildRa, createCa, issueCert, type Pem } from "@iaca/ra";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, issueBody, person, type Stack, startStack } from "./support/stack.ts";

let stack: Stack;
let serviceCa: Pem;
let issuerUrl: string;
let client: IssuerClient;
let close: () => Promise<void>;

beforeAll(async () => {
  stack = await startStack();
  serviceCa = await createCa("test service CA (internal)");
  const server = await issueCert(serviceCa, { commonName: "iaca-issuer", usage: "server", ips: ["127.0.0.1"] });
  const http = await buildIssuerHttp({
    api: stack.issuer,
    tls: { cert: server.certPem, key: server.keyPem, ca: serviceCa.certPem },
    metrics: stack.metrics,
  });
  await http.listen({ host: "127.0.0.1", port: 0 });
  issuerUrl = `https://127.0.0.1:${(http.server.address() as { port: number }).port}`;
  const ra = await issueCert(serviceCa, { commonName: "iaca-ra", usage: "client" });
  client = new IssuerClient({ urls: [issuerUrl], cert: ra.certPem, key: ra.keyPem, ca: serviceCa.certPem });
  close = async () => {
    client.close();
    await http.close();
  };
});
afterAll(async () => {
  await close?.();
  await stack?.close();
});

/** An RA that reaches the issuer through IssuerClient (the internal API), as `--role ra` does. */
async function remoteRa() {
  const pair = await issueCert(stack.serverCa, { commonName: "ra", usage: "server", ips: ["127.0.0.1"] });
  const app = await buildRa({
    db: stack.fresh.db,
    issuer: client,
    policy: stack.policy,
    tls: { cert: pair.certPem, key: pair.keyPem, clientCa: stack.clientCa.certPem },
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const remote = {
    url: `https://127.0.0.1:${(app.server.address() as { port: number }).port}`,
    serverCa: stack.serverCa,
  };
  return { app, remote };
}

function get(path: string, cert?: Pem): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, issuerUrl),
      { ca: serviceCa.certPem, ...(cert ? { cert: cert.certPem, key: cert.keyPem } : {}), agent: false },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

describe("issuer.internal.mtls", () => {
  it("issuer.internal.mtls: no certificate gives 401, a certificate that is not the RA's gives 403", async () => {
    expect(await get("/internal/v1/readiness")).toBe(401);
    const other = await issueCert(serviceCa, { commonName: "someone-else", usage: "client" });
    expect(await get("/internal/v1/readiness", other)).toBe(403);
    const rogueCa = await createCa("rogue");
    const rogue = await issueCert(rogueCa, { commonName: "iaca-ra", usage: "client" });
    expect(await get("/internal/v1/readiness", rogue)).toBe(401);
    expect(await get("/healthz")).toBe(200);
  });

  it("IssuerClient: readiness, sealing and errors with their codes cross the wire", async () => {
    expect((await client.readiness()).ready).toBe(true);
    const { sealed } = await client.seal({ plaintext: "hello", aad: "req-1" });
    expect((await client.unseal({ sealed, aad: "req-1" })).plaintext).toBe("hello");
    await expect(client.unseal({ sealed, aad: "req-2" })).rejects.toMatchObject({ code: "HSM_DECRYPT_FAILED" });
    const e = await client
      .revokeCredential({ id: "00000000-0000-4000-8000-000000000000", reason: "other", actor: "t" })
      .catch((x) => x);
    expect(e).toBeInstanceOf(IssuanceError);
    expect(e.code).toBe("NOT_FOUND");
  });

  it("issuer.failover: a replica that refuses connections is skipped; with none reachable the call is issuer-unavailable", async () => {
    const ra = await issueCert(serviceCa, { commonName: "iaca-ra", usage: "client" });
    const tls = { cert: ra.certPem, key: ra.keyPem, ca: serviceCa.certPem };
    const two = new IssuerClient({ urls: ["https://127.0.0.1:1", issuerUrl], ...tls });
    try {
      for (let i = 0; i < 4; i++) expect((await two.readiness()).ready).toBe(true);
    } finally {
      two.close();
    }
    const none = new IssuerClient({ urls: ["https://127.0.0.1:1", "https://127.0.0.1:2"], ...tls });
    try {
      await expect(none.readiness()).rejects.toMatchObject({ code: "ISSUER_UNAVAILABLE" });
    } finally {
      none.close();
    }
  });

  it("issuer.internal.schema: a malformed or over-complete body is refused before the service sees it", async () => {
    const bad = [
      { requestId: 5 },
      { id: "00000000-0000-4000-8000-000000000000", reason: "other", actor: "t", extra: true },
    ];
    await expect(client.issue(bad[0] as never)).rejects.toMatchObject({ code: "INPUT_INVALID" });
    await expect(client.revokeCredential(bad[1] as never)).rejects.toMatchObject({ code: "INPUT_INVALID" });
    await expect(
      client.seal({ plaintext: "x", aad: "" }),
      "an empty associated-data string is not a request id",
    ).rejects.toMatchObject({ code: "INPUT_INVALID" });
  });

  it("the RA issues through the internal API exactly as in-process", async () => {
    const { app, remote } = await remoteRa();
    try {
      const wallet = await stack.addClient("wallet-remote", ["issue"]);
      const { body } = await issueBody({ ...stack, ...remote } as Stack, wallet, person(31), 3);
      const r = await call<{ credentials: unknown[] }>(remote, wallet, "POST", "/v1/credentials", body, {
        "idempotency-key": "remote-key-0001",
      });
      expect(r.status, r.text).toBe(201);
      expect(r.json.credentials).toHaveLength(3);
      const again = await call<{ credentials: unknown[] }>(remote, wallet, "POST", "/v1/credentials", body, {
        "idempotency-key": "remote-key-0001",
      });
      expect(again.json).toEqual(r.json);
    } finally {
      await app.close();
    }
  });

  it("the RA reads a credential's state through the internal API, as in-process; an unknown id is not found", async () => {
    const { app, remote } = await remoteRa();
    try {
      const wallet = await stack.addClient("wallet-status", ["issue"]);
      const { body } = await issueBody(stack, wallet, person(32), 1);
      const issued = await call<{ credentials: { id: string }[] }>(stack, wallet, "POST", "/v1/credentials", body);
      expect(issued.status, issued.text).toBe(201);
      const path = `/v1/credentials/${issued.json.credentials[0]!.id}`;
      const local = await call(stack, wallet, "GET", path);
      const viaApi = await call(remote, wallet, "GET", path);
      expect(local.status, local.text).toBe(200);
      expect(local.json).toMatchObject({ state: "valid", clientId: "wallet-status" });
      expect(viaApi.status).toBe(200);
      expect(viaApi.json).toEqual(local.json);
      const other = await stack.addClient("wallet-other", ["issue"]);
      const unknown = "/v1/credentials/00000000-0000-4000-8000-000000000000";
      for (const [who, p] of [
        [wallet, unknown],
        [other, path],
      ] as const) {
        const a = await call(stack, who, "GET", p);
        const b = await call(remote, who, "GET", p);
        expect(a.status).toBe(404);
        expect(b.status).toBe(404);
        expect({ ...b.json, instance: undefined }).toEqual({ ...a.json, instance: undefined });
      }
    } finally {
      await app.close();
    }
  });
});
