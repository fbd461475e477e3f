// P-256 signatures/s through the KeyStore (1 and N concurrent callers) next to a raw pkcs11js
// single-session C_SignInit/C_Sign loop and node:crypto, measured in the same run on a throwaway
// SoftHSM token. Run: node bench/hsm-sign.ts [seconds-per-case]
import { createHash, generateKeyPairSync, sign as nodeSign } from "node:crypto";
import { availableParallelism } from "node:os";
import { discardAudit } from "@iaca/policy";
import pkcs11js from "pkcs11js";
import { KeyStore } from "../packages/hsm/src/index.ts";
import { createSoftHsm } from "../test/support/softhsm.ts";
import { median, timeAsync } from "./support/workload.ts";

const SECONDS = Number(process.argv[2] ?? 3);
const CONCURRENCY = Math.max(8, 4 * availableParallelism());

const hsm = createSoftHsm(["bench"]);
// discardAudit: benchmark only; no key decisions worth recording.
const ks = await KeyStore.open({ module: hsm.module, token: "bench", pin: "bench-pin", audit: discardAudit });
const key = await ks.generateEcKey("bench-p256");
const digest = createHash("sha256").update("mobile security object").digest();
const data = Buffer.from("mobile security object");

// The machine is shared: cases run interleaved in short rounds so load changes hit all of them alike.
const ROUNDS = 10;

function timeSync(ms: number, fn: () => void): number {
  const end = performance.now() + ms;
  let n = 0;
  while (performance.now() < end) {
    for (let i = 0; i < 20; i++) fn();
    n += 20;
  }
  return n;
}

// Raw baseline: one session, synchronous C_SignInit + C_Sign on the main thread.
const p11 = new pkcs11js.PKCS11();
p11.load(hsm.module);
try {
  p11.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
} catch (e) {
  if ((e as { code?: number }).code !== pkcs11js.CKR_CRYPTOKI_ALREADY_INITIALIZED) throw e;
}
const session = p11.C_OpenSession(ks.slotId, pkcs11js.CKF_SERIAL_SESSION);
p11.C_FindObjectsInit(session, [
  { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
  { type: pkcs11js.CKA_LABEL, value: "bench-p256" },
]);
const [handle] = p11.C_FindObjects(session, 1);
p11.C_FindObjectsFinal(session);
const out = Buffer.alloc(64);

// warm up
for (let i = 0; i < 200; i++) {
  p11.C_SignInit(session, { mechanism: pkcs11js.CKM_ECDSA }, handle!);
  p11.C_Sign(session, digest, out);
}
await Promise.all(Array.from({ length: 200 }, () => ks.signDigestRaw(key.uri, digest)));

const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
const cases: Array<[string, (ms: number) => number | Promise<number>]> = [
  [
    "raw pkcs11js, 1 session, sync loop",
    (ms) =>
      timeSync(ms, () => {
        p11.C_SignInit(session, { mechanism: pkcs11js.CKM_ECDSA }, handle!);
        p11.C_Sign(session, digest, out);
      }),
  ],
  ["node:crypto sign (software key)", (ms) => timeSync(ms, () => nodeSign("sha256", data, privateKey))],
  ["KeyStore.signDigestRaw, 1 caller", (ms) => timeAsync(ms, 1, () => ks.signDigestRaw(key.uri, digest))],
  [
    `KeyStore.signDigestRaw, ${CONCURRENCY} callers`,
    (ms) => timeAsync(ms, CONCURRENCY, () => ks.signDigestRaw(key.uri, digest)),
  ],
  [
    `KeyStore.sign (hash+DER), ${CONCURRENCY} callers`,
    (ms) => timeAsync(ms, CONCURRENCY, () => ks.sign(key.uri, data)),
  ],
];
const counts: number[][] = cases.map(() => []);
const slice = (SECONDS * 1000) / ROUNDS;
for (let r = 0; r < ROUNDS; r++) for (const [i, [, run]] of cases.entries()) counts[i]!.push(await run(slice));
const rates = counts.map((c) => c.reduce((a, b) => a + b, 0) / SECONDS);
// Ratio per round against the raw loop of the same round, median over rounds: robust to load shifts.
const ratios = counts.map((c) => median(c.map((n, r) => n / counts[0]![r]!)));
const rawLoop = rates[0]!;
const many = ratios[3]!;

const fmt = (i: number) =>
  `${Math.round(rates[i]!).toString().padStart(7)}/s  ${(rates[i]! / rawLoop).toFixed(2)}x raw overall, median per round ${ratios[i]!.toFixed(2)}x`;
console.log(
  `P-256 ECDSA on SoftHSM, ${SECONDS}s per case in ${ROUNDS} interleaved rounds, ${availableParallelism()} cores, pool ${ks.stats().sessions} sessions`,
);
for (const [i, [name]] of cases.entries()) console.log(`${name.padEnd(42)} ${fmt(i)}`);
console.log(`target: concurrent KeyStore >= 0.80x raw (median per round) -> ${many >= 0.8 ? "met" : "NOT met"}`);

p11.C_CloseSession(session);
ks.close();
p11.close();
hsm.cleanup();
