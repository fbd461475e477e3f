import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";

/** One proof's signature check: the device key (EC JWK members), the JWS signing input, r||s. */
export interface SignatureCheck {
  /** node:crypto hash of the curve's JWS alg (the algorithm registry's nodeHash). */
  hash: string;
  crv: string;
  x: string;
  y: string;
  input: string;
  signature: Uint8Array;
}

export type SignatureChecker = (items: SignatureCheck[]) => Promise<boolean[]>;

interface Slot {
  worker: Worker;
  pending: Map<number, { resolve: (ok: boolean[]) => void; reject: (e: unknown) => void }>;
}

/**
 * Proof signatures checked on worker threads. Importing a device key from its JWK costs OpenSSL
 * ~60 us (it validates the point with a scalar multiplication) and the ECDSA verification ~65 us,
 * more than the HSM's signature of the MSO; on the event loop they were the largest cost of an
 * issuance. A request's proofs go to one worker in one message; the event loop keeps the parsing
 * and every claim check. Workers default to cores - 1 (at least 1), like the HSM signing workers.
 */
export class ProofWorkers {
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private next = 0;

  constructor(count = Math.max(1, availableParallelism() - 1)) {
    for (let i = 0; i < count; i++) {
      const worker = new Worker(new URL("./proof-worker.mjs", import.meta.url));
      worker.unref();
      const slot: Slot = { worker, pending: new Map() };
      worker.on("message", ({ id, ok }: { id: number; ok: boolean[] }) => {
        const p = slot.pending.get(id);
        slot.pending.delete(id);
        p?.resolve(ok);
      });
      const fail = (e: unknown) => {
        const i = this.slots.indexOf(slot);
        if (i >= 0) this.slots.splice(i, 1);
        for (const p of slot.pending.values()) p.reject(e);
        slot.pending.clear();
      };
      worker.on("error", fail);
      worker.on("exit", () => fail(new Error("proof worker exited")));
      this.slots.push(slot);
    }
  }

  /** Checks the signatures in one message to the least loaded worker; rejects when none is left. */
  readonly check: SignatureChecker = (items) =>
    new Promise((resolve, reject) => {
      if (this.slots.length === 0) {
        reject(new Error("no proof worker"));
        return;
      }
      let slot = this.slots[this.next++ % this.slots.length]!;
      for (const s of this.slots) if (s.pending.size < slot.pending.size) slot = s;
      const id = this.nextId++;
      slot.pending.set(id, { resolve, reject });
      slot.worker.postMessage({ id, items });
    });

  async close(): Promise<void> {
    const all = this.slots.splice(0);
    await Promise.all(all.map((s) => s.worker.terminate()));
  }
}
