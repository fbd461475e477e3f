// Soak run: `npm run soak -- --minutes N` (default 5). Starts the RA + issuer of
// bench/issuance-server.ts (SoftHSM, a fresh PostgreSQL database from $TEST_PG_URL), measures the
// capacity at batch 10 with requests built on the fly (fresh nonce and ten proofs each, so the
// client's own cost is in the figure), then drives issuance at half that rate for N minutes and
// prints per minute: mdocs issued, p50/p99 latency, errors, the server's RSS, and the growth of the
// PostgreSQL tables the service writes. Ends with RSS growth, p99 first vs last minute and the
// error count. Exit 1 on any error.
import { spawn } from "node:child_process";
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { Agent, request } from "node:https";
import { createInterface } from "node:readline";
import { SAMPLE_HOLDER } from "@iaca/ra";
import { exportJWK, type JWK, SignJWT } from "jose";
import pg from "pg";

const at = process.argv.indexOf("--minutes");
const MINUTES = at >= 0 ? Number(process.argv[at + 1]) : 5;
if (!(MINUTES > 0) || !process.env.TEST_PG_URL) {
  process.stderr.write("soak: --minutes N (> 0) and $TEST_PG_URL (a PostgreSQL server) are needed\n");
  process.exit(2);
}
const TABLES = ["issuance", "audit_event", "ra_request", "ra_nonce"];

const child = spawn(process.execPath, ["--expose-gc", "bench/issuance-server.ts"], {
  stdio: ["pipe", "pipe", "inherit"],
  env: { ...process.env, IACA_LOG_LEVEL: "warn", BENCH_RAW_SECONDS: "1" },
});
const lines = createInterface({ input: child.stdout! });
const server = await new Promise<{ url: string; ca: string; cert: string; key: string; pid: number; db: string }>(
  (resolve) => lines.on("line", (l) => l.startsWith("READY ") && resolve(JSON.parse(l.slice(6)))),
);
const agent = new Agent({ keepAlive: true, maxSockets: 32, ca: server.ca, cert: server.cert, key: server.key });
const db = new pg.Client({ connectionString: server.db });
await db.connect();

function post(path: string, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, server.url),
      { method: "POST", agent, headers: body ? { "content-type": "application/json" } : {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const devices: { privateKey: KeyObject; jwk: JWK }[] = await Promise.all(
  Array.from({ length: 10 }, async () => {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    return { privateKey, jwk: await exportJWK(publicKey) };
  }),
);

/** One batch of ten: a fresh nonce, ten proofs, the request; its latency (ms) or an error. */
async function issueOne(): Promise<{ ms: number; ok: boolean }> {
  try {
    const n = (JSON.parse((await post("/v1/nonce")).text) as { nonce: string }).nonce;
    const jwt = await Promise.all(
      devices.map((d) =>
        new SignJWT({ nonce: n })
          .setProtectedHeader({ alg: "ES256", typ: "openid4vci-proof+jwt", jwk: d.jwk })
          .setIssuedAt()
          .sign(d.privateKey),
      ),
    );
    const t0 = performance.now();
    const r = await post(
      "/v1/credentials",
      JSON.stringify({ profile: "interop", holder: SAMPLE_HOLDER, proofs: { jwt } }),
    );
    return { ms: performance.now() - t0, ok: r.status === 201 };
  } catch {
    return { ms: 0, ok: false };
  }
}

/** Requests per second `rate` (or as fast as `workers` go when undefined) for `seconds`. */
async function drive(seconds: number, workers: number, rate?: number) {
  const out: { ms: number; ok: boolean }[] = [];
  const end = performance.now() + seconds * 1000;
  let next = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (performance.now() < end) {
        if (rate) {
          const wait = next - performance.now();
          next = Math.max(next, performance.now()) + 1000 / rate;
          if (wait > 0) await new Promise((w) => setTimeout(w, wait));
        }
        out.push(await issueOne());
      }
    }),
  );
  return out;
}

/**
 * The server's V8 heap in use and its external memory (Buffers) after a full GC, its worker
 * threads' heaps, and what all isolates hold committed (MiB).
 */
