// OpenID4VCI benchmark (issue 20): `TEST_PG_URL=... node bench/openid4vci.ts [rounds]` (default 40).
// On one RA + issuer (SoftHSM, a fresh PostgreSQL database), measured in the same run, one at a
// time: a batch of 10 through the REST API (nonce + POST /v1/credentials, what a wallet backend
// does) and the same batch through OpenID4VCI as the independent client walks it (offer by the
// backend, then metadata, token with DPoP, nonce, credential with 10 proofs). Prints the wall time
// and the server process's CPU per batch for both, and the ratio: what the standard protocol costs
// on top of the issuance itself.
import { cpuUsage } from "node:process";
import { SAMPLE_HOLDER } from "@iaca/ra";
import { TestWallet } from "../test/support/openid4vci-wallet.ts";
import { call, issueBody, startStack } from "../test/support/stack.ts";

const ROUNDS = Number(process.argv[2] ?? 40);
if (!process.env.TEST_PG_URL || !(ROUNDS > 0)) {
  process.stderr.write("bench/openid4vci: $TEST_PG_URL and rounds > 0\n");
  process.exit(2);
}
const CONFIG = "org.iso.23220.1.jp.mnc_interop";
const stack = await startStack({ logLevel: "warn" });
const backend = await stack.addClient("bench-backend", ["issue"]);
const wallet = new TestWallet(stack.serverCa.certPem);
const holder = { ...SAMPLE_HOLDER };

async function rest(): Promise<void> {
  const { body } = await issueBody(stack, backend, holder as never, 10);
  const r = await call(stack, backend, "POST", "/v1/credentials", body);
  if (r.status !== 201) throw new Error(`REST ${r.status} ${r.text}`);
}

async function openid4vci(): Promise<void> {
  const o = await call<{ credentialOfferUri: string }>(stack, backend, "POST", "/v1/credential-offers", { holder });
  if (o.status !== 201) throw new Error(`offer ${o.status} ${o.text}`);
  const r = await wallet.redeem(o.json.credentialOfferUri, CONFIG, { n: 10 });
  if ((r.credentials.credentialResponse as { credentials: unknown[] }).credentials.length !== 10)
    throw new Error("OpenID4VCI: not 10 credentials");
}

/** Wall ms and this process's CPU µs per round (the client runs here too: both paths pay it). */
async function measure(fn: () => Promise<void>): Promise<{ wallMs: number; cpuUs: number }> {
  for (let i = 0; i < 3; i++) await fn(); // warm-up
  const c0 = cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < ROUNDS; i++) await fn();
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  const c = cpuUsage(c0);
  return { wallMs: wall / ROUNDS, cpuUs: (c.user + c.system) / ROUNDS };
}

try {
  const a = await measure(rest);
  const b = await measure(openid4vci);
  const f = (n: number) => n.toLocaleString("en-US", { maximumFractionDigits: 1 });
  process.stdout.write(
    `batch of 10, ${ROUNDS} rounds each, one at a time (client and server in this process)\n` +
      `REST API     (nonce + POST /v1/credentials):                          ${f(a.wallMs)} ms, ${f(a.cpuUs / 1000)} ms CPU per batch\n` +
      `OpenID4VCI   (offer, metadata, token+DPoP, nonce, credential):        ${f(b.wallMs)} ms, ${f(b.cpuUs / 1000)} ms CPU per batch\n` +
      `ratio OpenID4VCI / REST: wall ${f(b.wallMs / a.wallMs)}, CPU ${f(b.cpuUs / a.cpuUs)}\n`,
  );
} finally {
  await stack.close();
}
