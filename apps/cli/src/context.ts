import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { AuditLog, type Database, openDatabase } from "@iaca/db";
import { type HsmRole, hsmConfigFromEnv, KeyStore, roleConfig } from "@iaca/hsm";
import { IacaError, loadPolicy, type Policy } from "@iaca/policy";
import type { Command } from "commander";

/**
 * The quick start's SoftHSM tokens live under ./var/softhsm; use them when the operator has not
 * configured an HSM, so `npx iaca ...` works from the repository root without exports.
 */
export function applyLocalDefaults(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): void {
  const conf = resolve(cwd, "var/softhsm/softhsm2.conf");
  const pins = resolve(cwd, "var/softhsm/pins.env");
  if (!env.SOFTHSM2_CONF && existsSync(conf)) env.SOFTHSM2_CONF = conf;
  if (!env.IACA_HSM_PIN_FILE && !env.IACA_HSM_ROOT_PIN && !env.IACA_HSM_DS_PIN && existsSync(pins))
    env.IACA_HSM_PIN_FILE = pins;
}

/** The effective policy for this invocation (--policy, $IACA_POLICY or built-in). */
export function policyOf(cmd: Command): Policy {
  return loadPolicy(cmd.optsWithGlobals().policy);
}

/** Reads a file named on the command line; a missing file is a clear error, not a stack trace. */
export function readInput(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new IacaError(
      "CLI_FILE_UNREADABLE",
      `cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? e}`,
    );
  }
}

/** Opens the configured database (migrating it), runs fn, and always closes it. */
export async function withDatabase<T>(fn: (db: Database, audit: AuditLog) => Promise<T>, migrate = true): Promise<T> {
  const db = await openDatabase({ migrate });
  try {
    return await fn(db, new AuditLog(db));
  } finally {
    await db.close();
  }
}

/** Opens the primary node of a role's HSM (root room: "root"; operations room: "ds"). */
export async function openRoleKeyStore(role: HsmRole, audit: AuditLog, actor: string): Promise<KeyStore> {
  // only this role's configuration: the operations room holds no root PIN
  const node = roleConfig(hsmConfigFromEnv(process.env, { roles: [role] }), role).nodes[0]!;
  return KeyStore.open({ module: node.module, token: node.token, pin: node.pin, audit, actor, name: node.name });
}
