import { Worker } from "node:worker_threads";
import pkcs11js from "pkcs11js";

/**
 * Shared-memory layout of a worker's rings, the one definition: sign-worker.mjs receives it in
 * workerData. ctrl is Int32 words; a request slot holds seq, data length, signature size, handle
 * length, slot-id length, handle[16], slot id[16], data[64] (a digest for ECDSA, the message for
 * HMAC), mechanism; a result slot holds seq, status (0 or a PKCS#11 code, -1 other), length,
 * signature[132].
 */
const RING = {
  REQ_HEAD: 0,
  RES_HEAD: 1,
  WAKE: 2,
  CLOSE: 3,
  SLEEPING: 4,
  BELL: 5,
  CTRL_WORDS: 8,
  REQ_SLOT: 128,
  REQ_SEQ: 0,
  REQ_DATA_LEN: 4,
  REQ_SIG_SIZE: 8,
  REQ_HANDLE_LEN: 12,
  REQ_SLOT_LEN: 16,
  REQ_HANDLE: 20,
  REQ_SLOT_ID: 36,
  REQ_DATA: 52,
  REQ_MECHANISM: 116,
  RES_SLOT: 160,
  RES_SEQ: 0,
  RES_STATUS: 4,
  RES_LEN: 8,
  RES_SIG: 12,
  MAX_ID: 16,
  MAX_DATA: 64,
  MAX_SIG: 132,
  /** Requests a worker holds at once; more wait in the main thread's queue. */
  CAPACITY: 256,
} as const;
const { REQ_HEAD, RES_HEAD, WAKE, CLOSE, SLEEPING, BELL, REQ_SLOT, RES_SLOT, MAX_ID, MAX_DATA, MAX_SIG, CAPACITY } =
  RING;

interface Pending {
  seq: number;
  handle: Buffer;
  data: Buffer;
  size: number;
  mechanism: number;
  resolve: (sig: Buffer) => void;
  reject: (e: unknown) => void;
}

interface Slot {
  worker: Worker;
  ctrl: Int32Array;
  req: Uint8Array;
  reqView: DataView;
  res: Uint8Array;
  resView: DataView;
  /** Requests written (the ring's head) and results read; their difference is in flight. */
  written: number;
  read: number;
  /** In-flight requests in ring order: result k answers request k. */
  inflight: Pending[];
}

/**
 * ECDSA (and HMAC) signing on worker threads. pkcs11js has no async C_SignInit, and SoftHSM does most of
 * a signature's work in C_SignInit (it decrypts the key object), so signing with C_SignInit on the
 * event loop plus async C_Sign still blocks the loop for most of each signature. Each worker owns
 * one session and signs requests from a shared-memory ring (no structured clone, no message per
 * request); each answer is written back as soon as it is made, so the event loop can use a
 * signature while the worker makes the next one. Logins are per application, so worker sessions are
 * logged in too. Errors come back as PKCS#11 codes; the KeyStore then retries on its own
 * (recovering) path.
 */
export class SignWorkers {
  /** Longest data a request carries (a SHA-512 digest, or a short HMAC message). */
  static readonly MAX_DATA = RING.MAX_DATA;
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private nextSeq = 1;
  private closed = false;
  private pumpQueued = false;

  private readonly slot: () => Buffer;
  constructor(module: string, count: number, slot: () => Buffer) {
    this.slot = slot;
    for (let i = 0; i < count; i++) {
      const ctrlBuf = new SharedArrayBuffer(4 * RING.CTRL_WORDS);
      const reqBuf = new SharedArrayBuffer(REQ_SLOT * CAPACITY);
      const resBuf = new SharedArrayBuffer(RES_SLOT * CAPACITY);
      const worker = new Worker(new URL("./sign-worker.mjs", import.meta.url), {
        workerData: { module, ctrl: ctrlBuf, req: reqBuf, res: resBuf, layout: RING },
      });
      worker.unref();
      const s: Slot = {
        worker,
        ctrl: new Int32Array(ctrlBuf),
        req: new Uint8Array(reqBuf),
        reqView: new DataView(reqBuf),
        res: new Uint8Array(resBuf),
        resView: new DataView(resBuf),
        written: 0,
        read: 0,
        inflight: [],
      };
      worker.on("message", (m: unknown) => {
        if (m === 0) this.drain(s);
      });
      worker.on("error", (e) => this.failSlot(s, e));
      worker.on("exit", () => this.failSlot(s, new Error("signing worker exited")));
      this.slots.push(s);
    }
  }

