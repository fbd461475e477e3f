import { createHash, randomUUID } from "node:crypto";
import { canonicalJson, type IdempotencyBegin, type IdempotencyStore } from "@iaca/db";
import { IDEMPOTENCY } from "./controls.ts";

void IDEMPOTENCY; // the control this module enforces

/** SHA-256 over the route and the canonical JSON body: the request fingerprint. */
export function requestHash(route: string, body: unknown): string {
  return createHash("sha256").update(route).update("\n").update(canonicalJson(body)).digest("hex");
}

export interface IdempotencyOptions {
  /** This process: `<instance>:<boot id>`. Rows owned by `<instance>:<other boot>` belong to a dead incarnation. */
  instance: string;
  bootId: string;
  /** How long a pending attempt holds the key before another process may take it over. */
  leaseMs: number;
  /** How long a completed response is kept for replay. */
  ttlMs: number;
}

/**
 * Idempotency-Key handling of this RA process (draft-ietf-httpapi-idempotency-key-header) over
 * the IdempotencyStore: a pending attempt is leased to this incarnation of the instance; the
 * caller decrypts a replayed response.
 */
export class IdempotencyKeys {
  private readonly owner: string;
  private readonly store: IdempotencyStore;
  private readonly opts: IdempotencyOptions;
  constructor(store: IdempotencyStore, opts: IdempotencyOptions) {
    this.store = store;
    this.opts = opts;
    this.owner = `${opts.instance}:${opts.bootId}`;
  }

  begin(clientId: string, key: string, route: string, bodyHash: string, now = new Date()): Promise<IdempotencyBegin> {
    return this.store.begin({
      id: randomUUID(),
      clientId,
      key,
      route,
      bodySha256: bodyHash,
      owner: this.owner,
      instance: this.opts.instance,
      leaseUntil: new Date(now.getTime() + this.opts.leaseMs),
      expiresAt: new Date(now.getTime() + this.opts.ttlMs),
      now,
    });
  }

  complete(id: string, status: number, sealed: Buffer): Promise<void> {
    return this.store.complete(id, status, sealed);
  }

  /** The attempt ended without a response worth replaying: the same key and body may run again. */
  release(id: string): Promise<void> {
    return this.store.release(id, this.owner);
  }

  purge(now = new Date()): Promise<number> {
    return this.store.purge(now);
  }
}
