// Revocation verifiers can see (issue 19): `iaca serve` on PostgreSQL issues a batch whose MSOs each
// point at their own entry of a Token Status List; a revocation through the RA reaches the list the
// DTS serves, the revoked mdoc then fails the reference verifier's status check and the rest of
// its batch stays VALID.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { AuditLog } from "@iaca/db";
import { KeyStore } from "@iaca/hsm";
import {
  decodeCbor,
  type EmbeddedCbor,
  get,
  parseSign1,
  parseStatusListToken,
  readMsoStatus,
  STATUS,
  verifyMdoc,
} from "@iaca/mdoc";
import { loadPolicy } from "@iaca/policy";
import { publishStatusLists } from "@iaca/trust";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FreshDatabase, freshDatabase } from "./support/db.ts";
import { type ServeProcess, startServe } from "./support/serve-process.ts";
import { createSoftHsm, type SoftHsm } from "./support/softhsm.ts";
import { call, deviceKey, person, proof } from "./support/stack.ts";

const ROOT = resolve(import.meta.dirname, "..");
let hsm: SoftHsm;
let fresh: FreshDatabase;
let dataDir: string;
let server: ServeProcess | undefined;
const output: string[] = [];

beforeAll(async () => {
  hsm = createSoftHsm(["iaca-root", "iaca-ds"]);
  fresh = await freshDatabase();
  dataDir = mkdtempSync(join(tmpdir(), "iaca-status-"));
  // a status change is served within 3 s (one pass a second), so the test does not wait a minute
  writeFileSync(join(dataDir, "policy.yaml"), "status:\n  publishWithin: PT3S\n");
  server = await startServe(
    ["--port", "0"],
    {
      ...hsm.env,
      SOFTHSM2_CONF: hsm.conf,
      DATABASE_URL: fresh.url,
      IACA_DATA_DIR: dataDir,
      IACA_DTS_PORT: "0",
      IACA_POLICY: join(dataDir, "policy.yaml"),
      IACA_ROTATE_SCHEDULE: "off",
    },
    output,
  );
}, 240_000);
afterAll(async () => {
  server?.proc.kill("SIGKILL");
  await fresh?.drop();
  hsm?.cleanup();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const tls = () => ({
  stack: {
    url: server!.ra,
    serverCa: { certPem: readFileSync(join(dataDir, "tls/service-ca.crt"), "utf8"), keyPem: "" },
  },
  client: {
    certPem: readFileSync(join(dataDir, "clients/demo-wallet/cert.pem"), "utf8"),
    keyPem: readFileSync(join(dataDir, "clients/demo-wallet/key.pem"), "utf8"),
  },
});

const msoOf = (issuerSigned: string) => {
  const auth = parseSign1(get(decodeCbor(Buffer.from(issuerSigned, "base64url")), "issuerAuth"));
  return (decodeCbor(auth.payload!) as EmbeddedCbor).decode() as Map<string, unknown>;
};

/** The DTS serves each list at the path of its URI: what a verifier that mirrors the DTS fetches. */
async function fetchList(uri: string): Promise<Response> {
  return fetch(`${server!.dts}${new URL(uri).pathname}`);
}

describe("issue 19: status lists behind every MSO", () => {
  let credentials: { id: string; issuerSigned: string }[] = [];
  let keys: Awaited<ReturnType<typeof deviceKey>>[] = [];
  let anchors: Uint8Array[] = [];

  it("issuer.status.index-random: each MSO of a batch carries status.status_list with its own index", async () => {
    const { stack, client } = tls();
    const nonce = (await call<{ nonce: string }>(stack, client, "POST", "/v1/nonce")).json.nonce;
    keys = await Promise.all(Array.from({ length: 10 }, () => deviceKey()));
    const jwt = await Promise.all(keys.map((k) => proof(k, nonce)));
    const r = await call<{ credentials: { id: string; issuerSigned: string }[] }>(
      stack,
      client,
      "POST",
      "/v1/credentials",
      { profile: "interop", holder: person(31), proofs: { jwt } },
    );
    expect(r.status, r.text).toBe(201);
    credentials = r.json.credentials;
    const refs = credentials.map((c) => readMsoStatus(msoOf(c.issuerSigned) as never)!);
    expect(refs.every((s) => s.uri === refs[0]!.uri && /\/status\/\d+$/.test(s.uri))).toBe(true);
    expect(new Set(refs.map((s) => s.idx)).size).toBe(10);
    // no two entries of the batch are neighbours: the permutation spreads them over the list
    const sorted = refs.map((s) => s.idx).sort((a, b) => a - b);
    expect(sorted.slice(1).every((v, i) => v - sorted[i]! > 1)).toBe(true);
    const trust = (await (await fetch(`${server!.dts}/trust.json`)).json()) as {
      certificates: { kind: string; urls: { der: string } }[];
    };
    anchors = await Promise.all(
      trust.certificates
        .filter((c) => c.kind === "iaca")
        .map(async (c) => new Uint8Array(await (await fetch(`${server!.dts}${c.urls.der}`)).arrayBuffer())),
    );
  }, 120_000);

  it("dts.status-list.published: a revocation through the RA is in the served list, the batch's other entries stay VALID", async () => {
    const { stack, client } = tls();
    const revoked = credentials[3]!;
    const r = await call(stack, client, "POST", `/v1/credentials/${revoked.id}/revoke`, { reason: "device-lost" });
    expect(r.status, r.text).toBe(200);
    const ref = readMsoStatus(msoOf(revoked.issuerSigned) as never)!;
    let token: Uint8Array | undefined;
    // bounded by the 60 s (the policy here says 3 s)
    for (const until = Date.now() + 60_000; Date.now() < until; await new Promise((w) => setTimeout(w, 500))) {
      const res = await fetchList(ref.uri);
      if (res.status !== 200) continue;
      const bytes = new Uint8Array(await res.arrayBuffer());
      if (parseStatusListToken(bytes).list.get(ref.idx) === STATUS.INVALID) {
        token = bytes;
        expect(res.headers.get("content-type")).toBe("application/statuslist+cwt");
        expect(res.headers.get("etag")).toMatch(/^"/);
        expect(res.headers.get("cache-control")).toMatch(/max-age=(\d+)/);
        expect(Number(/max-age=(\d+)/.exec(res.headers.get("cache-control")!)![1])).toBeLessThanOrEqual(300);
        break;
      }
    }
    expect(token, output.join("").slice(-2000)).toBeDefined();
    const t = parseStatusListToken(token!);
    expect(t.sub).toBe(ref.uri);
    for (const c of credentials) {
      const idx = readMsoStatus(msoOf(c.issuerSigned) as never)!.idx;
      expect(t.list.get(idx)).toBe(c === revoked ? STATUS.INVALID : STATUS.VALID);
    }
  }, 120_000);

  it("mdoc.verifier.status-check: the reference verifier fails the revoked mdoc and passes the others", async () => {
    const status = { fetch: async (uri: string) => new Uint8Array(await (await fetchList(uri)).arrayBuffer()) };
    for (const [i, c] of credentials.entries()) {
      const r = await verifyMdoc(c.issuerSigned, { trustAnchors: anchors, status });
      const check = r.checks.find((x) => x.name === "mso.status")!;
      expect(check.status, check.reason).toBe(i === 3 ? "FAIL" : "PASS");
      expect(check.reason).toMatch(i === 3 ? /INVALID/ : /VALID/);
      expect(r.ok).toBe(i !== 3);
    }
    // an unreachable list: fail-closed by default, fail-open on request
    const down = { fetch: async () => Promise.reject(new Error("connection refused")) };
    const closed = await verifyMdoc(credentials[0]!.issuerSigned, { trustAnchors: anchors, status: down });
    expect(closed.checks.find((x) => x.name === "mso.status")?.status).toBe("FAIL");
    const open = await verifyMdoc(credentials[0]!.issuerSigned, {
      trustAnchors: anchors,
      status: { ...down, failOpen: true },
    });
    expect(open.checks.find((x) => x.name === "mso.status")?.status).toBe("SKIP");
  }, 60_000);

  it("issuer.status.change: suspend and resume show in the served list (2-bit lists), audited; a revoked mdoc cannot be suspended", async () => {
    const { stack, client } = tls();
    const c = credentials[5]!;
    const ref = readMsoStatus(msoOf(c.issuerSigned) as never)!;
    const served = async (want: number) => {
      for (const until = Date.now() + 60_000; Date.now() < until; await new Promise((w) => setTimeout(w, 500))) {
        const res = await fetchList(ref.uri);
        if (
          res.status === 200 &&
          parseStatusListToken(new Uint8Array(await res.arrayBuffer())).list.get(ref.idx) === want
        )
          return true;
      }
      return false;
    };
    const s = await call<{ changed: boolean }>(stack, client, "POST", `/v1/credentials/${c.id}/suspend`);
    expect(s.status, s.text).toBe(200);
    expect(s.json.changed).toBe(true);
    expect(await served(STATUS.SUSPENDED)).toBe(true);
    const state = async () =>
      (await call<{ state: string }>(stack, client, "GET", `/v1/credentials/${c.id}`)).json.state;
    expect(await state()).toBe("suspended");
    // a suspended mdoc is not refreshed (CP/CPS 4.9.16)
    const nonce = (await call<{ nonce: string }>(stack, client, "POST", "/v1/nonce")).json.nonce;
    const refreshed = await call<{ type: string }>(stack, client, "POST", "/v1/credentials/refresh", {
      issuerSigned: c.issuerSigned,
      holderProof: await proof(keys[5]!, nonce),
      proofs: { jwt: [await proof(await deviceKey(), nonce)] },
    });
    expect(refreshed.status, refreshed.text).toBe(422);
    expect(refreshed.json.type).toBe("urn:iaca:problem:credential-suspended");
    const r = await call<{ changed: boolean }>(stack, client, "POST", `/v1/credentials/${c.id}/resume`);
    expect(r.json.changed).toBe(true);
    expect(await served(STATUS.VALID)).toBe(true);
    expect(await state()).toBe("valid");
    const revoked = await call<{ type: string }>(
      stack,
      client,
      "POST",
      `/v1/credentials/${credentials[3]!.id}/suspend`,
    );
    expect(revoked.status).toBe(422);
    expect(revoked.json.type).toBe("urn:iaca:problem:credential-revoked");
    const events = await fresh.db.sql.query<{ action: string }>(
      `SELECT action FROM audit_event WHERE action IN ('mdoc.suspend', 'mdoc.resume', 'mdoc.revoke') ORDER BY seq`,
    );
    expect(events.map((e) => e.action)).toEqual(["mdoc.revoke", "mdoc.suspend", "mdoc.resume"]);
  }, 150_000);

  it("dts.status-list.published: publishers on several replicas sign one at a time, never an older version over a newer", async () => {
    const { stack, client } = tls();
    const audit = new AuditLog(fresh.db);
    const ks = await KeyStore.open({ module: hsm.module, token: "iaca-ds", pin: "iaca-ds-pin", audit });
    try {
      let inFlight = 0;
      let maxInFlight = 0;
      const counting = {
        signer: async (uri: string) => {
          const inner = await ks.signer(uri);
          return {
            ...inner,
            algorithm: inner.algorithm,
            sign: async (data: Uint8Array) => {
              maxInFlight = Math.max(maxInFlight, ++inFlight);
              try {
                return await inner.sign(data);
              } finally {
                inFlight--;
              }
            },
          } as typeof inner;
        },
      };
      const r = await call(stack, client, "POST", `/v1/credentials/${credentials[7]!.id}/revoke`, {
        reason: "device-lost",
      });
      expect(r.status).toBe(200);
      const policy = loadPolicy(join(dataDir, "policy.yaml"));
      // three more "replicas" race the server's own publisher for the change
      const passes = await Promise.all(
        [1, 2, 3].map(() => publishStatusLists({ db: fresh.db, policy, hsm: counting })),
      );
      expect(maxInFlight).toBeLessThanOrEqual(1);
      expect(passes.reduce((n, p) => n + p.signed.length, 0)).toBeLessThanOrEqual(1);
      const [state] = (await fresh.db.stores.statusLists.states()).filter((x) => x.listNo === 1);
      expect(state!.signedVersion).toBe(state!.version);
    } finally {
      ks.close();
    }
  }, 60_000);

  it("trust.json lists the status lists with their URI and path", async () => {
    const trust = (await (await fetch(`${server!.dts}/trust.json`)).json()) as {
      statusLists: { uri: string; path: string; mediaType: string }[];
    };
    expect(trust.statusLists.length).toBeGreaterThan(0);
    expect(trust.statusLists[0]).toMatchObject({ path: "/status/1", mediaType: "application/statuslist+cwt" });
  });
  it("iaca verify: the kit (--dts) and a token file (--status-list) check the status; revoked exits 1", async () => {
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, [join(ROOT, "apps/cli/bin/iaca.js"), "verify", ...args], { encoding: "utf8" });
    const file = (c: { issuerSigned: string }, name: string) => {
      const f = join(dataDir, name);
      writeFileSync(f, c.issuerSigned);
      return f;
    };
    // the token first: the CLI runs below outlast the DTS's keep-alive, and fetch would reuse a closed socket
    const ref = readMsoStatus(msoOf(credentials[3]!.issuerSigned) as never)!;
    const token = join(dataDir, "list.cwt");
    writeFileSync(token, new Uint8Array(await (await fetchList(ref.uri)).arrayBuffer()));
    const pin = createHash("sha256").update(anchors[0]!).digest("hex");
    const good = cli("--dts", server!.dts, "--pin", pin, file(credentials[0]!, "good.b64"));
    expect(good.status, good.stdout + good.stderr).toBe(0);
    expect(good.stdout).toMatch(/mso\.status.*VALID/);
    const bad = cli("--dts", server!.dts, "--pin", pin, file(credentials[3]!, "bad.b64"));
    expect(bad.status).toBe(1);
    expect(bad.stdout).toMatch(/mso\.status.*INVALID/);
    const root = join(dataDir, "root.der");
    writeFileSync(root, anchors[0]!);
    const offline = cli("--trust", root, "--status-list", token, join(dataDir, "bad.b64"));
    expect(offline.status).toBe(1);
    expect(offline.stdout).toMatch(/mso\.status.*INVALID/);
  }, 120_000);
});
