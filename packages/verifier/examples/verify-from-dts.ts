// A verifier's backend in a few lines: trust from the DTS, pinned to the IACA fingerprint
// published out of band, then one mdoc (IssuerSigned, Document or DeviceResponse).
//   node packages/verifier/examples/verify-from-dts.ts https://dts.example.jp <iaca-sha256> mdoc.cbor
import { readFileSync } from "node:fs";
import { MdocVerifier } from "@iaca/verifier";

const [dts, pin, file] = process.argv.slice(2);
if (!dts || !pin || !file) {
  process.stderr.write("usage: verify-from-dts.ts DTS_URL IACA_SHA256 MDOC_FILE\n");
  process.exit(2);
}
const verifier = await MdocVerifier.fromDts(dts, { pins: [pin] });
for (const w of verifier.trust.warnings) process.stderr.write(`warning: ${w}\n`);
const result = await verifier.verify(readFileSync(file));
for (const c of result.checks) process.stdout.write(`${c.status} ${c.name}: ${c.reason}\n`);
process.exit(result.ok ? 0 : 1);
