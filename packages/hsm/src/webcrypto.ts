import { Crypto, type CryptoKey as P11CryptoKey } from "node-webcrypto-p11";
import { HsmError, toHsmError } from "./errors.ts";
import type { KeyStore } from "./keystore.ts";
import { acquireModule, releaseModule, slotIndex } from "./module.ts";
import { type KeyRef, toUri } from "./uri.ts";

export interface WebCryptoKeyPair {
  /** A WebCrypto `Crypto` over the same token (node-webcrypto-p11 / graphene-pk11). */
  crypto: Crypto;
  privateKey: P11CryptoKey;
  publicKey: P11CryptoKey;
  /** Closes the bridge's session; never logs out or finalises the shared module. */
  close(): void;
}

/**
 * A WebCrypto view of a token key so @peculiar/x509 can sign certificates and CRLs:
 * `x509.X509CertificateGenerator.create({ ..., signingKey: privateKey }, crypto)`.
 *
 * node-webcrypto-p11 loads the same library through graphene-pk11 in this process. The library is
 * initialised by our module registry first (with CKF_OS_LOCKING_OK), graphene's C_Initialize gets
 * CKR_CRYPTOKI_ALREADY_INITIALIZED, which it tolerates, and login state is shared (PKCS#11 logins are
 * per application), so its C_Login gets CKR_USER_ALREADY_LOGGED_IN, also tolerated. Never call
 * `crypto.close()` or `crypto.reset()`: they C_Logout (logging out every session of the process on
 * that token) and C_Finalize the module under the KeyStore. Use the returned `close()`.
 * The bridge is synchronous (graphene): for certificates and CRLs, not for the MSO hot path.
 */
export async function webCryptoFor(store: KeyStore, ref: KeyRef): Promise<WebCryptoKeyPair> {
  const u = toUri(ref);
  if (u.token !== undefined && u.token !== store.token)
    throw new HsmError("HSM_TOKEN_MISMATCH", `key URI names token "${u.token}", the store is "${store.token}"`);
  const key = (await store.listKeys()).find(
    (k) => (u.object === undefined || k.label === u.object) && (u.id === undefined || k.id === u.id.toString("hex")),
  );
  if (!key)
    throw new HsmError("HSM_KEY_NOT_FOUND", `no key ${typeof ref === "string" ? ref : u.object} on "${store.token}"`);
  if (key.kind !== "ec" || !key.id)
    throw new HsmError("HSM_KEY_TYPE_MISMATCH", "the WebCrypto bridge is for EC key pairs with a CKA_ID");
  const mod = acquireModule(store.module);
  let crypto: Crypto | undefined;
  try {
    crypto = new Crypto({
      library: store.module,
      slot: slotIndex(mod.p11, store.slotId),
      readWrite: false,
      pin: store.pinForBridge,
      name: store.token,
    });
    const ids = await crypto.keyStorage.keys();
    const priv = ids.find((i) => i.startsWith("private-") && i.endsWith(`-${key.id}`));
    const pub = ids.find((i) => i.startsWith("public-") && i.endsWith(`-${key.id}`));
    if (!priv || !pub) throw new HsmError("HSM_KEY_NOT_FOUND", `key ${key.uri} not visible to the WebCrypto bridge`);
    const alg = { name: "ECDSA", namedCurve: key.curve };
    const privateKey = await crypto.keyStorage.getItem(priv, alg, false, ["sign"]);
    const publicKey = await crypto.keyStorage.getItem(pub, alg, true, ["verify"]);
    const c = crypto;
    let closed = false;
    return {
      crypto: c,
      privateKey,
      publicKey,
      close() {
        if (closed) return;
        closed = true;
        try {
          c.session.close();
        } catch {
          // gone already
        }
        releaseModule(mod);
      },
    };
  } catch (e) {
    try {
      crypto?.session.close();
    } catch {
      // ignore
    }
    releaseModule(mod);
    throw toHsmError(e, "WebCrypto bridge", { key: key.uri });
  }
}
