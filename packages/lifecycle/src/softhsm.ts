// Throwaway SoftHSM tokens for `iaca simulate`: created in a temp folder before the PKCS#11
// module is first loaded in this process.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSoftHsmTokens, DEFAULT_MODULE } from "@iaca/hsm";

export interface ThrowawayHsm {
  dir: string;
  module: string;
  pins: Record<string, string>;
  remove(): void;
}

/** Initialises `labels` as fresh tokens in a temp directory and points SOFTHSM2_CONF at it. */
export function throwawaySoftHsm(labels: string[]): ThrowawayHsm {
  const dir = mkdtempSync(join(tmpdir(), "iaca-sim-"));
  const pins = createSoftHsmTokens(dir, labels);
  return {
    dir,
    module: process.env.IACA_PKCS11_MODULE || DEFAULT_MODULE,
    pins,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
