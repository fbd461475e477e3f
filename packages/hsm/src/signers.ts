import { Worker } from "node:worker_threads";
import pkcs11js from "pkcs11js";

interface Pending {
  id: number;
  handle: Buffer;
  digest: Buffer;
  size: number;
  resolve: (sig: Buffer) => void;
  reject: (e: unknown) => void;
}

interface Slot {
  worker: Worker;
  busy: boolean;
  inflight: Map<number, Pending>;
}

const BATCH = 32;

/**
 * ECDSA signing on worker threads. pkcs11js has no async C_SignInit, and SoftHSM does most of
 * a signature's work in C_SignInit (it decrypts the key object), so signing with C_SignInit on the
 * event loop plus async C_Sign still blocks the loop for most of each signature. Each worker owns
 * one session and runs C_SignInit + C_Sign for a batch of queued digests, which also amortises the
 * thread hand-off under load. Logins are per application, so worker sessions are logged in too.
 * Errors come back as PKCS#11 codes; the KeyStore then retries on its own (recovering) path.
 */
export class SignWorkers {
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private closed = false;

  constructor(
    module: string,
    count: number,
    private readonly slot: () => Buffer,
  ) {
    for (let i = 0; i < count; i++) {
      const worker = new Worker(new URL("./sign-worker.mjs", import.meta.url), { workerData: { module } });
      worker.unref();
      const s: Slot = { worker, busy: false, inflight: new Map() };
      worker.on(
        "message",
        (results: Array<{ id: number; sig?: Uint8Array; code?: number; message?: string }> | { closed: true }) => {
          if (Array.isArray(results)) this.done(s, results);
        },
      );
      worker.on("error", (e) => this.failSlot(s, e));
      worker.on("exit", () => this.failSlot(s, new Error("signing worker exited")));
      this.slots.push(s);
    }
  }

  sign(handle: Buffer, digest: Buffer, size: number): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      if (this.closed || this.slots.length === 0) {
        reject(new Error("signing workers closed"));
        return;
      }
      this.queue.push({ id: this.nextId++, handle, digest, size, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    for (const s of this.slots) {
      if (this.queue.length === 0) return;
      if (s.busy) continue;
      const items = this.queue.splice(0, BATCH);
      s.busy = true;
      for (const p of items) s.inflight.set(p.id, p);
      s.worker.postMessage({
        slot: this.slot(),
        items: items.map((p) => ({ id: p.id, handle: p.handle, digest: p.digest, size: p.size })),
      });
    }
  }

  private done(s: Slot, results: Array<{ id: number; sig?: Uint8Array; code?: number; message?: string }>): void {
    for (const r of results) {
      const p = s.inflight.get(r.id);
      if (!p) continue;
      s.inflight.delete(r.id);
      if (r.sig) p.resolve(Buffer.from(r.sig.buffer, r.sig.byteOffset, r.sig.byteLength));
      else p.reject(new pkcs11js.Pkcs11Error(r.message ?? "signing worker error", r.code ?? 0, "C_Sign"));
    }
    s.busy = false;
    this.pump();
  }

  private failSlot(s: Slot, e: unknown): void {
    const i = this.slots.indexOf(s);
    if (i >= 0) this.slots.splice(i, 1);
    for (const p of s.inflight.values()) p.reject(e);
    s.inflight.clear();
    if (this.slots.length === 0) for (const p of this.queue.splice(0)) p.reject(e);
    else this.pump();
  }

  /**
   * Stops the workers; resolves when no worker is inside the module any more. Each worker first closes
   * its session (queued after any batch it is running), so no session of ours stays open on the token.
   */
  async close(): Promise<void> {
    this.closed = true;
    const all = this.slots.splice(0);
    for (const p of this.queue.splice(0)) p.reject(new Error("signing workers closed"));
    await Promise.all(
      all.map(async (s) => {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 5000);
          const finish = () => {
            clearTimeout(timer);
            resolve();
          };
          s.worker.on("message", (m: unknown) => {
            if (m && typeof m === "object" && "closed" in m) finish();
          });
          s.worker.once("exit", finish);
          s.worker.postMessage({ close: true });
        });
        await s.worker.terminate();
      }),
    );
  }
}
