// Wallet backends allowed to call the RA: identified by their certificate's SPKI SHA-256.
import type { Sql } from "../sql.ts";
import { at } from "./values.ts";

export interface ClientRecord {
  id: string;
  /** The RA's scopes (issue, refresh, revoke). */
  scopes: string[];
  spkiSha256: string;
  certSerial: string | null;
  certNotAfter: Date | null;
  disabledAt: Date | null;
}

export type NewClient = Pick<ClientRecord, "id" | "scopes" | "spkiSha256"> & {
  certSerial?: string | undefined;
  certNotAfter?: Date | undefined;
};

/** api_client (owner: apps/ra). */
export class ClientStore {
  private readonly sql: Sql;
  constructor(sql: Sql) {
    this.sql = sql;
  }

  /** The enabled client with this certificate key. */
  async enabledBySpki(spkiSha256: string): Promise<Pick<ClientRecord, "id" | "scopes"> | undefined> {
    const [row] = await this.sql.query<{ id: string; scopes: string[] | null }>(
      `SELECT id, scopes FROM api_client WHERE spki_sha256 = $1 AND disabled_at IS NULL`,
      [spkiSha256],
    );
    return row ? { id: row.id, scopes: row.scopes ?? [] } : undefined;
  }

  /** Registers a client, or re-keys and re-enables it. */
  async upsert(c: NewClient): Promise<void> {
    await this.sql.query(
      `INSERT INTO api_client (id, spki_sha256, scopes, cert_serial, cert_not_after) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (id) DO UPDATE SET spki_sha256 = EXCLUDED.spki_sha256, scopes = EXCLUDED.scopes,
         cert_serial = EXCLUDED.cert_serial, cert_not_after = EXCLUDED.cert_not_after, disabled_at = NULL`,
      [c.id, c.spkiSha256, c.scopes, c.certSerial ?? null, c.certNotAfter ?? null],
    );
  }

  async get(id: string): Promise<Pick<ClientRecord, "id" | "scopes" | "spkiSha256" | "disabledAt"> | undefined> {
    const [row] = await this.sql.query<{ id: string; scopes: string[]; spki_sha256: string; disabled_at: Date | null }>(
      `SELECT id, scopes, spki_sha256, disabled_at FROM api_client WHERE id = $1`,
      [id],
    );
    return row
      ? { id: row.id, scopes: row.scopes, spkiSha256: row.spki_sha256, disabledAt: at(row.disabled_at) }
      : undefined;
  }

  /** Every client by id. */
  async list(): Promise<Pick<ClientRecord, "id" | "scopes" | "disabledAt" | "certNotAfter">[]> {
    const rows = await this.sql.query<{
      id: string;
      scopes: string[];
      disabled_at: Date | null;
      cert_not_after: Date | null;
    }>(`SELECT id, scopes, disabled_at, cert_not_after FROM api_client ORDER BY id`);
    return rows.map((r) => ({
      id: r.id,
      scopes: r.scopes,
      disabledAt: at(r.disabled_at),
      certNotAfter: at(r.cert_not_after),
    }));
  }

  /** Disables a client for good; false when there is no such client. */
  async disable(id: string): Promise<boolean> {
    const rows = await this.sql.query(`UPDATE api_client SET disabled_at = now() WHERE id = $1 RETURNING id`, [id]);
    return rows.length === 1;
  }
}
