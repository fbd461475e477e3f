import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import pkcs11js from "pkcs11js";

export const SOFTHSM_MODULE = process.env.IACA_PKCS11_MODULE ?? "/usr/lib/softhsm/libsofthsm2.so";

export interface SoftHsmToken {
  label: string;
  pin: string;
  soPin: string;
}

export interface SoftHsm {
  dir: string;
  conf: string;
  module: string;
  tokens: Record<string, SoftHsmToken>;
  /** Env for hsmConfigFromEnv(): module, role tokens and PINs (iaca-root / iaca-ds if created). */
  env: Record<string, string>;
  cleanup(): void;
}

/**
 * A fresh SoftHSM token directory for one test file (vitest forks a process per file).
 * Sets process.env.SOFTHSM2_CONF, which SoftHSM reads at C_Initialize, so call this before
 * anything opens a KeyStore in this process. Known test PINs: "<label>-pin" / "<label>-so".
 */
export function createSoftHsm(labels: string[] = ["iaca-root", "iaca-ds"]): SoftHsm {
  const dir = mkdtempSync(join(tmpdir(), "iaca-softhsm-"));
  const tokendir = join(dir, "tokens");
  execFileSync("mkdir", ["-p", tokendir]);
  const template = readFileSync(resolve(import.meta.dirname, "../../softhsm/softhsm2.conf.template"), "utf8");
  const conf = join(dir, "softhsm2.conf");
  writeFileSync(conf, template.replaceAll("@TOKENDIR@", tokendir));
  process.env.SOFTHSM2_CONF = conf;
  const tokens: Record<string, SoftHsmToken> = {};
  for (const label of labels) {
    const t = { label, pin: `${label}-pin`, soPin: `${label}-so` };
    execFileSync("softhsm2-util", ["--init-token", "--free", "--label", label, "--so-pin", t.soPin, "--pin", t.pin], {
      env: { ...process.env, SOFTHSM2_CONF: conf },
      stdio: "pipe",
    });
    tokens[label] = t;
  }
  const env: Record<string, string> = { IACA_PKCS11_MODULE: SOFTHSM_MODULE };
  if (tokens["iaca-root"]) Object.assign(env, { IACA_HSM_ROOT_TOKEN: "iaca-root", IACA_HSM_ROOT_PIN: "iaca-root-pin" });
  if (tokens["iaca-ds"]) Object.assign(env, { IACA_HSM_DS_TOKEN: "iaca-ds", IACA_HSM_DS_PIN: "iaca-ds-pin" });
  return {
    dir,
    conf,
    module: SOFTHSM_MODULE,
    tokens,
    env,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * A second pkcs11js instance on the same library, for tests that act on the token underneath a
 * KeyStore (it shares the process-wide module state, so an earlier C_Initialize is fine).
 */
export function rawPkcs11(module: string = SOFTHSM_MODULE): pkcs11js.PKCS11 {
  const p11 = new pkcs11js.PKCS11();
  p11.load(module);
  try {
    p11.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  } catch (e) {
    if ((e as { code?: number }).code !== pkcs11js.CKR_CRYPTOKI_ALREADY_INITIALIZED) throw e;
  }
  return p11;
}