function heapMiB(): Promise<{ heap: number; external: number; workers: number; committed: number }> {
  return new Promise((resolve) => {
    const on = (l: string) => {
      if (!l.startsWith("HEAP ")) return;
      lines.off("line", on);
      const m = JSON.parse(l.slice(5)) as { heapUsed: number; external: number; workers: number; committed: number };
      const mib = (n: number) => n / 2 ** 20;
      resolve({
        heap: mib(m.heapUsed),
        external: mib(m.external),
        workers: mib(m.workers),
        committed: mib(m.committed),
      });
    };
    lines.on("line", on);
    child.stdin!.write("HEAP\n");
  });
}
/** A field of /proc/PID/status in KiB: VmRSS, and RssAnon (malloc, V8 and native heaps) of it. */
const statusKb = (field: "VmRSS" | "RssAnon") =>
  Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${server.pid}/status`, "utf8"))?.[1] ?? 0);
const rssKb = () => statusKb("VmRSS");
async function tableBytes(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of TABLES) out[t] = Number((await db.query("SELECT pg_total_relation_size($1) AS n", [t])).rows[0].n);
  return out;
}
const pct = (xs: number[], p: number) =>
  xs.sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? 0;

const probe = await drive(20, 16);
const capacity = (probe.filter((r) => r.ok).length * 10) / 20;
const rate = capacity / 2 / 10;
console.log(
  `capacity at batch 10 (client included): ${capacity.toFixed(0)} mdocs/s; soaking at ${(rate * 10).toFixed(0)} mdocs/s for ${MINUTES} min`,
);
console.log(
  "minute  mdocs  errors  p50 ms  p99 ms  RSS MiB  anon MiB  heap MiB  ext MiB  workers MiB  V8 committed MiB  " +
    TABLES.map((t) => `${t} +KiB`).join("  "),
);
let before = await tableBytes();
const rows: {
  rss: number;
  anon: number;
  heap: number;
  external: number;
  workers: number;
  committed: number;
  p99: number;
  errors: number;
}[] = [];
for (let m = 1; m <= MINUTES; m++) {
  const r = await drive(60, 16, rate);
  const ok = r.filter((x) => x.ok);
  const after = await tableBytes();
  const row = {
    rss: rssKb() / 1024,
    anon: statusKb("RssAnon") / 1024,
    ...(await heapMiB()),
    p99: pct(
      ok.map((x) => x.ms),
      0.99,
    ),
    errors: r.length - ok.length,
  };
  rows.push(row);
  console.log(
    `${String(m).padStart(6)}  ${String(ok.length * 10).padStart(5)}  ${String(row.errors).padStart(6)}  ${pct(
      ok.map((x) => x.ms),
      0.5,
    )
      .toFixed(0)
      .padStart(
        6,
      )}  ${row.p99.toFixed(0).padStart(6)}  ${row.rss.toFixed(0).padStart(7)}  ${row.anon.toFixed(0).padStart(8)}  ${row.heap.toFixed(1).padStart(8)}  ${row.external.toFixed(1).padStart(7)}  ${row.workers.toFixed(1).padStart(11)}  ${row.committed.toFixed(1).padStart(16)}  ` +
      TABLES.map((t) => String(Math.round((after[t]! - before[t]!) / 1024)).padStart(t.length + 5)).join("  "),
  );
  before = after;
}
const first = rows[0]!;
const last = rows.at(-1)!;
const errors = rows.reduce((n, r) => n + r.errors, 0);
console.log(
  `RSS ${first.rss.toFixed(0)} -> ${last.rss.toFixed(0)} MiB (${((100 * (last.rss - first.rss)) / first.rss).toFixed(1)} %; anonymous ${first.anon.toFixed(0)} -> ${last.anon.toFixed(0)} MiB), heap after GC ${first.heap.toFixed(1)} -> ${last.heap.toFixed(1)} MiB, worker heaps ${first.workers.toFixed(1)} -> ${last.workers.toFixed(1)} MiB, V8 committed ${first.committed.toFixed(0)} -> ${last.committed.toFixed(0)} MiB, p99 ${first.p99.toFixed(0)} -> ${last.p99.toFixed(0)} ms, ${errors} errors`,
);
// A single minute's RSS swings with the garbage not yet collected outside the heap (ArrayBuffers:
// the ext column), so the trend is the least-squares slope over all minutes, not last − first.
/** Least-squares line through ys at x = 0, 1, …: its slope and its value at x = 0. */
const lineFit = (ys: number[]) => {
  const n = ys.length;
  const mx = (n - 1) / 2;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  const sxy = ys.reduce((a, y, x) => a + (x - mx) * (y - my), 0);
  const sxx = ys.reduce((a, _, x) => a + (x - mx) ** 2, 0);
  const slope = sxx ? sxy / sxx : 0;
  return { slope, start: my - slope * mx };
};
const rssList = rows.map((r) => r.rss);
const { slope: rssSlope, start: fitStart } = lineFit(rssList);
console.log(
  `RSS trend (least squares over ${rows.length} minutes): ${rssSlope >= 0 ? "+" : ""}${rssSlope.toFixed(2)} MiB/min, ` +
    `${((100 * rssSlope * (rows.length - 1)) / fitStart).toFixed(1)} % over the run from the fitted start ${fitStart.toFixed(0)} MiB; ` +
    `minutes' RSS ${Math.min(...rssList).toFixed(0)}–${Math.max(...rssList).toFixed(0)} MiB`,
);
child.stdin!.write("QUIT\n");
await db.end();
agent.destroy();
process.exit(errors ? 1 : 0);
