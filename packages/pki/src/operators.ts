// Ceremony operators: per-operator secrets verified against scrypt hashes in the room's database.
import { randomBytes, scrypt as scryptCb, timingSafeEqual } from "node:crypto";
import { promisify } from "node:util";
import type { Database } from "@iaca/db";
import { IacaError, type Policy } from "@iaca/policy";
import { CONTROLS } from "./controls.ts";

const scrypt = promisify(scryptCb) as (pw: string, salt: Buffer, len: number, opts: object) => Promise<Buffer>;
const N = 16384;
const R = 8;
const P = 1;

export interface OperatorCredential {
  id: string;
  secret: string;
}

export class CeremonyError extends IacaError {}

export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const h = await scrypt(secret, salt, 32, { N, r: R, p: P });
  return `scrypt$${N}$${R}$${P}$${salt.toString("base64")}$${h.toString("base64")}`;
}

export async function checkSecret(secret: string, stored: string): Promise<boolean> {
  const [tag, n, r, p, salt, hash] = stored.split("$");
  if (tag !== "scrypt" || !salt || !hash) return false;
  const want = Buffer.from(hash, "base64");
  const got = await scrypt(secret, Buffer.from(salt, "base64"), want.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
  });
  return timingSafeEqual(got, want);
}

/**
 * Adds operators to the registry (first ceremony: the registry is empty; later: under dual control).
 * pki.operator.authenticated: only a salted scrypt hash of each secret is stored.
 */
export async function enrollOperators(db: Database, creds: OperatorCredential[]): Promise<void> {
  const control = CONTROLS.operatorAuthenticated.id;
  for (const c of creds) {
    if (!/^[a-z][a-z0-9_-]{1,31}$/.test(c.id))
      throw new CeremonyError("OPERATOR_INVALID", `operator id "${c.id}" must be 2-32 of a-z 0-9 _ -`, { control });
    if (c.secret.length < 12)
      throw new CeremonyError("OPERATOR_INVALID", `operator ${c.id}: secret shorter than 12 characters`, { control });
    await db.prisma.pkiOperator.create({ data: { id: c.id, secretHash: await hashSecret(c.secret) } });
  }
}

/**
 * Verifies each credential against the registry (pki.operator.authenticated); every step needs at least
 * one operator, and a step in policy.ceremony.dualControl two distinct ones (pki.ceremony.operators-per-step,
 * pki.ceremony.dual-control). Returns the audit actors ("op:alice").
 */
export async function authorize(
  db: Database,
  policy: Policy,
  step: string,
  creds: OperatorCredential[],
): Promise<string[]> {
  const ids = [...new Set(creds.map((c) => c.id))];
  if (ids.length === 0)
    throw new CeremonyError("OPERATOR_REQUIRED", `${step}: name the operator(s) with --operator`, {
      control: CONTROLS.operatorsPerStep.id,
    });
  for (const c of creds) {
    const row = await db.prisma.pkiOperator.findUnique({ where: { id: c.id } });
    if (!row || row.disabledAt || !(await checkSecret(c.secret, row.secretHash)))
      throw new CeremonyError("OPERATOR_CREDENTIAL_INVALID", `${step}: credential of operator ${c.id} rejected`, {
        control: CONTROLS.operatorAuthenticated.id,
      });
  }
  if (policy.ceremony.dualControl.includes(step) && ids.length < 2)
    throw new CeremonyError("DUAL_CONTROL_REQUIRED", `${step} requires two operators (policy.ceremony.dualControl)`, {
      control: CONTROLS.dualControl.id,
    });
  return ids.map((id) => `op:${id}`);
}

/** Credentials from $IACA_OPERATOR_SECRET_<ID> (upper-case, - as _), for the CLI. */
export function credentialsFromEnv(ids: string[], env: NodeJS.ProcessEnv = process.env): OperatorCredential[] {
  return ids.map((id) => {
    const name = `IACA_OPERATOR_SECRET_${id.toUpperCase().replace(/-/g, "_")}`;
    const secret = env[name];
    if (!secret) throw new CeremonyError("OPERATOR_CREDENTIAL_MISSING", `operator ${id}: set ${name}`);
    return { id, secret };
  });
}
