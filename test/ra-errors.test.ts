// Every bad input gets its documented status and problem type, and leaves no issuance row behind.
import { Agent, request } from "node:https";
import { connect as tlsConnect } from "node:tls";
import type { Pem } from "@iaca/ra";
import { ClientRegistry, createCa, issueCert } from "@iaca/ra";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  call,
  deviceKey,
  issueBody,
  nonceFor,
  person,
  personalValues,
  proof,
  type Response,
  type Stack,
  startStack,
} from "./support/stack.ts";

let stack: Stack;
let wallet: Pem;
const alice = person(3);

beforeAll(async () => {
  stack = await startStack({ rateLimit: { max: 80, timeWindowMs: 60_000 } });
  wallet = await stack.addClient("wallet-errors", ["issue", "refresh", "revoke"]);
});
afterAll(async () => {
  await stack?.close();
});

async function issuanceCount(): Promise<number> {
  const [r] = await stack.fresh.db.sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM issuance`);
  return Number(r?.n);
}

async function expectProblem(p: Promise<Response>, status: number, type: string): Promise<Response> {
  const before = await issuanceCount();
  const r = await p;
  expect(r.status, r.text).toBe(status);
  expect(r.headers["content-type"]).toMatch(/^application\/problem\+json/);
  const body = r.json as { type: string; title: string; status: number };
  expect(body.type).toBe(`urn:iaca:problem:${type}`);
  expect(body.status).toBe(status);
  expect(r.text).not.toMatch(/at .*\.ts:\d+|stack/i);
  expect(await issuanceCount()).toBe(before);
  return r;
}

const post = (body: unknown, headers?: Record<string, string>, client: Pem | undefined = wallet) =>
  call(stack, client, "POST", "/v1/credentials", body, headers);

describe("ra.input.validation: bad inputs", () => {
  it("schema violations: missing holder, extra property, wrong types", async () => {
    const { body } = await issueBody(stack, wallet, alice, 1);
    const r = await expectProblem(post({ proofs: body.proofs }), 400, "validation-failed");
    expect((r.json as { errors: unknown[] }).errors.length).toBeGreaterThan(0);
    await expectProblem(post({ ...body, extra: 1 }), 400, "validation-failed");
    await expectProblem(post({ ...body, proofs: { jwt: "x" } }), 400, "validation-failed");
    await expectProblem(post("{not json"), 400, "validation-failed");
  });

  it("ra.holder.identity: holder data is accepted only from an authenticated client with the issue scope", async () => {
    const { body } = await issueBody(stack, wallet, alice, 1);
    // no client certificate: 401, and nothing is recorded (expectProblem counts the issuance rows)
    await expectProblem(call(stack, undefined, "POST", "/v1/credentials", body), 401, "client-certificate-required");
    // an authenticated client that may refresh and revoke but not issue
    const other = await stack.addClient("refresh-revoke-only", ["refresh", "revoke"]);
    await expectProblem(post(body, {}, other), 403, "scope-missing");
    // the same body from the wallet backend that holds the issue scope is taken
    const ok = await post(body);
    expect(ok.status, ok.text).toBe(201);
  });

  it("ra.holder.identity: invalid My Number (check digit)", async () => {
    const bad = alice.individualNumber.slice(0, 11) + String((Number(alice.individualNumber[11]) + 1) % 10);
    const { body } = await issueBody(stack, wallet, { ...alice, individualNumber: bad }, 1);
    const r = await expectProblem(post(body), 400, "invalid-my-number");
    expect(r.text).not.toContain(bad);
  });

  it("unknown element", async () => {
    const { body } = await issueBody(stack, wallet, { ...alice, nickname: "x" } as never, 1);
    const r = await expectProblem(post(body), 400, "unknown-element");
    expect((r.json as { element: string }).element).toBe("nickname");
  });

  it("ra.input.validation: holder fields named like Object members (constructor, __proto__) are refused by name", async () => {
    for (const name of ["constructor", "__proto__"]) {
      const { body } = await issueBody(stack, wallet, alice, 1);
      const text = JSON.stringify(body).replace('"holder":{', `"holder":{"${name}":"x",`);
      const r = await expectProblem(post(text), 400, name === "__proto__" ? "validation-failed" : "unknown-element");
      if (name === "constructor") expect((r.json as { element: string }).element).toBe("constructor");
    }
  });

  it("ra.input.validation: a 20,000-deep holder value with an Idempotency-Key is a 400, not a stack overflow", async () => {
    const { body } = await issueBody(stack, wallet, alice, 1);
    const deep = `${"[".repeat(20_000)}${"]".repeat(20_000)}`;
    const text = JSON.stringify(body).replace('"holder":{', `"holder":{"note":${deep},`);
    const r = await expectProblem(post(text, { "idempotency-key": "deep-body-0001" }), 400, "validation-failed");
    expect(r.text).toContain("deeper than 32");
  });

  it("ra.input.validation: a body declared in another charset than UTF-8 is 415", async () => {
    const { body } = await issueBody(stack, wallet, alice, 1);
    await expectProblem(
      post(body, { "content-type": "application/json; charset=utf-16" }),
      415,
      "unsupported-media-type",
    );
  });

  it("mdoc.input.validated: the text policy refuses, by element, what would be altered or hidden in a name", async () => {
    const cases: [string, string][] = [
      ["\ud800", "lone surrogates"],
      ["\u0085", "control characters"],
      ["\u202e", "bidirectional controls"],
      ["\u200b", "zero-width characters"],
      ["\ufdd0", "noncharacters"],
    ];
    for (const [ch, rule] of cases) {
      const { body } = await issueBody(stack, wallet, { ...alice, familyName: `試験${ch}太郎` }, 1);
      const r = await expectProblem(post(body), 400, "invalid-holder-data");
      expect(r.text).toContain(`familyName: must not contain ${rule}`);
    }
  });

  it("invalid holder data (a date in the future)", async () => {
    const { body } = await issueBody(stack, wallet, { ...alice, birthDate: "2999-01-01" }, 1);
    await expectProblem(post(body), 400, "invalid-holder-data");
  });

  it("ra.input.validation: a birth date before 1900 is refused (no such living holder)", async () => {
    const { body } = await issueBody(stack, wallet, { ...alice, birthDate: "1899-12-31" }, 1);
    const r = await expectProblem(post(body), 400, "invalid-holder-data");
    expect(r.text).toContain("before 1900-01-01");
  });

  it("ra.input.validation: a local government code no body has, and a My Number of eleven zeros, are refused", async () => {
    for (const [field, value, rule, type] of [
      ["localGovCode", "999997", "not a local public body code", "invalid-holder-data"],
      ["localGovCode", "99999", "not a local public body code", "invalid-holder-data"],
      ["individualNumber", "000000000000", "not an assignable individual number", "invalid-my-number"],
    ] as const) {
      const { body } = await issueBody(stack, wallet, { ...alice, [field]: value }, 1);
      const r = await expectProblem(post(body), 400, type);
      expect(r.text).toContain(`${field}: ${rule}`);
      expect(r.text).not.toContain(value);
    }
  });

  it("unsupported profile / docType", async () => {
    const { body } = await issueBody(stack, wallet, alice, 1);
    await expectProblem(
      post({ ...body, profile: undefined, docType: "org.example.other" }),
      400,
      "unsupported-profile",
    );
  });

  it("ra.device-key.holder-held: bad device key: not EC, private key in the header, repeated key", async () => {
    const nonce = await nonceFor(stack, wallet);
    const ed = await (await import("jose")).generateKeyPair("EdDSA", { extractable: true });
    const edJwk = await (await import("jose")).exportJWK(ed.publicKey);
    const edProof = await new (await import("jose")).SignJWT({ nonce })
      .setProtectedHeader({ alg: "EdDSA", typ: "openid4vci-proof+jwt", jwk: edJwk })
      .setIssuedAt()
      .sign(ed.privateKey);
    await expectProblem(post({ holder: alice, proofs: { jwt: [edProof] } }), 400, "invalid-device-key");
    const dk = await deviceKey();
    const priv = await (await import("jose")).exportJWK(dk.privateKey);
    await expectProblem(
      post({ holder: alice, proofs: { jwt: [await proof(dk, nonce, { jwk: priv })] } }),
      400,
      "invalid-device-key",
    );
    const twice = await proof(dk, nonce);
    await expectProblem(
      post({ holder: alice, proofs: { jwt: [twice, await proof(dk, nonce)] } }),
      400,
      "invalid-device-key",
    );
  });

  it("bad proof: signed by another key, wrong typ, stale iat, mixed nonces", async () => {
    const nonce = await nonceFor(stack, wallet);
    const a = await deviceKey();
    const b = await deviceKey();
    await expectProblem(
      post({ holder: alice, proofs: { jwt: [await proof(a, nonce, { jwk: b.jwk })] } }),
      400,
      "invalid-proof",
    );
    await expectProblem(
      post({ holder: alice, proofs: { jwt: [await proof(a, nonce, { typ: "JWT" })] } }),
      400,
      "invalid-proof",
    );
    const old = Math.floor(Date.now() / 1000) - 3600;
    await expectProblem(
      post({ holder: alice, proofs: { jwt: [await proof(a, nonce, { iat: old })] } }),
      400,
      "invalid-proof",
    );
    const other = await nonceFor(stack, wallet);
    await expectProblem(
      post({ holder: alice, proofs: { jwt: [await proof(a, nonce), await proof(b, other)] } }),
      400,
      "invalid-proof",
    );
  });

  it("expired nonce, unknown nonce", async () => {
    const nonce = await nonceFor(stack, wallet);
    await stack.fresh.db.sql.query(`UPDATE ra_nonce SET expires_at = now() - interval '1 minute' WHERE value = $1`, [
      nonce,
    ]);
    const dk = await deviceKey();
    await expectProblem(post({ holder: alice, proofs: { jwt: [await proof(dk, nonce)] } }), 400, "nonce-expired");
    await expectProblem(
      post({ holder: alice, proofs: { jwt: [await proof(dk, "never-issued")] } }),
      400,
      "nonce-unknown",
    );
  });

  it("issuer.policy: a batch larger than policy mso.maxBatch is refused", async () => {
    const { body } = await issueBody(stack, wallet, alice, 11);
    await expectProblem(post(body), 400, "batch-too-large");
  });

  it("ra.rate-limit: oversized body and wrong media type", async () => {
    const { body } = await issueBody(stack, wallet, alice, 1);
    await expectProblem(post({ ...body, holder: { ...alice, address: "x".repeat(600_000) } }), 413, "body-too-large");
    await expectProblem(
      call(stack, wallet, "POST", "/v1/credentials", JSON.stringify(body), { "content-type": "text/plain" }),
      415,
      "unsupported-media-type",
    );
  });

  it("ra.idempotency: the same key with another body gives 422", async () => {
    const one = await issueBody(stack, wallet, alice, 1);
    const ok = await post(one.body, { "idempotency-key": "errors-key-0001" });
    expect(ok.status).toBe(201);
    const two = await issueBody(stack, wallet, alice, 1);
    await expectProblem(post(two.body, { "idempotency-key": "errors-key-0001" }), 422, "idempotency-key-reused");
  });
});

describe("ra.client.mtls / ra.client.scope", () => {
  it("ra.client.mtls: no client certificate gives 401", async () => {
    const { body } = await issueBody(stack, wallet, alice, 1);
    await expectProblem(call(stack, undefined, "POST", "/v1/credentials", body), 401, "client-certificate-required");
    await expectProblem(call(stack, undefined, "POST", "/v1/nonce"), 401, "client-certificate-required");
  });

  it("ra.client.mtls: a certificate from another CA, or an unregistered one, gives 401", async () => {
    const otherCa = await createCa("rogue CA");
    const rogue = await issueCert(otherCa, { commonName: "wallet-errors", usage: "client" });
    await expectProblem(call(stack, rogue, "POST", "/v1/nonce"), 401, "client-certificate-required");
    const unregistered = await issueCert(stack.clientCa, { commonName: "nobody", usage: "client" });
    await expectProblem(call(stack, unregistered, "POST", "/v1/nonce"), 401, "client-unknown");
  });

  it("ra.client.mtls: a keep-alive connection is recognised on every request, and refused once its client is disabled", async () => {
    const kept = await stack.addClient("wallet-keepalive", ["issue"]);
    const agent = new Agent({
      keepAlive: true,
      maxSockets: 1,
      ca: stack.serverCa.certPem,
      cert: kept.certPem,
      key: kept.keyPem,
    });
    const nonce = () =>
      new Promise<{ status: number; reused: boolean; type?: string }>((resolve, reject) => {
        const req = request(new URL("/v1/nonce", stack.url), { method: "POST", agent }, (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () =>
            resolve({
              status: res.statusCode ?? 0,
              reused: req.reusedSocket,
              type: (JSON.parse(Buffer.concat(chunks).toString()) as { type?: string }).type,
            }),
          );
        });
        req.on("error", reject);
        req.end();
      });
    try {
      const first = await nonce();
      expect(first).toMatchObject({ status: 200, reused: false });
      for (let i = 0; i < 3; i++) expect(await nonce()).toMatchObject({ status: 200, reused: true });
      await new ClientRegistry(stack.fresh.db.stores.clients).disable("wallet-keepalive");
      await new Promise((r) => setTimeout(r, 5_100)); // the RA's registry cache (5 s)
      expect(await nonce()).toMatchObject({ status: 401, reused: true, type: "urn:iaca:problem:client-unknown" });
    } finally {
      agent.destroy();
    }
  });

  it("ra.client.scope: a client without the scope gives 403", async () => {
    const revoker = await stack.addClient("revoker-only", ["revoke"]);
    const nonce = await nonceFor(stack, revoker);
    const dk = await deviceKey();
    await expectProblem(
      post({ holder: alice, proofs: { jwt: [await proof(dk, nonce)] } }, {}, revoker),
      403,
      "scope-missing",
    );
    const issuer = await stack.addClient("issue-only", ["issue"]);
    await expectProblem(
      call(stack, issuer, "POST", "/v1/holders/revoke", { myNumber: alice.individualNumber, reason: "other" }),
      403,
      "scope-missing",
    );
  });

  it("ra.rate-limit: a client over its rate limit gets 429", async () => {
    const busy = await stack.addClient("busy", ["issue"]);
    const results = [];
    for (let i = 0; i < 90; i++) results.push(await call(stack, busy, "POST", "/v1/nonce"));
    const limited = results.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect((limited[0]!.json as { type: string }).type).toBe("urn:iaca:problem:rate-limited");
    // other clients are not affected
    expect((await call(stack, wallet, "POST", "/v1/nonce")).status).toBe(200);
  });
});

describe("issuer.key-state", () => {
  it("issuer.key-state: a DS outside its usage period is refused with 503 and readiness turns false", async () => {
    const good = stack.source.keys;
    const now = Date.now();
    // notAfter 10 days ahead: the usage period (notAfter - MSO validity 30 days) is over
    const late = await stack.pki.makeDs({
      notBefore: new Date(now - 80 * 86_400_000),
      notAfter: new Date(now + 10 * 86_400_000),
    });
    stack.source.keys = [late];
    try {
      const { body } = await issueBody(stack, wallet, alice, 2);
      const r = await expectProblem(post(body), 503, "signing-unavailable");
      expect((r.json as { detail: string }).detail).toMatch(
        /may sign|usage period|DS_USAGE_PERIOD_OVER|MDOC_DS_KEY_STATE/,
      );
      const ready = await call<{ ready: boolean }>(stack, undefined, "GET", "/readyz");
      expect(ready.status).toBe(503);
      expect(ready.json.ready).toBe(false);
    } finally {
      stack.source.keys = good;
    }
    expect((await call(stack, undefined, "GET", "/readyz")).status).toBe(200);
  });

  it("issuer.key-state: a revoked DS certificate is refused with 503 and readiness turns false", async () => {
    stack.source.revoked.add(stack.ds.record.serial);
    try {
      const { body } = await issueBody(stack, wallet, alice, 1);
      await expectProblem(post(body), 503, "signing-unavailable");
      expect((await call(stack, undefined, "GET", "/readyz")).status).toBe(503);
    } finally {
      stack.source.revoked.clear();
    }
    expect((await call(stack, undefined, "GET", "/readyz")).status).toBe(200);
  });

  it("a denied signing decision is audited", async () => {
    const rows = await stack.fresh.db.sql.query<{ outcome: string }>(
      `SELECT outcome FROM audit_event WHERE action = 'mdoc.issue.batch' AND outcome = 'denied'`,
    );
    expect(rows.length).toBeGreaterThanOrEqual(2);
  });
});

describe("operations", () => {
  it("healthz, docs and OpenAPI 3.1 are served; metrics in Prometheus text format", async () => {
    expect((await call(stack, undefined, "GET", "/healthz")).status).toBe(200);
    const doc = await call<{ openapi: string; paths: Record<string, unknown> }>(stack, undefined, "GET", "/docs/json");
    expect(doc.json.openapi).toBe("3.1.0");
    expect(Object.keys(doc.json.paths)).toEqual(
      expect.arrayContaining(["/v1/nonce", "/v1/credentials", "/v1/credentials/refresh", "/v1/holders/revoke"]),
    );
    expect((await call(stack, undefined, "GET", "/docs")).text).toContain("/docs/json");
    const m = await call(stack, undefined, "GET", "/metrics");
    expect(m.text).toContain("iaca_issuances_total");
    expect(m.text).toContain("iaca_hsm_sign_seconds_bucket");
  });

  it("privacy.no-pii-in-logs: no log line carries the test person's data", () => {
    for (const v of personalValues(alice))
      for (const line of stack.logs) expect(line.includes(v), `${v} in log`).toBe(false);
  });

  it("refusals are in the access log with their problem type and client (not their detail)", () => {
    const refused = stack.logs.filter((l) => l.includes('"request refused"')).map((l) => JSON.parse(l));
    const types = new Set(refused.map((r) => r.problem));
    for (const t of [
      "validation-failed",
      "invalid-my-number",
      "invalid-proof",
      "client-certificate-required",
      "scope-missing",
    ])
      expect(types).toContain(t);
    expect(refused.some((r) => r.problem === "invalid-proof" && typeof r.client === "string")).toBe(true);
    expect(refused.every((r) => r.detail === undefined)).toBe(true);
  });
});

describe("HTTP and TLS edges (issue 16 item 8)", () => {
  it("ra.input.validation: a path segment over the limit is 414 problem+json without the path; oversized headers 431", async () => {
    const long = "a".repeat(300);
    const r = await call(stack, wallet, "GET", `/v1/credentials/${long}`);
    expect(r.status).toBe(414);
    expect(r.headers["content-type"]).toMatch(/^application\/problem\+json/);
    expect(r.text).not.toContain(long);
    const big = await call(stack, wallet, "POST", "/v1/nonce", undefined, { "x-padding": "b".repeat(20_000) });
    expect(big.status).toBe(431);
    expect(big.headers["content-type"]).toMatch(/^application\/problem\+json/);
    expect(big.text).not.toContain("bbbb");
  });

  it("ra.client.mtls: TLS 1.2 offers forward-secret AEAD suites only (no CBC)", async () => {
    const { hostname, port } = new URL(stack.url);
    /** The suite a TLS 1.2 client offering only `cipher` gets, or "refused". */
    const connect = (cipher: string) =>
      new Promise<string>((resolve) => {
        const s = tlsConnect({
          host: hostname,
          port: Number(port),
          ciphers: cipher,
          maxVersion: "TLSv1.2",
          rejectUnauthorized: false,
        });
        s.once("secureConnect", () => {
          resolve(s.getCipher().name);
          s.destroy();
        });
        s.once("error", () => resolve("refused"));
      });
    expect(await connect("ECDHE-ECDSA-AES128-SHA")).toBe("refused");
    expect(await connect("ECDHE-ECDSA-AES256-SHA384")).toBe("refused");
    expect(await connect("ECDHE-ECDSA-AES128-GCM-SHA256")).toBe("ECDHE-ECDSA-AES128-GCM-SHA256");
  });
});
