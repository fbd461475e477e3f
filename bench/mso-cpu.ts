// Main-thread cost of one MSO issuance (interop profile, all elements, 20 KB portrait) with a
// signer that returns a fixed signature, so only CBOR/digest/validation work is measured.
// Run: node bench/mso-cpu.ts [iterations]    (profile: node --cpu-prof bench/mso-cpu.ts)
import "reflect-metadata";
import type { Signer } from "../packages/hsm/src/index.ts";
import { issueMdoc } from "../packages/mdoc/src/index.ts";
import { makeDs, makeIaca } from "../packages/mdoc/test/support/testpki.ts";
import { ALGORITHMS } from "../packages/policy/src/index.ts";
import { typicalMdoc } from "./support/workload.ts";

const N = Number(process.argv[2] ?? 3000);
const iaca = await makeIaca();
const ds = await makeDs(iaca);
const sig = new Uint8Array(64).fill(7);
const signer: Signer = { algorithm: ALGORITHMS["P-256"], sign: async () => sig, signDigest: async () => sig };
const { input, deviceKey, mso: MSO } = await typicalMdoc();
const one = () => issueMdoc({ profile: "interop", input, deviceKey, signer, dsCertificate: ds.der, mso: MSO });
for (let i = 0; i < 300; i++) await one();
const t0 = performance.now();
const c0 = process.cpuUsage();
for (let i = 0; i < N; i++) await one();
const ms = (performance.now() - t0) / N;
const c = process.cpuUsage(c0);
// CPU time as well as wall time: on a shared machine the wall clock also counts time the thread waited for a core
process.stdout.write(
  `mso-cpu: ${N} MSOs, ${(ms * 1000).toFixed(0)} us wall, ${((c.user + c.system) / N).toFixed(0)} us CPU per MSO (one thread)\n`,
);
