// Throwaway SoftHSM tokens for `iaca simulate` (and `iaca rotate --simulate`-style experiments):
// created in a temp folder before the PKCS#11 module is first loaded in this process.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_MODULE } from "@iaca/hsm";

const TEMPLATE = new URL("../../../softhsm/softhsm2.conf.template", import.meta.url);

export interface ThrowawayHsm {
  dir: string;
  module: string;
  pins: Record<string, string>;
  remove(): void;
}

/** Initialises `labels` as fresh tokens in a temp directory and points SOFTHSM2_CONF at it. */
export function throwawaySoftHsm(labels: string[]): ThrowawayHsm {
  const dir = mkdtempSync(join(tmpdir(), "iaca-sim-"));
  const tokendir = join(dir, "tokens");
  mkdirSync(tokendir, { recursive: true });
  const conf = join(dir, "softhsm2.conf");
  writeFileSync(conf, readFileSync(TEMPLATE, "utf8").replaceAll("@TOKENDIR@", tokendir));
  process.env.SOFTHSM2_CONF = conf;
  const pins: Record<string, string> = {};
  for (const label of labels) {
    pins[label] = randomBytes(12).toString("hex");
    execFileSync(
      "softhsm2-util",
      ["--init-token", "--free", "--label", label, "--so-pin", randomBytes(12).toString("hex"), "--pin", pins[label]!],
      { env: { ...process.env, SOFTHSM2_CONF: conf }, stdio: "pipe" },
    );
  }
  return {
    dir,
    module: process.env.IACA_PKCS11_MODULE || DEFAULT_MODULE,
    pins,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
