// Signing worker thread (see signers.ts): C_SignInit + C_Sign (ECDSA over a digest, or HMAC) on
// its own session, for requests read from a shared-memory ring, answers written to another; it
// sleeps on a bell word when idle and wakes the event loop only when answers are worth reading.
// Plain JS: loaded by node:worker_threads as is. The ring layout comes from signers.ts (RING).
import { parentPort, workerData } from "node:worker_threads";
import pkcs11js from "pkcs11js";

const { module, ctrl: ctrlBuf, req: reqBuf, res: resBuf, layout: L } = workerData;
const { REQ_HEAD, RES_HEAD, WAKE, CLOSE, SLEEPING, BELL, REQ_SLOT, RES_SLOT, CAPACITY: capacity } = L;
const ctrl = new Int32Array(ctrlBuf);
const req = new Uint8Array(reqBuf);
const reqView = new DataView(reqBuf);
const res = new Uint8Array(resBuf);
const resView = new DataView(resBuf);

const p11 = new pkcs11js.PKCS11();
p11.load(module);
try {
  p11.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
} catch (e) {
  if (e.code !== pkcs11js.CKR_CRYPTOKI_ALREADY_INITIALIZED) throw e;
}
const mechanisms = new Map();
let session = null;
let slot = null;

function dropSession() {
  try {
    if (session) p11.C_CloseSession(session);
  } catch {
    // already gone
  }
  session = null;
}

/** `len` bytes of the request ring at `offset`, as a Buffer sharing its memory. */
const view = (offset, len) => Buffer.from(reqBuf, offset, len);
/** The one output buffer of C_Sign (a signature never exceeds an answer slot). */
const out = Buffer.alloc(RES_SLOT);

/** Signs request `seq`; returns [status, signature]: 0 and r||s, or a PKCS#11 code (-1: other error). */
function signOne(seq) {
  const o = (seq % capacity) * REQ_SLOT;
  const dataLen = reqView.getInt32(o + L.REQ_DATA_LEN, true);
  const sigSize = reqView.getInt32(o + L.REQ_SIG_SIZE, true);
  const handleLen = reqView.getInt32(o + L.REQ_HANDLE_LEN, true);
  const slotLen = reqView.getInt32(o + L.REQ_SLOT_LEN, true);
  // Views over the request ring, not copies: this thread never returns to its event loop, so
  // every ArrayBuffer it allocates waits on V8's own collection; per-signature copies grew the RSS.
  const handle = view(o + L.REQ_HANDLE, handleLen);
  const wantSlot = req.subarray(o + L.REQ_SLOT_ID, o + L.REQ_SLOT_ID + slotLen);
  const data = view(o + L.REQ_DATA, dataLen);
  const m = reqView.getInt32(o + L.REQ_MECHANISM, true);
  let mechanism = mechanisms.get(m);
  if (!mechanism) {
    mechanism = { mechanism: m };
    mechanisms.set(m, mechanism);
  }
  try {
    if (!session || !slot.equals(wantSlot)) {
      dropSession();
      slot = Buffer.from(wantSlot);
      session = p11.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION);
    }
    p11.C_SignInit(session, mechanism, handle);
    // the signature is copied into the answer ring before the next request reuses `out`
    return [0, p11.C_Sign(session, data, out.subarray(0, sigSize))];
  } catch (e) {
    // Any failure may leave the session unusable or mid-operation: start over with a new one.
    dropSession();
    return [typeof e.code === "number" ? e.code : -1, undefined];
  }
}

let tail = 0;
let resHead = 0;
let unreported = 0;
for (;;) {
  // The bell is read first: whatever the main thread stores (a request, the close flag), it then
  // rings the bell, so a change missed by the checks below makes the wait return at once.
  const bell = Atomics.load(ctrl, BELL);
  if (Atomics.load(ctrl, REQ_HEAD) === tail) {
    // Deactivation (hsm.deactivation.close): once every accepted request is answered, close this
    // worker's session, so the process holds no session (and no login) once the KeyStore is closed.
    if (Atomics.load(ctrl, CLOSE)) break;
    // The main thread pays for a wake-up (a futex syscall) only while this flag is set.
    Atomics.store(ctrl, SLEEPING, 1);
    Atomics.wait(ctrl, BELL, bell);
    Atomics.store(ctrl, SLEEPING, 0);
    continue;
  }
  const seq = reqView.getInt32((tail % capacity) * REQ_SLOT + L.REQ_SEQ, true);
  const [status, sig] = signOne(tail);
  tail++;
  const o = (resHead % capacity) * RES_SLOT;
  resView.setInt32(o + L.RES_SEQ, seq, true);
  resView.setInt32(o + L.RES_STATUS, status, true);
  resView.setInt32(o + L.RES_LEN, sig ? sig.length : 0, true);
  if (sig) res.set(sig, o + L.RES_SIG);
  resHead++;
  Atomics.store(ctrl, RES_HEAD, resHead);
  // A wake-up costs this thread ~10 us (about a sixth of a SoftHSM signature), so answers are
  // announced once there are at least as many waiting to be read as requests left to sign: the
  // event loop gets work before this thread runs dry (always when the ring is empty), and a busy
  // ring is not interrupted for every answer. A skipped announcement is never lost: the next one
  // covers every answer written.
  if (++unreported >= Atomics.load(ctrl, REQ_HEAD) - tail) {
    unreported = 0;
    if (Atomics.exchange(ctrl, WAKE, 1) === 0) parentPort.postMessage(0);
  }
}
dropSession();
parentPort.postMessage({ closed: true });