  /** C_SignInit + C_Sign with `mechanism` (CKM_ECDSA over a digest, CKM_SHA256_HMAC over a short message). */
  sign(handle: Buffer, data: Buffer, size: number, mechanism: number = pkcs11js.CKM_ECDSA): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      if (this.closed || this.slots.length === 0) {
        reject(new Error("signing workers closed"));
        return;
      }
      if (handle.length > MAX_ID || data.length > MAX_DATA || size > MAX_SIG) {
        reject(new Error("request does not fit the signing workers' layout"));
        return;
      }
      this.queue.push({ seq: this.nextSeq++ | 0, handle, data, size, mechanism, resolve, reject });
      // one hand-off (and at most one wake-up per worker) for all the requests made in this turn,
      // e.g. the ten MSOs of a batch
      if (!this.pumpQueued) {
        this.pumpQueued = true;
        queueMicrotask(() => {
          this.pumpQueued = false;
          this.pump();
        });
      }
    });
  }

  /** Hands queued requests to the least loaded workers and wakes them. */
  private pump(): void {
    if (this.queue.length === 0) return;
    const slotId = this.slot();
    if (slotId.length > MAX_ID) {
      for (const p of this.queue.splice(0)) p.reject(new Error("slot id does not fit the signing workers' layout"));
      return;
    }
    const touched = new Set<Slot>();
    while (this.queue.length > 0) {
      let s: Slot | undefined;
      for (const c of this.slots)
        if (c.written - c.read < CAPACITY && (!s || c.written - c.read < s.written - s.read)) s = c;
      if (!s) break;
      const p = this.queue.shift() as Pending;
      const o = (s.written % CAPACITY) * REQ_SLOT;
      const v = s.reqView;
      v.setInt32(o + RING.REQ_SEQ, p.seq, true);
      v.setInt32(o + RING.REQ_DATA_LEN, p.data.length, true);
      v.setInt32(o + RING.REQ_SIG_SIZE, p.size, true);
      v.setInt32(o + RING.REQ_HANDLE_LEN, p.handle.length, true);
      v.setInt32(o + RING.REQ_SLOT_LEN, slotId.length, true);
      s.req.set(p.handle, o + RING.REQ_HANDLE);
      s.req.set(slotId, o + RING.REQ_SLOT_ID);
      s.req.set(p.data, o + RING.REQ_DATA);
      v.setInt32(o + RING.REQ_MECHANISM, p.mechanism, true);
      s.inflight.push(p);
      s.written++;
      touched.add(s);
    }
    for (const s of touched) {
      Atomics.store(s.ctrl, REQ_HEAD, s.written);
      this.ring(s);
    }
  }

  /** After a store the worker must see: ring its bell, and wake it if it sleeps (see sign-worker.mjs). */
  private ring(s: Slot): void {
    Atomics.add(s.ctrl, BELL, 1);
    if (Atomics.load(s.ctrl, SLEEPING)) Atomics.notify(s.ctrl, BELL);
  }

  /** Reads every answer the worker has written; re-arms its wake-up first so none is missed. */
  private drain(s: Slot): void {
    Atomics.store(s.ctrl, WAKE, 0);
    const head = Atomics.load(s.ctrl, RES_HEAD);
    while (s.read < head) {
      const o = (s.read % CAPACITY) * RES_SLOT;
      const p = s.inflight.shift();
      s.read++;
      if (!p) continue;
      const seq = s.resView.getInt32(o + RING.RES_SEQ, true);
      const status = s.resView.getInt32(o + RING.RES_STATUS, true);
      const len = s.resView.getInt32(o + RING.RES_LEN, true);
      if (seq !== p.seq) p.reject(new Error("signing worker answered out of order"));
      else if (status === 0) p.resolve(Buffer.from(s.res.subarray(o + RING.RES_SIG, o + RING.RES_SIG + len)));
      else p.reject(new pkcs11js.Pkcs11Error("signing worker error", status, "C_Sign"));
    }
    this.pump();
  }

  private failSlot(s: Slot, e: unknown): void {
    const i = this.slots.indexOf(s);
    if (i >= 0) this.slots.splice(i, 1);
    for (const p of s.inflight.splice(0)) p.reject(e);
    if (this.slots.length === 0) for (const p of this.queue.splice(0)) p.reject(e);
    else this.pump();
  }

  /**
   * Stops the workers; resolves when no worker is inside the module any more. Each worker answers
   * what it has accepted, then closes its session, so no session of ours stays open on the token.
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
            if (m && typeof m === "object" && "closed" in m) {
              this.drain(s);
              finish();
            }
          });
          s.worker.once("exit", finish);
          Atomics.store(s.ctrl, CLOSE, 1);
          this.ring(s);
        });
        await s.worker.terminate();
        for (const p of s.inflight.splice(0)) p.reject(new Error("signing workers closed"));
      }),
    );
  }
}
