import pkcs11js from "pkcs11js";
import { ckr, HsmError, toHsmError } from "./errors.ts";

/**
 * A PKCS#11 library loaded and initialised once per process (C_Initialize is process-wide,
 * so every KeyStore and the WebCrypto bridge on the same library share one instance).
 */
export interface LoadedModule {
  readonly path: string;
  readonly p11: pkcs11js.PKCS11;
  refs: number;
  /** False when another component of the process initialised the library first. */
  ownsInitialize: boolean;
}

const modules = new Map<string, LoadedModule>();

export function acquireModule(path: string): LoadedModule {
  const existing = modules.get(path);
  if (existing) {
    existing.refs++;
    return existing;
  }
  const p11 = new pkcs11js.PKCS11();
  try {
    p11.load(path);
  } catch (e) {
    throw new HsmError(
      "HSM_MODULE_LOAD_FAILED",
      `cannot load PKCS#11 module ${path}: ${(e as Error).message}`,
      { module: path },
      { cause: e },
    );
  }
  let ownsInitialize = true;
  try {
    // OS locking: sessions are used from libuv worker threads (the *Async calls).
    p11.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  } catch (e) {
    if (ckr(e) === pkcs11js.CKR_CRYPTOKI_ALREADY_INITIALIZED) ownsInitialize = false;
    else {
      p11.close();
      throw toHsmError(e, `C_Initialize(${path})`, { module: path });
    }
  }
  const m: LoadedModule = { path, p11, refs: 1, ownsInitialize };
  modules.set(path, m);
  return m;
}

export function releaseModule(m: LoadedModule): void {
  if (--m.refs > 0) return;
  modules.delete(m.path);
  try {
    if (m.ownsInitialize) m.p11.C_Finalize();
  } catch {
    // already finalised
  }
  m.p11.close();
}

function trim(s: string): string {
  return s.replace(/[\s\0]+$/, "");
}

/** The slot holding the token with this label (CK_TOKEN_INFO.label, blank padded). */
export function findSlot(p11: pkcs11js.PKCS11, token: string): Buffer {
  let slots: Buffer[];
  try {
    slots = p11.C_GetSlotList(true);
  } catch (e) {
    throw toHsmError(e, "C_GetSlotList");
  }
  const found: Buffer[] = [];
  for (const slot of slots) {
    try {
      if (trim(p11.C_GetTokenInfo(slot).label) === token) found.push(slot);
    } catch {
      // token vanished between the calls
    }
  }
  if (found.length === 0)
    throw new HsmError("HSM_TOKEN_NOT_FOUND", `no token labelled "${token}" is present`, { token });
  if (found.length > 1)
    throw new HsmError("HSM_CONFIG_INVALID", `${found.length} tokens are labelled "${token}"; labels must be unique`, {
      token,
    });
  return found[0]!;
}
