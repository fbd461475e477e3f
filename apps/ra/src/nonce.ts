import { randomBytes } from "node:crypto";
import type { NonceStore } from "@iaca/db";
import { PROOF_DEVICE_KEY } from "./controls.ts";
import { ProblemError } from "./problem.ts";

/** Single-use proof-of-possession nonces, bound to the client they were issued to. */
export class ProofNonces {
  private readonly store: NonceStore;
  private readonly ttlMs: number;
  constructor(store: NonceStore, ttlMs: number) {
    this.store = store;
    this.ttlMs = ttlMs;
  }

  async issue(clientId: string, now = new Date()): Promise<{ nonce: string; expiresAt: Date }> {
    const nonce = randomBytes(24).toString("base64url");
    const expiresAt = new Date(now.getTime() + this.ttlMs);
    await this.store.add(nonce, clientId, expiresAt);
    return { nonce, expiresAt };
  }

  /**
   * Consumes a nonce for `requestId`. A nonce is used once; the same request (its crash-retry
   * under the same Idempotency-Key) may present it again.
   */
  async consume(nonce: string, clientId: string, requestId: string, now = new Date()): Promise<void> {
    void PROOF_DEVICE_KEY; // a nonce proves freshness once, for the client it was issued to
    const use = await this.store.consume(nonce, clientId, requestId, now);
    if (use === "consumed") return;
    if (use === "unknown") throw new ProblemError("nonce-unknown", "the nonce was not issued to this client");
    if (use === "replayed") throw new ProblemError("proof-replayed", "the nonce has already been used");
    throw new ProblemError("nonce-expired", "the nonce has expired; request a new one");
  }

  /** Deletes nonces that expired more than a minute ago. */
  purge(now = new Date()): Promise<number> {
    return this.store.purge(new Date(now.getTime() - 60_000));
  }
}
