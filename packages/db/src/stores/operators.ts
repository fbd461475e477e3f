// The room's ceremony operators: ids and scrypt hashes of their secrets (packages/pki checks them).
import { advisoryKey, type Sql, valuesRows } from "../sql.ts";
import { count, record } from "./values.ts";

export interface OperatorRecord {
  id: string;
  /** "scrypt$N$r$p$salt_b64$hash_b64" */
  secretHash: string;
  createdAt: Date;
  disabledAt: Date | null;
}

const OPERATOR = record<OperatorRecord>({ id: "value", secretHash: "value", createdAt: "value", disabledAt: "value" });
/** Serialises changes of the registry so that two disables at once cannot both pass the count. */
const REGISTRY_LOCK = "iaca.pki_operator.registry";

/** pki_operator (owner: packages/pki's operator registry). */
export class OperatorStore {
  private readonly sql: Sql;
  constructor(sql: Sql) {
    this.sql = sql;
  }

  async get(id: string): Promise<OperatorRecord | undefined> {
    const [r] = await this.sql.query(`SELECT ${OPERATOR.select} FROM pki_operator WHERE id = $1`, [id]);
    return r ? OPERATOR.read(r) : undefined;
  }

  async count(): Promise<number> {
    return count(await this.sql.query<{ n: unknown }>("SELECT count(*)::int AS n FROM pki_operator"));
  }

  /** Which of these ids are registered (enabled or not: ids are never reused). */
  async registered(ids: readonly string[]): Promise<string[]> {
    const rows = await this.sql.query<{ id: string }>("SELECT id FROM pki_operator WHERE id = ANY($1::text[])", [ids]);
    return rows.map((r) => r.id);
  }

  /** Registers operators in one statement: all or none. */
  async add(operators: readonly { id: string; secretHash: string }[]): Promise<void> {
    if (operators.length === 0) return;
    const values = valuesRows(
      ["", ""],
      operators.map((o) => [o.id, o.secretHash]),
    );
    await this.sql.query(`INSERT INTO pki_operator (id, secret_hash) VALUES ${values.sql}`, values.params);
  }

  /** The registry in enrolment order. */
  async list(): Promise<OperatorRecord[]> {
    const rows = await this.sql.query(`SELECT ${OPERATOR.select} FROM pki_operator ORDER BY created_at ASC, id ASC`);
    return rows.map(OPERATOR.read);
  }

  /**
   * Disables an operator unless that would leave fewer than `keepEnabled` enabled ones: the count
   * and the change happen under one lock. `enabledLeft` counts the others that stay enabled.
   */
  async disable(id: string, keepEnabled: number): Promise<{ disabled: boolean; enabledLeft: number }> {
    return this.sql.transaction(async (tx) => {
      await tx.query("SELECT pg_advisory_xact_lock($1::bigint)", [advisoryKey(REGISTRY_LOCK)]);
      const enabledLeft = count(
        await tx.query<{ n: unknown }>(
          "SELECT count(*)::int AS n FROM pki_operator WHERE disabled_at IS NULL AND id <> $1",
          [id],
        ),
      );
      if (enabledLeft < keepEnabled) return { disabled: false, enabledLeft };
      await tx.query("UPDATE pki_operator SET disabled_at = now() WHERE id = $1 AND disabled_at IS NULL", [id]);
      return { disabled: true, enabledLeft };
    });
  }
}
