// Child process of bench/issuance.ts: the RA + issuer on loopback (SoftHSM, fresh PostgreSQL,
// mutual TLS) and the raw KeyStore sign rate on the same DS key, measured in this process.
// Prints "READY <json>"; on "RAW" (stdin) measures the raw sign rate again and prints "RAW <n>";
// "MARK start|end <label>" brackets a measured run: "MARKED <json>" answers with the main thread's
// busy time since the start mark (event-loop utilisation), and with BENCH_CPU_PROF the marks are
// appended to marks.jsonl there (process.hrtime, the CPU profile's clock) for bench/cpu-profile.ts.

import { createPublicKey, generateKeyPairSync, verify as nodeVerify } from "node:crypto";
import { appendFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { digest } from "@iaca/hsm";
import { HOLDER_HMAC_LABEL } from "@iaca/issuance";
import { exportJWK, importJWK, jwtVerify, SignJWT } from "jose";
import { startStack } from "../test/support/stack.ts";

const RAW_SECONDS = Number(process.env.BENCH_RAW_SECONDS ?? 5);
const stack = await startStack({ rateLimit: { max: 1e9, timeWindowMs: 60_000 }, logLevel: "warn", poolSize: 24 });
const client = await stack.addClient("bench", ["issue"]);

/** MSO-sized signatures/s through the KeyStore with many callers (what the issuer's batches do). */
async function rawSignRate(seconds: number, callers = 32): Promise<number> {
  const data = Buffer.alloc(900, 7);
  const end = performance.now() + seconds * 1000;
  let n = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (performance.now() < end) {
        await stack.dsKs.sign(stack.ds.keyRef, data, "SHA-256");
        n++;
      }
    }),
  );
  return n / ((performance.now() - t0) / 1000);
}

/**
 * The unavoidable CPU per mdoc at batch 10, each part timed alone on one caller: importing and
 * verifying one proof JWT (ES256), one HSM signature of an MSO-sized payload, a tenth of the
 * holder HMAC (one per batch), and the item digests (eight elements of ~100 bytes plus a portrait).
 */
async function floorUs(): Promise<Record<string, number>> {
  // CPU of this process (every thread: the HSM signing workers too) per call, not wall time: a
  // call handed to a worker and awaited costs its CPU, not the hand-off's idle time
  const time = async (n: number, fn: () => Promise<unknown> | unknown) => {
    const c0 = process.cpuUsage();
    for (let i = 0; i < n; i++) await fn();
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / n;
  };
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = await exportJWK(publicKey);
  const jwt = await new SignJWT({ nonce: "n" })
    .setProtectedHeader({ alg: "ES256", typ: "openid4vci-proof+jwt", jwk })
    .setIssuedAt()
    .sign(privateKey);
  const proof = await time(300, async () => jwtVerify(jwt, await importJWK(jwk, "ES256")));
  // the same check with OpenSSL primitives only (key import from the JWK, ECDSA verify): the bare minimum
  const [h, p, sig] = jwt.split(".") as [string, string, string];
  const signed = Buffer.from(`${h}.${p}`);
  const rawSig = Buffer.from(sig, "base64url");
  const proofMin = await time(300, () =>
    nodeVerify(
      "sha256",
      signed,
      { key: createPublicKey({ key: jwk as never, format: "jwk" }), dsaEncoding: "ieee-p1363" },
      rawSig,
    ),
  );
  const mso = Buffer.alloc(900, 7);
  const sign = await time(300, () => stack.dsKs.sign(stack.ds.keyRef, mso, "SHA-256"));
  const hmacKey = stack.dsKs.uriFor(HOLDER_HMAC_LABEL);
  const hmac = (await time(300, () => stack.dsKs.hmac(hmacKey, Buffer.from("holder-ref:123456789018")))) / 10;
  const items = [...Array.from({ length: 8 }, () => Buffer.alloc(100, 1)), Buffer.alloc(20_000, 2)];
  const digests = await time(300, () => {
    for (const x of items) digest("SHA-256", x);
  });
  return {
    proof,
    proofMin,
    sign,
    hmac,
    digests,
    total: proof + sign + hmac + digests,
    min: proofMin + sign + hmac + digests,
  };
}

const raw = await rawSignRate(RAW_SECONDS);
process.stdout.write(
  `READY ${JSON.stringify({ url: stack.url, ca: stack.serverCa.certPem, cert: client.certPem, key: client.keyPem, raw, pid: process.pid, db: stack.fresh.url })}\n`,
);
// node creates the profile directory only when it writes the profile, at exit
if (process.env.BENCH_CPU_PROF) mkdirSync(process.env.BENCH_CPU_PROF, { recursive: true });
let elu = performance.eventLoopUtilization();
const rl = createInterface({ input: process.stdin });
rl.on("line", async (line) => {
  if (line.startsWith("MARK ")) {
    const [, edge, label, mdocs] = line.split(" ");
    const t = Number(process.hrtime.bigint() / 1000n);
    const since = performance.eventLoopUtilization(elu);
    if (edge === "start") elu = performance.eventLoopUtilization();
    const mark = {
      edge,
      label,
      t,
      ...(edge === "end" ? { mdocs: Number(mdocs), activeMs: since.active, idleMs: since.idle } : {}),
    };
    if (process.env.BENCH_CPU_PROF)
      appendFileSync(join(process.env.BENCH_CPU_PROF, "marks.jsonl"), `${JSON.stringify(mark)}\n`);
    process.stdout.write(`MARKED ${JSON.stringify(mark)}\n`);
  }
  if (line === "RAW") process.stdout.write(`RAW ${await rawSignRate(RAW_SECONDS)}\n`);
  // V8 heap after a full collection when node runs with --expose-gc: tells a leak from allocator growth
  if (line === "HEAP") {
    (globalThis as { gc?: () => void }).gc?.();
    // the worker threads (proof checks, HSM signing) have isolates of their own: the diagnostic
    // report lists each one's heap in use (not collected first, so it includes garbage); committed:
    // the memory every isolate holds from the OS for its heap, used or not (part of RssAnon)
    type Heap = { javascriptHeap?: { usedMemory?: number; totalCommittedMemory?: number } };
    const report = process.report.getReport() as unknown as Heap & { workers?: Heap[] };
    const isolates = [report, ...(report.workers ?? [])];
    const workers = isolates.slice(1).reduce((n, w) => n + (w.javascriptHeap?.usedMemory ?? 0), 0);
    const committed = isolates.reduce((n, w) => n + (w.javascriptHeap?.totalCommittedMemory ?? 0), 0);
    process.stdout.write(`HEAP ${JSON.stringify({ ...process.memoryUsage(), workers, committed })}\n`);
  }
  if (line === "FLOOR") process.stdout.write(`FLOOR ${JSON.stringify(await floorUs())}\n`);
  if (line === "QUIT") {
    await stack.close();
    process.exit(0);
  }
});
