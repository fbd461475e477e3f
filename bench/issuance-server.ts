// Child process of bench/issuance.ts: the RA + issuer on loopback (SoftHSM, fresh PostgreSQL,
// mutual TLS) and the raw KeyStore sign rate on the same DS key, measured in this process.
// Prints "READY <json>"; on "RAW" (stdin) measures the raw sign rate again and prints "RAW <n>".
import { createInterface } from "node:readline";
import { startStack } from "../apps/ra/test/support/harness.ts";

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

const raw = await rawSignRate(RAW_SECONDS);
process.stdout.write(
  `READY ${JSON.stringify({ url: stack.url, ca: stack.serverCa.certPem, cert: client.certPem, key: client.keyPem, raw })}\n`,
);
const rl = createInterface({ input: process.stdin });
rl.on("line", async (line) => {
  if (line === "RAW") process.stdout.write(`RAW ${await rawSignRate(RAW_SECONDS)}\n`);
  if (line === "QUIT") {
    await stack.close();
    process.exit(0);
  }
});
