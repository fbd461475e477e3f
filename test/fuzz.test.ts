// Fuzzing smoke run (issue 16 item 11): the CBOR decoder, the certificate/CRL parser and linter,
// the proof JWT parser and the RA's JSON API on random and mutated input, with a fixed seed so a
// failure replays.
// `npm run fuzz -- --minutes N` runs the same properties for as long as asked.
import fc from "fast-check";
import { describe, it } from "vitest";
import { makeIaca } from "../packages/mdoc/test/support/testpki.ts";
import {
  apiProperty,
  cborProperty,
  derProperty,
  proofProperty,
  sampleProof,
  startApiTarget,
} from "./support/fuzz-properties.ts";

const SEED = 20261203;

describe("ra.input.validation: parsers refuse hostile input with their own typed errors (fast-check)", () => {
  it("CBOR decoder: random and mutated bytes parse or raise MdocError", () => {
    fc.assert(cborProperty(), { numRuns: 3000, seed: SEED });
  });

  it("certificate/CRL parser and linter: random and mutated DER parse or raise IacaError", async () => {
    const iaca = await makeIaca();
    fc.assert(derProperty(new Uint8Array(iaca.cert.rawData)), { numRuns: 1500, seed: SEED });
  });

  it("proof JWT: random and mutated JWTs are refused with a problem, never another error", async () => {
    await fc.assert(proofProperty(await sampleProof()), { numRuns: 1500, seed: SEED });
  });
});

describe("ra.input.validation: the JSON API on random and mutated requests (fast-check)", () => {
  it("no 5xx, every refusal problem+json without the request, no issuance row left by a refusal", async () => {
    const api = await startApiTarget();
    try {
      await fc.assert(apiProperty(api.target), { numRuns: 150, seed: SEED });
    } finally {
      await api.close();
    }
  }, 300_000);
});
