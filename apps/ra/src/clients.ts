import type { Sql } from "@iaca/db";
import { CLIENT_MTLS } from "./controls.ts";

void CLIENT_MTLS; // the control this module enforces

export const SCOPES = ["issue", "refresh", "revoke"] as const;
export type Scope = (typeof SCOPES)[number];

export interface ApiClient {
  id: string;
  scopes: Scope[];
}

export function parseScopes(text: string | string[]): Scope[] {
  const list = (Array.isArray(text) ? text : text.split(",")).map((s) => s.trim()).filter(Boolean);
  for (const s of list)
    if (!(SCOPES as readonly string[]).includes(s)) throw new Error(`unknown scope "${s}" (use ${SCOPES.join(", ")})`);
  return [...new Set(list)] as Scope[];
}

/** The client registry: certificate SPKI SHA-256 -> client id and scopes. */
export class ClientRegistry {
  private readonly cache = new Map<string, { client: ApiClient | undefined; at: number }>();
  private readonly sql: Sql;
  private readonly cacheMs: number;
  constructor(sql: Sql, cacheMs = 5_000) {
    this.sql = sql;
    this.cacheMs = cacheMs;
  }

  async bySpki(spkiSha256: string): Promise<ApiClient | undefined> {
    const hit = this.cache.get(spkiSha256);
    if (hit && Date.now() - hit.at < this.cacheMs) return hit.client;
    const [row] = await this.sql.query<{ id: string; scopes: string[] }>(
      `SELECT id, scopes FROM api_client WHERE spki_sha256 = $1 AND disabled_at IS NULL`,
      [spkiSha256],
    );
    const client = row ? { id: row.id, scopes: (row.scopes ?? []) as Scope[] } : undefined;
    this.cache.set(spkiSha256, { client, at: Date.now() });
    return client;
  }

  /** Registers (or re-keys) a client. */
  async upsert(c: { id: string; scopes: Scope[]; spkiSha256: string; certSerial?: string; certNotAfter?: Date }) {
    await this.sql.query(
      `INSERT INTO api_client (id, spki_sha256, scopes, cert_serial, cert_not_after) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (id) DO UPDATE SET spki_sha256 = EXCLUDED.spki_sha256, scopes = EXCLUDED.scopes,
         cert_serial = EXCLUDED.cert_serial, cert_not_after = EXCLUDED.cert_not_after, disabled_at = NULL`,
      [c.id, c.spkiSha256, c.scopes, c.certSerial ?? null, c.certNotAfter ?? null],
    );
    this.cache.clear();
  }

  async get(id: string): Promise<(ApiClient & { spkiSha256: string; disabled: boolean }) | undefined> {
    const [row] = await this.sql.query<{ id: string; scopes: string[]; spki_sha256: string; disabled_at: Date | null }>(
      `SELECT id, scopes, spki_sha256, disabled_at FROM api_client WHERE id = $1`,
      [id],
    );
    return row
      ? { id: row.id, scopes: row.scopes as Scope[], spkiSha256: row.spki_sha256, disabled: row.disabled_at !== null }
      : undefined;
  }

  async list(): Promise<Array<{ id: string; scopes: string[]; disabled: boolean; certNotAfter: Date | null }>> {
    const rows = await this.sql.query<{
      id: string;
      scopes: string[];
      disabled_at: Date | null;
      cert_not_after: Date | null;
    }>(`SELECT id, scopes, disabled_at, cert_not_after FROM api_client ORDER BY id`);
    return rows.map((r) => ({
      id: r.id,
      scopes: r.scopes,
      disabled: r.disabled_at !== null,
      certNotAfter: r.cert_not_after,
    }));
  }

  async disable(id: string): Promise<boolean> {
    const rows = await this.sql.query(`UPDATE api_client SET disabled_at = now() WHERE id = $1 RETURNING id`, [id]);
    this.cache.clear();
    return rows.length === 1;
  }
}
