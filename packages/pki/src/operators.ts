// Ceremony operators: per-operator secrets verified against scrypt hashes in the room's database.
import { randomBytes, scrypt as scryptCb, timingSafeEqual } from "node:crypto";
import { promisify } from "node:util";
import type { Database } from "@iaca/db";
import { type AuditSink, IacaError, type Policy } from "@iaca/policy";
import { CONTROLS } from "./controls.ts";
import { actorOf, recordStep } from "./record.ts";

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
 * Adds operators to the registry (first ceremony: the registry is empty; later: `addOperator`
 * under dual control). pki.operator.authenticated: only a salted scrypt hash of each secret is
 * stored. All are checked before any is written, so a bad one leaves the registry as it was.
 */
export async function enrollOperators(db: Database, creds: OperatorCredential[]): Promise<void> {
  const control = CONTROLS.operatorAuthenticated.id;
  for (const c of creds) {
    if (!/^[a-z][a-z0-9_-]{1,31}$/.test(c.id))
      throw new CeremonyError("OPERATOR_INVALID", `operator id "${c.id}" must be 2-32 of a-z 0-9 _ -`, { control });
    if (c.secret.length < 12)
      throw new CeremonyError("OPERATOR_INVALID", `operator ${c.id}: secret shorter than 12 characters`, { control });
  }
  const ids = creds.map((c) => c.id);
  if (new Set(ids).size !== ids.length)
    throw new CeremonyError("OPERATOR_INVALID", "an operator id is named twice", { control });
  const existing = await db.stores.operators.registered(ids);
  if (existing.length > 0)
    throw new CeremonyError(
      "OPERATOR_EXISTS",
      `operator ${existing.join(", ")} is already registered (ids are never reused)`,
      { control },
    );
  const data = await Promise.all(creds.map(async (c) => ({ id: c.id, secretHash: await hashSecret(c.secret) })));
  await db.stores.operators.add(data);
}

/** What the registry steps need of a room: no HSM. */
export interface OperatorRoom {
  policy: Policy;
  db: Database;
  audit: AuditSink;
  /** The authorised operators ("op:alice"), from authorize(). */
  actors: string[];
}

/** Enabled operators a room needs so that every step stays possible: two when any step is under dual control. */
export function minimumOperators(policy: Policy): number {
  return policy.ceremony.dualControl.length > 0 ? 2 : 1;
}

const REGISTRY_CLAUSE = CONTROLS.operatorRegistry.clause;

/**
 * The first operators of a room whose registry is empty (the operations room's, or a root room
 * before `root init`): enough of them for the dual-control steps, each with their own secret.
 */
export async function bootstrapOperators(
  r: Omit<OperatorRoom, "actors">,
  creds: OperatorCredential[],
): Promise<string[]> {
  const control = CONTROLS.operatorRegistry.id;
  if ((await r.db.stores.operators.count()) > 0)
    throw new CeremonyError(
      "OPERATOR_REGISTRY_NOT_EMPTY",
      "this room already has operators: add one with `iaca operator add` under their control",
      { control },
    );
  const min = minimumOperators(r.policy);
  if (new Set(creds.map((c) => c.id)).size < min)
    throw new CeremonyError("OPERATOR_TOO_FEW", `a room starts with at least ${min} operators (dual control)`, {
      control,
    });
  await enrollOperators(r.db, creds);
  const actors = creds.map((c) => `op:${c.id}`);
  await recordStep({ ...r, actors }, "operator.enroll", REGISTRY_CLAUSE, actors, { bootstrap: true });
  return actors;
}

/** Adds one operator; `r.actors` are the existing operators who authorised it (step operator.add). */
export async function addOperator(r: OperatorRoom, cred: OperatorCredential): Promise<void> {
  await enrollOperators(r.db, [cred]);
  await recordStep(r, "operator.add", REGISTRY_CLAUSE, [`op:${cred.id}`]);
}

/**
 * Disables an operator for good (ids are never reused). Refused when it would leave fewer enabled
 * operators than the dual-control steps need: the room would be locked out of its own ceremonies.
 */
export async function disableOperator(r: OperatorRoom, id: string, reason: string): Promise<void> {
  const control = CONTROLS.operatorRegistry.id;
  const row = await r.db.stores.operators.get(id);
  if (!row) throw new CeremonyError("OPERATOR_UNKNOWN", `no operator ${id} in this room`, { control });
  if (row.disabledAt)
    throw new CeremonyError("OPERATOR_DISABLED", `operator ${id} was disabled on ${row.disabledAt.toISOString()}`, {
      control,
    });
  const min = minimumOperators(r.policy);
  // the store counts and disables under one lock: two disables at once must not both pass the count
  const { disabled, enabledLeft } = await r.db.stores.operators.disable(id, min);
  if (!disabled)
    throw new CeremonyError(
      "OPERATOR_LOCKOUT",
      `disabling ${id} would leave ${enabledLeft} enabled operator(s); this room needs ${min}: add one first`,
      { control },
    );
  await recordStep(r, "operator.disable", REGISTRY_CLAUSE, [`op:${id}`], { reason });
}

export interface OperatorEntry {
  id: string;
  enrolledAt: Date;
  disabledAt: Date | null;
}

/** The registry without secrets. */
export async function listOperators(db: Database): Promise<OperatorEntry[]> {
  const rows = await db.stores.operators.list();
  return rows.map((o) => ({ id: o.id, enrolledAt: o.createdAt, disabledAt: o.disabledAt }));
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
  /** When given, a refusal is an audit event (CP/CPS 5.4.1: authentication failures are recorded). */
  audit?: AuditSink,
): Promise<string[]> {
  const ids = [...new Set(creds.map((c) => c.id))];
  const refuse = async (e: CeremonyError): Promise<never> => {
    await audit?.append({
      actor: actorOf(ids.map((id) => `op:${id}`)),
      action: "ceremony.authorize",
      targets: [step],
      outcome: "denied",
      clause: CONTROLS.operatorAuthenticated.clause,
      details: { code: e.code, operators: ids },
    });
    throw e;
  };
  if (ids.length === 0)
    return refuse(
      new CeremonyError("OPERATOR_REQUIRED", `${step}: name the operator(s) with --operator`, {
        control: CONTROLS.operatorsPerStep.id,
      }),
    );
  for (const c of creds) {
    const row = await db.stores.operators.get(c.id);
    if (!row || row.disabledAt || !(await checkSecret(c.secret, row.secretHash)))
      return refuse(
        new CeremonyError("OPERATOR_CREDENTIAL_INVALID", `${step}: credential of operator ${c.id} rejected`, {
          control: CONTROLS.operatorAuthenticated.id,
        }),
      );
  }
  if (policy.ceremony.dualControl.includes(step) && ids.length < 2)
    return refuse(
      new CeremonyError("DUAL_CONTROL_REQUIRED", `${step} requires two operators (policy.ceremony.dualControl)`, {
        control: CONTROLS.dualControl.id,
      }),
    );
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
