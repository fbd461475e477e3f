/**
 * A real RA + issuer on loopback for tests: SoftHSM tokens, a fresh PostgreSQL database, a test
 * PKI (IACA on the root token, DS on the DS token), a client CA and a service CA, and HTTPS with
 * client certificates. Every log line goes to `logs` so tests can check it for personal data.
 */
import { request } from "node:https";
import { Writable } from "node:stream";
import { AuditLog, openDatabase } from "@iaca/db";
import { KeyStore } from "@iaca/hsm";
import { IssuanceMetrics, IssuerService, type SigningDs, StaticDsSource } from "@iaca/issuance";
import { myNumberCheckDigit } from "@iaca/mdoc";
import { loadPolicy, type Policy } from "@iaca/policy";
import { buildRa, ClientRegistry, createCa, createLogger, issueCert, type Pem, type Scope } from "@iaca/ra";
import type { FastifyInstance } from "fastify";
import { type CryptoKey, exportJWK, generateKeyPair, type JWK as JsonWebKey, SignJWT } from "jose";
import { type FreshDatabase, freshDatabase } from "./db.ts";
import { makeTestPki, type TestPki } from "./issuer-pki.ts";
import { createSoftHsm, type SoftHsm } from "./softhsm.ts";

export interface Stack {
  hsm: SoftHsm;
  fresh: FreshDatabase;
  rootKs: KeyStore;
  dsKs: KeyStore;
  policy: Policy;
  pki: TestPki;
  ds: SigningDs;
  source: StaticDsSource;
  issuer: IssuerService;
  metrics: IssuanceMetrics;
  ra: FastifyInstance;
  url: string;
  serverCa: Pem;
  clientCa: Pem;
  logs: string[];
  /** The issuer's clock runs this far ahead of real time (refresh windows, usage periods). */
  clock: { offsetMs: number };
  addClient(id: string, scopes: Scope[]): Promise<Pem>;
  close(): Promise<void>;
}

export interface StackOptions {
  policy?: Partial<Policy>;
  rateLimit?: { max: number; timeWindowMs: number };
  nonceTtlMs?: number;
  logLevel?: string;
  /** Connections of the services' pool (default: the test database's own small pool). */
  poolSize?: number;
  /** Credential issuer identifier: proofs must carry it as `aud` (IACA_CREDENTIAL_ISSUER in serve). */
  credentialIssuer?: string;
}

export async function startStack(o: StackOptions = {}): Promise<Stack> {
  const hsm = createSoftHsm();
  const fresh = await freshDatabase();
  if (o.poolSize) {
    const own = await openDatabase({ url: fresh.url, poolSize: o.poolSize });
    const drop = fresh.drop;
    fresh.db = own;
    fresh.drop = async () => {
      await own.close();
      await drop();
    };
  }
  const audit = new AuditLog(fresh.db);
  const rootKs = await KeyStore.open({ module: hsm.module, token: "iaca-root", pin: "iaca-root-pin", audit });
  const dsKs = await KeyStore.open({ module: hsm.module, token: "iaca-ds", pin: "iaca-ds-pin", audit });
  const policy = { ...loadPolicy(undefined), ...(o.policy ?? {}) } as Policy;
  const pki = await makeTestPki(rootKs, dsKs, policy);
  const ds = await pki.makeDs();
  const source = new StaticDsSource([ds], [pki.iacaDer]);
  await IssuerService.ensureSecretKeys(dsKs, audit);
  const metrics = new IssuanceMetrics();
  const clock = { offsetMs: 0 };
  const issuer = new IssuerService({
    db: fresh.db,
    keyStore: dsKs,
    policy,
    ds: source,
    audit,
    metrics,
    now: () => new Date(Date.now() + clock.offsetMs),
  });
  const serverCa = await createCa("test service CA");
  const clientCa = await createCa("test client CA");
  const server = await issueCert(serverCa, {
    commonName: "localhost",
    usage: "server",
    dns: ["localhost"],
    ips: ["127.0.0.1"],
  });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const logger = createLogger({ level: o.logLevel ?? "debug", destination: sink });
  const ra = await buildRa({
    db: fresh.db,
    issuer,
    policy,
    tls: { cert: server.certPem, key: server.keyPem, clientCa: clientCa.certPem },
    logger,
    metrics,
    rateLimit: o.rateLimit,
    nonceTtlMs: o.nonceTtlMs,
    ...(o.credentialIssuer ? { proof: { audience: o.credentialIssuer } } : {}),
  });
  await ra.listen({ host: "127.0.0.1", port: 0 });
  const addr = ra.server.address() as { port: number };
  const registry = new ClientRegistry(fresh.db.stores.clients, 0);
  return {
    hsm,
    fresh,
    rootKs,
    dsKs,
    policy,
    pki,
    ds,
    source,
    issuer,
    metrics,
    ra,
    url: `https://127.0.0.1:${addr.port}`,
    serverCa,
    clientCa,
    logs,
    clock,
    async addClient(id, scopes) {
      const c = await issueCert(clientCa, { commonName: id, usage: "client" });
      await registry.upsert({ id, scopes, spkiSha256: c.spkiSha256 });
      return c;
    },
    async close() {
      await ra.close();
      issuer.stop();
      rootKs.close();
      dsKs.close();
      await fresh.drop();
      hsm.cleanup();
    },
  };
}

