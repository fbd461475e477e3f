// Long fuzzing runs: `npm run fuzz -- --minutes N` (default 1). Runs the properties of
// test/support/fuzz-properties.ts (CBOR decoder, certificate/CRL parser and linter, proof JWT, and
// the RA's JSON API on a PostgreSQL + SoftHSM stack when $TEST_PG_URL is set) in rounds of fresh
// random seeds until the time is up, and prints cases run and failures per property. Exit 1 on any
// failure, with the seed and counterexample to replay.
import fc from "fast-check";
import { makeIaca } from "../packages/mdoc/test/support/testpki.ts";
import {
  apiProperty,
  cborProperty,
  derProperty,
  proofProperty,
  sampleProof,
  startApiTarget,
} from "../test/support/fuzz-properties.ts";

const at = process.argv.indexOf("--minutes");
const minutes = at >= 0 ? Number(process.argv[at + 1]) : 1;
if (!(minutes > 0)) {
  process.stderr.write("fuzz: --minutes must be a positive number\n");
  process.exit(2);
}
const until = Date.now() + minutes * 60_000;
const cert = new Uint8Array((await makeIaca()).cert.rawData);
const jwt = await sampleProof();
const api = process.env.TEST_PG_URL ? await startApiTarget() : undefined;
const properties: Record<string, () => fc.IProperty<unknown> | fc.IAsyncProperty<unknown>> = {
  cbor: () => cborProperty() as fc.IProperty<unknown>,
  der: () => derProperty(cert) as fc.IProperty<unknown>,
  proof: () => proofProperty(jwt) as fc.IAsyncProperty<unknown>,
  ...(api ? { api: () => apiProperty(api.target) as fc.IAsyncProperty<unknown> } : {}),
};
const runs: Record<string, number> = Object.fromEntries(Object.keys(properties).map((k) => [k, 0]));
let failed = 0;
const ROUND = 500;
while (Date.now() < until) {
  for (const [name, make] of Object.entries(properties)) {
    const seed = Math.floor(Math.random() * 2 ** 31);
    const r = await fc.check(make(), { numRuns: name === "api" ? ROUND / 10 : ROUND, seed });
    runs[name]! += r.numRuns;
    if (r.failed) {
      failed++;
      process.stderr.write(`fuzz: ${name} failed (seed ${seed}): ${fc.defaultReportMessage(r)}\n`);
    }
  }
}
await api?.close();
if (!api) process.stdout.write("api    skipped ($TEST_PG_URL not set)\n");
for (const [name, n] of Object.entries(runs)) process.stdout.write(`${name.padEnd(6)} ${n} cases\n`);
process.stdout.write(`${failed} failures in ${minutes} minute(s)\n`);
process.exitCode = failed ? 1 : 0;
