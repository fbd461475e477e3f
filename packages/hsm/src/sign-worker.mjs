// Signing worker thread (see signers.ts): C_SignInit + C_Sign for batches of digests on its own
// session, so neither call runs on the event loop. Plain JS: loaded by node:worker_threads as is.
import { parentPort, workerData } from "node:worker_threads";
import pkcs11js from "pkcs11js";

const p11 = new pkcs11js.PKCS11();
p11.load(workerData.module);
try {
  p11.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
} catch (e) {
  if (e.code !== pkcs11js.CKR_CRYPTOKI_ALREADY_INITIALIZED) throw e;
}
const mechanism = { mechanism: pkcs11js.CKM_ECDSA };
let session = null;
let slot = null;

parentPort.on("message", (batch) => {
  if (batch.close) {
    // Deactivation (hsm.deactivation.close): close this worker's session before the thread ends, so the
    // process holds no session (and so no login) on the token once the KeyStore is closed.
    try {
      if (session) p11.C_CloseSession(session);
    } catch {
      // already gone
    }
    session = null;
    parentPort.postMessage({ closed: true });
    return;
  }
  const results = [];
  for (const item of batch.items) {
    try {
      if (!session || !slot?.equals(batch.slot)) {
        if (session) p11.C_CloseSession(session);
        session = null;
        slot = Buffer.from(batch.slot);
        session = p11.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION);
      }
      p11.C_SignInit(session, mechanism, Buffer.from(item.handle));
      const sig = p11.C_Sign(session, Buffer.from(item.digest), Buffer.alloc(item.size));
      results.push({ id: item.id, sig });
    } catch (e) {
      const code = typeof e.code === "number" ? e.code : -1;
      results.push({ id: item.id, code, message: String(e.message) });
      // Any failure may leave the session unusable or mid-operation: start over with a new one.
      try {
        if (session) p11.C_CloseSession(session);
      } catch {
        // already gone
      }
      session = null;
    }
  }
  parentPort.postMessage(results);
});
