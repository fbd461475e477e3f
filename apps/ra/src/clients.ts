import type { ClientStore } from "@iaca/db";
import { CLIENT_MTLS } from "./controls.ts";

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

/** The client registry: certificate SPKI SHA-256 -> client id and scopes, cached briefly per key. */
export class ClientRegistry {
  private readonly cache = new Map<string, { client: ApiClient | undefined; at: number }>();
  private readonly store: ClientStore;
  private readonly cacheMs: number;
  constructor(store: ClientStore, cacheMs = 5_000) {
    this.store = store;
    this.cacheMs = cacheMs;
  }

  async bySpki(spkiSha256: string): Promise<ApiClient | undefined> {
    void CLIENT_MTLS; // the certificate's SPKI must name a registered, enabled client
    const hit = this.cache.get(spkiSha256);
    if (hit && Date.now() - hit.at < this.cacheMs) return hit.client;
    const row = await this.store.enabledBySpki(spkiSha256);
    const client = row ? { id: row.id, scopes: row.scopes as Scope[] } : undefined;
    this.cache.set(spkiSha256, { client, at: Date.now() });
    return client;
  }

  /** Registers (or re-keys) a client. */
  async upsert(c: { id: string; scopes: Scope[]; spkiSha256: string; certSerial?: string; certNotAfter?: Date }) {
    await this.store.upsert(c);
    this.cache.clear();
  }

  async get(id: string): Promise<(ApiClient & { spkiSha256: string; disabled: boolean }) | undefined> {
    const row = await this.store.get(id);
    return row
      ? { id: row.id, scopes: row.scopes as Scope[], spkiSha256: row.spkiSha256, disabled: row.disabledAt !== null }
      : undefined;
  }

  async list(): Promise<Array<{ id: string; scopes: string[]; disabled: boolean; certNotAfter: Date | null }>> {
    return (await this.store.list()).map((r) => ({
      id: r.id,
      scopes: r.scopes,
      disabled: r.disabledAt !== null,
      certNotAfter: r.certNotAfter,
    }));
  }

  async disable(id: string): Promise<boolean> {
    const disabled = await this.store.disable(id);
    this.cache.clear();
    return disabled;
  }
}
