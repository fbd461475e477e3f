import pkcs11js from "pkcs11js";
import { ACTIVATION_LOGIN } from "./controls.ts";
import { ckr, HsmError, toHsmError } from "./errors.ts";

/** One open PKCS#11 session handed out by the pool. */
export interface Lease {
  readonly handle: Buffer;
  readonly hex: string;
  dead: boolean;
}

// CK_STATE values (PKCS#11 2.40 5.1): sessions that are not logged in.
const CKS_RO_PUBLIC_SESSION = 0;
const CKS_RW_PUBLIC_SESSION = 2;

interface Waiter {
  resolve: (l: Lease) => void;
  reject: (e: unknown) => void;
}

/**
 * A fixed-size pool of R/W sessions on one slot. A session is used by one operation at a time
 * (C_SignInit ... C_Sign must not interleave), so concurrency equals the pool size.
 *
 * Session handles may be reused by the module after sessions were closed underneath us, so the
 * pool tracks handles by value: a newly opened handle equal to a stale one retires the stale lease.
 */
export class SessionPool {
  private idle: Lease[] = [];
  private byHandle = new Map<string, Lease>();
  private waiters: Waiter[] = [];
  private live = 0;
  opened = 0;
  logins = 0;

  private readonly p11: pkcs11js.PKCS11;
  private slot: () => Buffer;
  private readonly pin: string;
  readonly size: number;
  constructor(p11: pkcs11js.PKCS11, slot: () => Buffer, pin: string, size: number) {
    this.p11 = p11;
    this.slot = slot;
    this.pin = pin;
    this.size = size;
  }

  acquire(): Lease | Promise<Lease> {
    while (this.idle.length > 0) {
      const l = this.idle.pop()!;
      if (!l.dead) return l;
    }
    if (this.live < this.size) return this.open();
    return new Promise<Lease>((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  release(l: Lease): void {
    if (l.dead) {
      this.handOffCapacity();
      return;
    }
    const w = this.waiters.shift();
    if (w) w.resolve(l);
    else this.idle.push(l);
  }

  /** The session is unusable (closed underneath, device error): forget it without C_CloseSession. */
  discard(l: Lease, close = false): void {
    if (!l.dead) {
      l.dead = true;
      this.live--;
      if (this.byHandle.get(l.hex) === l) this.byHandle.delete(l.hex);
      if (close) {
        try {
          this.p11.C_CloseSession(l.handle);
        } catch {
          // already gone
        }
      }
    }
    this.handOffCapacity();
  }

  /** After a session was lost: drop idle sessions that are gone too (C_GetSessionInfo fails). */
  sweep(): void {
    for (const l of this.idle) {
      if (l.dead) continue;
      try {
        this.p11.C_GetSessionInfo(l.handle);
      } catch {
        l.dead = true;
        this.live--;
        if (this.byHandle.get(l.hex) === l) this.byHandle.delete(l.hex);
      }
    }
    this.idle = this.idle.filter((l) => !l.dead);
  }

  /** Logs in again if the token shows the session as public (someone logged out or closed all sessions). */
  ensureLogin(handle: Buffer): void {
    const state = this.p11.C_GetSessionInfo(handle).state;
    if (state !== CKS_RO_PUBLIC_SESSION && state !== CKS_RW_PUBLIC_SESSION) return;
    try {
      // ACTIVATION_LOGIN: one C_Login per token per process; later sessions inherit the login.
      this.p11.C_Login(handle, pkcs11js.CKU_USER, this.pin);
      this.logins++;
    } catch (e) {
      if (ckr(e) !== pkcs11js.CKR_USER_ALREADY_LOGGED_IN)
        throw toHsmError(e, "C_Login", { control: ACTIVATION_LOGIN.id });
    }
  }

  private open(): Lease {
    let handle: Buffer;
    try {
      handle = this.p11.C_OpenSession(this.slot(), pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    } catch (e) {
      throw toHsmError(e, "C_OpenSession");
    }
    try {
      this.ensureLogin(handle);
    } catch (e) {
      try {
        this.p11.C_CloseSession(handle);
      } catch {
        // ignore
      }
      throw e;
    }
    const hex = handle.toString("hex");
    const stale = this.byHandle.get(hex);
    if (stale && !stale.dead) {
      stale.dead = true;
      this.live--;
    }
    const l: Lease = { handle, hex, dead: false };
    this.byHandle.set(hex, l);
    this.live++;
    this.opened++;
    return l;
  }

  private handOffCapacity(): void {
    while (this.waiters.length > 0 && this.live < this.size) {
      const w = this.waiters.shift()!;
      try {
        w.resolve(this.open());
      } catch (e) {
        w.reject(e);
      }
    }
  }

  /** Closes every session; pending acquirers are rejected. */
  close(): void {
    for (const w of this.waiters.splice(0)) w.reject(new HsmError("HSM_CLOSED", "key store closed"));
    for (const l of this.byHandle.values()) {
      if (l.dead) continue;
      l.dead = true;
      try {
        this.p11.C_CloseSession(l.handle);
      } catch {
        // gone already
      }
    }
    this.byHandle.clear();
    this.idle = [];
    this.live = 0;
  }

  setSlot(slot: () => Buffer): void {
    this.slot = slot;
  }
}
