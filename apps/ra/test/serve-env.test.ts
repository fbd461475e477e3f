import { describe, expect, it } from "vitest";
import { proofWorkersFromEnv } from "../src/provision.ts";

describe("iaca serve environment", () => {
  it("IACA_RA_PROOF_WORKERS: unset is the default, 0..64 is taken, anything else stops the start with its name", () => {
    expect(proofWorkersFromEnv({})).toBeUndefined();
    expect(proofWorkersFromEnv({ IACA_RA_PROOF_WORKERS: "0" })).toBe(0);
    expect(proofWorkersFromEnv({ IACA_RA_PROOF_WORKERS: "4" })).toBe(4);
    for (const bad of ["-1", "65", "2.5", "many"])
      expect(() => proofWorkersFromEnv({ IACA_RA_PROOF_WORKERS: bad })).toThrow(
        /IACA_RA_PROOF_WORKERS must be an integer 0\.\.64/,
      );
  });
});