export interface Response<T = unknown> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: T;
  text: string;
}

/** One HTTPS request on loopback; `client` is the certificate to present (none when undefined). */
export function call<T = Record<string, unknown>>(
  stack: Pick<Stack, "url" | "serverCa">,
  client: Pem | undefined,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Response<T>> {
  const data = body === undefined ? undefined : Buffer.from(typeof body === "string" ? body : JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, stack.url),
      {
        method,
        ca: stack.serverCa.certPem,
        ...(client ? { cert: client.certPem, key: client.keyPem } : {}),
        agent: false,
        headers: {
          ...(data ? { "content-type": "application/json", "content-length": String(data.length) } : {}),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, json: json as T, text });
        });
      },
    );
    req.on("error", reject);
    if (data) req.write(data);
    req.end();
  });
}

// ------------------------------------------------------------------ holders and device keys

export function myNumber(first11: string): string {
  return first11 + String(myNumberCheckDigit(first11));
}

/** A minimal JPEG (SOI + APP0 + EOI): the profile checks the signature, not the picture. */
export const PORTRAIT = Buffer.from(
  "ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c0b0b0c1912130f141d1a1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e333432ffd9",
  "hex",
);

export interface TestPerson {
  familyName: string;
  givenName: string;
  birthDate: string;
  address: string;
  sex: "male" | "female";
  localGovCode: string;
  individualNumber: string;
  portrait: string;
}

export function person(seed = 1): TestPerson {
  return {
    familyName: `試験${"一二三四五六七八九"[seed % 9]}`,
    givenName: `花子${seed}`,
    birthDate: `19${60 + (seed % 30)}-0${1 + (seed % 9)}-1${seed % 10}`,
    address: `東京都千代田区霞が関${seed}丁目${seed + 2}番${seed + 7}号`,
    sex: seed % 2 ? "female" : "male",
    localGovCode: "131016",
    individualNumber: myNumber(String(23456789010 + seed * 7919).slice(0, 11)),
    portrait: PORTRAIT.toString("base64"),
  };
}

/** Values whose appearance in a log line is a leak. */
export function personalValues(p: TestPerson): string[] {
  return [p.familyName, p.givenName, p.birthDate, p.address, p.individualNumber, p.portrait.slice(0, 40)];
}

export interface DeviceKey {
  privateKey: CryptoKey;
  jwk: JsonWebKey;
}

export async function deviceKey(alg: "ES256" | "ES384" = "ES256"): Promise<DeviceKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { privateKey: privateKey as CryptoKey, jwk: await exportJWK(publicKey) };
}

export async function proof(
  dk: DeviceKey,
  nonce: string,
  o: { alg?: string; typ?: string; iat?: number; jwk?: JsonWebKey; aud?: string } = {},
): Promise<string> {
  return new SignJWT({ nonce, ...(o.aud ? { aud: o.aud } : {}) })
    .setProtectedHeader({
      alg: o.alg ?? "ES256",
      typ: o.typ ?? "openid4vci-proof+jwt",
      jwk: (o.jwk ?? dk.jwk) as never,
    })
    .setIssuedAt(o.iat)
    .sign(dk.privateKey);
}

export async function nonceFor(stack: Stack, client: Pem): Promise<string> {
  const r = await call<{ nonce: string }>(stack, client, "POST", "/v1/nonce");
  if (r.status !== 200) throw new Error(`nonce: ${r.status} ${r.text}`);
  return r.json.nonce;
}

/** A full issuance request body for `n` new device keys. */
export async function issueBody(stack: Stack, client: Pem, p: TestPerson, n: number, profile = "interop") {
  const nonce = await nonceFor(stack, client);
  const keys = await Promise.all(Array.from({ length: n }, () => deviceKey()));
  const jwt = await Promise.all(keys.map((k) => proof(k, nonce)));
  return { keys, nonce, body: { profile, holder: p, proofs: { jwt } } };
}
