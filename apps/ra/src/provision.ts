// What the RA's deployment provisions on disk: the TLS material (client CA, service CA, service
// certificates), the client directories and the registered clients.
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Database } from "@iaca/db";
import { IacaError } from "@iaca/policy";
import { ClientRegistry, type Scope } from "./clients.ts";
import { ensureCa, issueCert } from "./tls.ts";

/** Where the TLS material lives: the client CA, the service CA and the service certificates. */
export function tlsDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.IACA_TLS_DIR || join(env.IACA_DATA_DIR || "./var", "tls"));
}
/** $IACA_RA_PROOF_WORKERS: proof-signature worker threads (0: on the event loop); a bad value stops the start. */
export function proofWorkersFromEnv(env: NodeJS.ProcessEnv): number | undefined {
  const v = env.IACA_RA_PROOF_WORKERS;
  if (v === undefined || v === "") return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 64)
    throw new IacaError("CONFIG_INVALID", `IACA_RA_PROOF_WORKERS must be an integer 0..64 (got "${v}")`);
  return n;
}

export function clientsDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.IACA_CLIENTS_DIR || join(env.IACA_DATA_DIR || "./var", "clients"));
}

export const clientCa = (dir = tlsDir()) => ensureCa(dir, "client-ca", "mdoc IACA RA client CA");
export const serviceCa = (dir = tlsDir()) => ensureCa(dir, "service-ca", "mdoc IACA service CA");

/** Creates (or re-keys) a client: key and certificate from the client CA, registered with its scopes. */
export async function addClient(
  db: Database,
  id: string,
  scopes: Scope[],
  opts: { dir?: string; days?: number } = {},
): Promise<{ dir: string; cert: string; key: string; spkiSha256: string }> {
  if (!/^[a-z0-9][a-z0-9._-]{0,63}$/.test(id)) throw new Error("client name: 1-64 of a-z 0-9 . _ -");
  const ca = await clientCa();
  const issued = await issueCert(ca, { commonName: id, usage: "client", days: opts.days ?? 397 });
  const dir = opts.dir ?? join(clientsDir(), id);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, "key.pem"), issued.keyPem, { mode: 0o600 });
  chmodSync(join(dir, "key.pem"), 0o600);
  writeFileSync(join(dir, "cert.pem"), issued.certPem);
  writeFileSync(join(dir, "ca.pem"), (await serviceCa()).certPem);
  await new ClientRegistry(db.stores.clients).upsert({
    id,
    scopes,
    spkiSha256: issued.spkiSha256,
    certSerial: issued.serial,
    certNotAfter: issued.notAfter,
  });
  return { dir, cert: join(dir, "cert.pem"), key: join(dir, "key.pem"), spkiSha256: issued.spkiSha256 };
}
