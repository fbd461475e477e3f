// Requests/s for the CRL and the signed trust list from the running DTS (one Node process) and
// from nginx (Debian package, one worker) serving the static export of the same files, measured
// in the same run, interleaved in rounds. Prints the DTS/nginx ratio (target: DTS within 2x).
// Run: node bench/dts.ts [seconds-per-case] [connections] [rounds]
// The machine is shared: each round measures DTS and nginx back to back (alternating which goes
// first) and the ratio reported is the median of the per-round ratios.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";

const SECONDS = Number(process.argv[2] ?? 2);
const CONNECTIONS = Number(process.argv[3] ?? 32);
const ROUNDS = Number(process.argv[4] ?? 7);
const work = mkdtempSync(join(tmpdir(), "dts-bench-"));
chmodSync(work, 0o755); // nginx workers run as www-data
const exportDir = join(work, "export");
const children: ChildProcess[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

async function startDts(): Promise<number> {
  const child = spawn(process.execPath, ["bench/dts-server.ts", exportDir], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let buf = "";
    child.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      const m = /READY (\d+)/.exec(buf);
      if (m) resolve(Number(m[1]));
    });
    child.on("exit", (code) => reject(new Error(`dts server exited ${code}`)));
  });
}

async function startNginx(): Promise<number> {
  const port = await freePort();
  const conf = join(work, "nginx.conf");
  writeFileSync(
    conf,
    `worker_processes 1;
daemon off;
pid ${work}/nginx.pid;
error_log ${work}/nginx-error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  open_file_cache max=1000 inactive=60s;
  client_body_temp_path ${work}/nginx-body;
  proxy_temp_path ${work}/nginx-proxy;
  fastcgi_temp_path ${work}/nginx-fastcgi;
  uwsgi_temp_path ${work}/nginx-uwsgi;
  scgi_temp_path ${work}/nginx-scgi;
  types {
    application/pkix-crl crl arl;
    application/pkix-cert der;
    application/json json;
    text/html html;
  }
  server {
    listen 127.0.0.1:${port};
    root ${exportDir};
    location = /trust-list.cose { default_type 'application/cose; cose-type="cose-sign1"'; }
    location / { add_header Access-Control-Allow-Origin *; expires 1h; }
  }
}
`,
  );
  const child = spawn("nginx", ["-c", conf, "-p", work], { stdio: ["ignore", "inherit", "inherit"] });
  children.push(child);
  for (let i = 0; i < 50; i++) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/manifest.json`);
      if (r.ok) return port;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nginx did not start: ${readFileSync(join(work, "nginx-error.log"), "utf8")}`);
}

async function rps(url: string): Promise<number> {
  const r = await autocannon({ url, connections: CONNECTIONS, duration: SECONDS, pipelining: 1 });
  if (r.non2xx || r.errors) throw new Error(`${url}: ${r.non2xx} non-2xx, ${r.errors} errors`);
  return r.requests.average;
}

try {
  execFileSync("nginx", ["-v"], { stdio: "pipe" });
} catch {
  console.error("nginx is not installed (apt-get install -y nginx-light)");
  process.exit(2);
}

try {
  const dtsPort = await startDts();
  const nginxPort = await startNginx();
  const paths = { crl: "/crl/ds.crl", "trust list": "/trust-list.cose" };
  // same bytes from both (the static export is the published tree)
  for (const p of Object.values(paths)) {
    const a = Buffer.from(await (await fetch(`http://127.0.0.1:${dtsPort}${p}`)).arrayBuffer());
    const b = Buffer.from(await (await fetch(`http://127.0.0.1:${nginxPort}${p}`)).arrayBuffer());
    if (!a.equals(b)) throw new Error(`${p}: DTS and nginx serve different bytes`);
  }
  const results: Record<string, { dts: number[]; nginx: number[] }> = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, p] of Object.entries(paths)) {
      results[name] ??= { dts: [], nginx: [] };
      const r = results[name];
      if (round % 2 === 0) {
        r.dts.push(await rps(`http://127.0.0.1:${dtsPort}${p}`));
        r.nginx.push(await rps(`http://127.0.0.1:${nginxPort}${p}`));
      } else {
        r.nginx.push(await rps(`http://127.0.0.1:${nginxPort}${p}`));
        r.dts.push(await rps(`http://127.0.0.1:${dtsPort}${p}`));
      }
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`dts bench: ${ROUNDS} rounds x ${SECONDS}s, ${CONNECTIONS} connections, loopback, autocannon`);
  console.log("file         DTS req/s   nginx req/s   nginx/DTS (median of per-round ratios)");
  let worst = 0;
  for (const [name, r] of Object.entries(results)) {
    const d = median(r.dts);
    const n = median(r.nginx);
    const ratio = median(r.dts.map((x, i) => r.nginx[i]! / x));
    worst = Math.max(worst, ratio);
    console.log(
      `${name.padEnd(12)} ${d.toFixed(0).padStart(9)}   ${n.toFixed(0).padStart(11)}   ${ratio.toFixed(2).padStart(9)}`,
    );
  }
  console.log(`target: nginx/DTS <= 2.00 -> ${worst <= 2 ? "met" : "NOT met"} (worst ${worst.toFixed(2)})`);
} finally {
  for (const c of children) c.kill("SIGTERM");
  await new Promise((r) => setTimeout(r, 300));
  rmSync(work, { recursive: true, force: true });
}
