// Throwaway SoftHSM tokens for demos, simulations and tests: one definition of how a token
// directory is laid out (the same template as softhsm/setup-tokens.sh).
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ACTIVATION_DATA_GENERATED } from "./controls.ts";

const TEMPLATE = new URL("../../../softhsm/softhsm2.conf.template", import.meta.url);

export interface TokenPins {
  pin: string;
  soPin: string;
}

function randomPins(): TokenPins {
  void ACTIVATION_DATA_GENERATED; // 96 random bits each, a different pair per token
  return { pin: randomBytes(12).toString("hex"), soPin: randomBytes(12).toString("hex") };
}

/**
 * Initialises `labels` as fresh tokens under `dir` and points SOFTHSM2_CONF at it. SoftHSM reads
 * the variable at C_Initialize, so this must run before the PKCS#11 module is first loaded in
 * this process. Returns each token's user PIN.
 */
export function createSoftHsmTokens(
  dir: string,
  labels: string[],
  pinsFor: (label: string) => TokenPins = randomPins,
): Record<string, string> {
  const tokendir = join(dir, "tokens");
  mkdirSync(tokendir, { recursive: true });
  const conf = join(dir, "softhsm2.conf");
  writeFileSync(conf, readFileSync(TEMPLATE, "utf8").replaceAll("@TOKENDIR@", tokendir));
  process.env.SOFTHSM2_CONF = conf;
  const pins: Record<string, string> = {};
  for (const label of labels) {
    const p = pinsFor(label);
    execFileSync("softhsm2-util", ["--init-token", "--free", "--label", label, "--so-pin", p.soPin, "--pin", p.pin], {
      env: { ...process.env, SOFTHSM2_CONF: conf },
      stdio: "pipe",
    });
    pins[label] = p.pin;
  }
  return pins;
}
