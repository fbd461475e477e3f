// MSOs signed per second for a typical mdoc (interop profile, all elements, 20 KB portrait) through
// the HSM KeyStore, next to the raw KeyStore sign rate and to @auth0/mdl issuing the same document
// with an in-memory key, measured in interleaved slices in the same run on a throwaway SoftHSM token.
// @auth0/mdl runs in a child process driven slice by slice: in the same process its garbage and
// JIT state slowed the slices after it (MSO/raw 0.76 alone, 0.47-0.50 interleaved with it).
// Run: node bench/mso-sign.ts [seconds-per-case] [sign-workers (default: the KeyStore's, cores - 1)]
import "reflect-metadata";
import { spawn } from "node:child_process";
import { createHash, KeyObject } from "node:crypto";
import { availableParallelism } from "node:os";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { Document } from "@auth0/mdl";
import { discardAudit } from "@iaca/policy";
import { defaultSignWorkers, KeyStore } from "../packages/hsm/src/index.ts";
import { issueMdoc } from "../packages/mdoc/src/index.ts";
import { makeDs, makeDsCertFor, makeIaca } from "../packages/mdoc/test/support/testpki.ts";
import { createSoftHsm } from "../test/support/softhsm.ts";
import { median, timeAsync, typicalMdoc } from "./support/workload.ts";

const CHILD = process.argv.includes("--auth0-child");
const SECONDS = Number(process.argv[2] ?? 3);
const CONCURRENCY = Math.max(8, 4 * availableParallelism());
const ROUNDS = 6;
const WORKERS = process.argv[3] ? Number(process.argv[3]) : defaultSignWorkers();

const { portrait, input, deviceKey, mso: MSO } = await typicalMdoc();
const iaca = await makeIaca();

if (CHILD) {
  // @auth0/mdl with an in-memory key and its own DS certificate, same elements and values.
  const mem = await makeDs(iaca);
  const auth0Key = KeyObject.from(mem.keys.privateKey).export({ format: "jwk" });
  const auth0Cert = mem.cert.toString("pem");
  const jp = {
    full_name_unicode: "山田 太郎",
    birth_date_unicode: "2000年3月31日",
    resident_address_unicode: "東京都千代田区霞が関一丁目1番1号",
    sex_unicode: "男",
    local_gov_code_unicode: "011002",
    individual_number_unicode: "123456789018",
    portrait,
  };
  const common = { age_over_20: true, age_in_years: 25, sex: 1, birth_date: "2000-03-31" };
  const auth0Issue = () =>
    new Document("org.iso.23220.1.jp.mnc")
      .addIssuerNameSpace("org.iso.23220.1.jp", jp)
      .addIssuerNameSpace("org.iso.23220.1", common)
      .useDigestAlgorithm("SHA-256")
      .addValidityInfo({ signed: new Date() })
      .addDeviceKeyInfo({ deviceKey: deviceKey as never })
      .sign({ issuerPrivateKey: auth0Key as never, issuerCertificate: auth0Cert, alg: "ES256" });
  process.stdout.write("READY\n");
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === "QUIT") break;
    process.stdout.write(`DONE ${await timeAsync(Number(line), CONCURRENCY, auth0Issue)}\n`);
  }
  process.exit(0);
}

const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), "--auth0-child"], {
  stdio: ["pipe", "pipe", "inherit"],
});
const childLines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
const childSays = async () => String((await childLines.next()).value);
await childSays(); // READY
const auth0Slice = async (ms: number) => {
  child.stdin!.write(`${ms}\n`);
  return Number((await childSays()).split(" ")[1]);
};

const hsm = createSoftHsm(["bench"]);
// discardAudit: benchmark only; no key decisions worth recording.
const ks = await KeyStore.open({
  module: hsm.module,
  token: "bench",
  pin: "bench-pin",
  audit: discardAudit,
  signWorkers: WORKERS,
});
const key = await ks.generateEcKey("bench-ds");
const dsCert = await makeDsCertFor(iaca, new Uint8Array((await ks.getPublicKey(key.uri)).spki));
const signer = await ks.signer(key.uri);
const dsCertificate = new Uint8Array(dsCert.rawData);

const digest = createHash("sha256").update("mobile security object").digest();
const cases: Record<string, (ms: number) => Promise<number>> = {
  "raw KeyStore sign": (ms) => timeAsync(ms, CONCURRENCY, () => ks.signDigestRaw(key.uri, digest)),
  "MSO via KeyStore": (ms) =>
    timeAsync(ms, CONCURRENCY, () =>
      issueMdoc({ profile: "interop", input, deviceKey, signer, dsCertificate, mso: MSO }),
    ),
  "@auth0/mdl in-memory": auth0Slice,
};

// warm-up (JIT, sessions, key handles)
for (const run of Object.values(cases)) await run(200);
const counts: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
const slice = (SECONDS * 1000) / ROUNDS;
for (let r = 0; r < ROUNDS; r++) for (const [name, run] of Object.entries(cases)) counts[name]!.push(await run(slice));
child.stdin!.write("QUIT\n");

const rate = (name: string) => (counts[name] as number[]).reduce((a, b) => a + b, 0) / SECONDS;
const perRound = (a: string, b: string) => median((counts[a] as number[]).map((n, r) => n / counts[b]![r]!));
const raw = rate("raw KeyStore sign");
const mso = rate("MSO via KeyStore");
const auth0 = rate("@auth0/mdl in-memory");
process.stdout.write(
  `mso-sign: ${SECONDS}s per case, ${CONCURRENCY} concurrent callers, ${ROUNDS} interleaved rounds, ${WORKERS} signing worker(s) on ${availableParallelism()} cores\n`,
);
for (const name of Object.keys(cases))
  process.stdout.write(`  ${name.padEnd(22)} ${rate(name).toFixed(0).padStart(7)} /s\n`);
const msoRaw = perRound("MSO via KeyStore", "raw KeyStore sign");
process.stdout.write(
  `  MSO / raw KeyStore sign  ${(mso / raw).toFixed(2)} overall, median per round ${msoRaw.toFixed(2)} (target >= 0.70: ${msoRaw >= 0.7 ? "met" : "NOT met"})\n`,
);
process.stdout.write(
  `  MSO / @auth0/mdl         ${(mso / auth0).toFixed(2)} overall, median per round ${perRound("MSO via KeyStore", "@auth0/mdl in-memory").toFixed(2)}\n`,
);
await ks.close();
hsm.cleanup();
