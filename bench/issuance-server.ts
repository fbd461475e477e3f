// Child process of bench/issuance.ts: the RA + issuer on loopback (SoftHSM, fresh PostgreSQL,
// mutual TLS) and the raw KeyStore sign rate on the same DS key, measured in this process.
// Prints "READY <json>"; on "RAW" (stdin) measures the raw sign rate again and prints "RAW <n>";
// "MARK start|end <label>" brackets a measured run: "MARKED <json>" answers with the main thread's
// busy time since the start mark (event-loop utilisation), and with BENCH_CPU_PROF the marks are
// appended to marks.jsonl there (process.hrtime, the CPU profile's clock) for bench/cpu-profile.ts.
import { appendFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
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

const raw = await rawSignRate(RAW_SECONDS);
process.stdout.write(
  `READY ${JSON.stringify({ url: stack.url, ca: stack.serverCa.certPem, cert: client.certPem, key: client.keyPem, raw })}\n`,
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
  if (line === "QUIT") {
    await stack.close();
    process.exit(0);
  }
});
