// Where the issuance server's main thread spends its time, per mdoc, in each measured run of
// bench/issuance.ts: reads the V8 CPU profile and the run marks that BENCH_CPU_PROF=DIR writes.
// Run: node bench/cpu-profile.ts DIR [top]
// Each sample goes to the first category (below) that a frame of its stack matches, leaf first:
// a pg writev counts as "db", a jose call inside proof.ts as "proof (jose)". Then the top
// functions by self time and by inclusive time inside the runs.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}
interface Mark {
  edge: "start" | "end";
  label: string;
  t: number;
  mdocs?: number;
}

const dir = process.argv[2];
if (!dir) throw new Error("usage: node bench/cpu-profile.ts DIR [top]");
const top = Number(process.argv[3] ?? 15);
// the main thread's profile is the largest one (workers have their own)
const file = readdirSync(dir)
  .filter((f) => f.endsWith(".cpuprofile"))
  .map((f) => join(dir, f))
  .sort((a, b) => statSync(b).size - statSync(a).size)[0];
if (!file) throw new Error(`no .cpuprofile in ${dir}`);
const p = JSON.parse(readFileSync(file, "utf8")) as Profile;
const marks = readFileSync(join(dir, "marks.jsonl"), "utf8")
  .split("\n")
  .filter(Boolean)
  .map((l) => JSON.parse(l) as Mark);

const CATEGORIES: [string, RegExp][] = [
  ["proof (jose)", /node_modules\/jose\//],
  ["proof", /apps\/ra\/src\/proof\.ts/],
  ["db (pg)", /node_modules\/pg(-pool|-protocol|-types)?\/|packages\/db\//],
  ["hsm (main thread)", /pkcs11js|packages\/hsm\//],
  ["mdoc", /packages\/mdoc\//],
  ["pki", /packages\/pki\//],
  ["pino", /node_modules\/(pino|thread-stream|sonic-boom)/],
  ["schema/json", /node_modules\/(ajv|fast-json-stringify|secure-json-parse|fast-uri|@fastify\/ajv)/],
  ["rate-limit", /@fastify\/rate-limit/],
  ["fastify", /node_modules\/(fastify|find-my-way|avvio|@fastify|light-my-request)/],
  ["ra", /apps\/ra\/src\//],
  ["issuer", /apps\/issuer\/src\//],
  ["policy", /packages\/policy\//],
  ["other packages", /node_modules/],
];
const NODE_CATEGORIES: [string, RegExp][] = [
  ["http/tls/net", /^node:(_http|https|tls|_tls|net|internal\/(tls|http|stream|streams|net|js_stream))/],
  ["crypto (other)", /^node:internal\/crypto/],
];

const nodes = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const stack = (id: number) => {
  const out: ProfileNode[] = [];
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) out.push(nodes.get(cur)!);
  return out;
};
const name = (n: ProfileNode) =>
  `${n.callFrame.functionName || "(anonymous)"} ${n.callFrame.url.replace(/^.*\/(node_modules|work\/main)\//, "")}:${n.callFrame.lineNumber + 1}`;
const categoryOf = new Map<number, string>();
function category(id: number): string {
  let c = categoryOf.get(id);
  if (c) return c;
  const chain = stack(id);
  const fn = chain[0]!.callFrame.functionName;
  if (fn === "(idle)") c = "idle";
  else if (fn === "(garbage collector)") c = "gc";
  else if (fn === "(program)") c = "v8 (program)";
  else
    c =
      chain.map((n) => CATEGORIES.find(([, re]) => re.test(n.callFrame.url))?.[0]).find(Boolean) ??
      chain.map((n) => NODE_CATEGORIES.find(([, re]) => re.test(n.callFrame.url))?.[0]).find(Boolean) ??
      "other";
  categoryOf.set(id, c);
  return c;
}

const times: number[] = [];
let t = p.startTime;
for (let i = 0; i < p.samples.length; i++) {
  t += p.timeDeltas[i] ?? 0;
  times.push(t);
}
const fmt = (us: number, width = 7) => us.toFixed(0).padStart(width);

for (const start of marks.filter((m) => m.edge === "start")) {
  const end = marks.find((m) => m.edge === "end" && m.label === start.label && m.t > start.t);
  if (!end) continue;
  const mdocs = end.mdocs ?? 0;
  const byCat = new Map<string, number>();
  const self = new Map<string, number>();
  const incl = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    if (times[i]! < start.t || times[i]! > end.t) continue;
    const dt = p.timeDeltas[i + 1] ?? 0;
    const id = p.samples[i]!;
    total += dt;
    const c = category(id);
    byCat.set(c, (byCat.get(c) ?? 0) + dt);
    if (c === "idle") continue;
    const chain = stack(id);
    self.set(name(chain[0]!), (self.get(name(chain[0]!)) ?? 0) + dt);
    for (const k of new Set(chain.map(name))) incl.set(k, (incl.get(k) ?? 0) + dt);
  }
  const busy = total - (byCat.get("idle") ?? 0);
  console.log(
    `\n${start.label}: ${(total / 1e6).toFixed(1)} s, ${mdocs} mdocs, main thread busy ${((100 * busy) / total).toFixed(0)}%, ${fmt(busy / Math.max(1, mdocs), 0)} µs/mdoc`,
  );
  console.log("  category             µs/mdoc   share of busy");
  for (const [c, v] of [...byCat].sort((a, b) => b[1] - a[1]))
    console.log(
      `  ${c.padEnd(20)} ${fmt(v / Math.max(1, mdocs))}   ${c === "idle" ? "" : `${((100 * v) / busy).toFixed(1).padStart(5)}%`}`,
    );
  for (const [title, m] of [
    ["self", self],
    ["inclusive", incl],
  ] as const) {
    console.log(`  top ${top} by ${title} time (µs/mdoc):`);
    for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top))
      console.log(`  ${fmt(v / Math.max(1, mdocs))}  ${k}`);
  }
}
