import { type JsonWebKey, type KeyObject, randomBytes } from "node:crypto";
import { availableParallelism } from "node:os";
import type { AuditSink } from "@iaca/policy";
import { ALGORITHMS, type Algorithm, type Curve, type HashAlgorithm } from "@iaca/policy";
import pkcs11js, { type Template } from "pkcs11js";
import {
  ACTIVATION_LOGIN,
  DEACTIVATION_CLOSE,
  KEY_DESTROY_AUDITED,
  KEY_GENERATE_AUDITED,
  KEY_GENERATED_ON_TOKEN,
  KEY_NO_ESCROW,
  KEY_NON_EXTRACTABLE,
  KEY_SIZES,
  KEY_STORED_IN_MODULE,
  KEY_USAGE_SIGN_ONLY,
  SESSION_RECOVERY,
} from "./controls.ts";
import { curveFromParams, publicKeyFromPoint, rawToDer, uncompressedPoint } from "./ec.ts";
import { ckr, DEVICE_LOST, HsmError, SESSION_LOST, toHsmError } from "./errors.ts";
import { acquireModule, findSlot, type LoadedModule, releaseModule } from "./module.ts";
import { type Lease, SessionPool } from "./pool.ts";
import { digest, type Signer, signerOver } from "./signer.ts";
import { SignWorkers } from "./signers.ts";
import { formatPkcs11Uri, type KeyRef, keyUri, type Pkcs11Uri, toUri } from "./uri.ts";

export interface KeyStoreOptions {
  /** Path of the PKCS#11 library (e.g. /usr/lib/softhsm/libsofthsm2.so). */
  module: string;
  /** Token label (CK_TOKEN_INFO.label). */
  token: string;
  /** User PIN; comes from the environment or a PIN file, see hsmConfigFromEnv(). */
  pin: string;
  /** Receives key generation and destruction decisions. */
  audit: AuditSink;
  /** Default audit actor (default "svc:hsm"). */
  actor?: string;
  /** Sessions in the pool = maximum concurrent operations (default max(8, 2 x cores)). */
  sessions?: number;
  /** Name reported by a cluster (default: the token label). */
  name?: string;
  /**
   * Worker threads running C_SignInit + C_Sign for ECDSA (default: CPU cores - 1, at least 1, so the
   * event loop keeps a core for the work around each signature; more suit a network HSM, whose
   * calls wait on the network; 0: sign on the pool with C_SignInit on the event loop and async
   * C_Sign on a libuv worker).
   */
  signWorkers?: number;
}

export type KeyKind = "ec" | "aes" | "hmac";

export interface KeyInfo {
  /** `pkcs11:token=...;object=...;id=...` (no type: names the whole key pair). */
  uri: string;
  label: string;
  /** CKA_ID, hex. */
  id: string;
  kind: KeyKind;
  curve?: Curve;
}

/** Security attributes read back from the token (what the controls assert). */
export interface KeyAttributes {
  token: boolean;
  private: boolean;
  sensitive: boolean;
  extractable: boolean;
  alwaysSensitive: boolean;
  neverExtractable: boolean;
  local: boolean;
  sign: boolean;
  decrypt: boolean;
  unwrap: boolean;
  derive: boolean;
}

export interface HsmPublicKey {
  curve: Curve;
  /** SubjectPublicKeyInfo DER. */
  spki: Buffer;
  keyObject: KeyObject;
  jwk: JsonWebKey;
  /** Uncompressed point 04||X||Y. */
  point: Buffer;
}

export interface EcdsaSignature {
  /** r||s (IEEE P1363 / COSE / JWS form). */
  raw: Buffer;
  /** X9.62 DER ECDSA-Sig-Value (X.509 / CMS form). */
  der: Buffer;
}

export interface AesGcmSealed {
  /** 96-bit IV, random per message. */
  iv: Buffer;
  ciphertext: Buffer;
  /** 128-bit tag. */
  tag: Buffer;
}

export interface KeyStoreStats {
  sessions: number;
  sessionsOpened: number;
  sessionsLost: number;
  logins: number;
  /** Signatures (ECDSA and HMAC) made on the signing workers, and worker attempts retried on the pool. */
  workerSignatures: number;
  workerRetries: number;
}

interface CachedKey {
  handle: Buffer;
  curve?: Algorithm;
}

interface AuditOpts {
  actor?: string;
  reason?: string;
}

const { CKA_CLASS, CKA_TOKEN, CKA_PRIVATE, CKA_LABEL, CKA_ID, CKA_KEY_TYPE } = pkcs11js;
const { CKO_PRIVATE_KEY, CKO_PUBLIC_KEY, CKO_SECRET_KEY } = pkcs11js;

const ECDSA: pkcs11js.Mechanism = { mechanism: pkcs11js.CKM_ECDSA };

function defaultSessions(): number {
  return Math.max(8, 2 * availableParallelism());
}

/** A software token signs on the CPU: leave the event loop a core of its own. */
export function defaultSignWorkers(): number {
  return Math.max(1, availableParallelism() - 1);
}

function checkLabel(label: string): void {
  if (!/^[\x20-\x7e]{1,64}$/.test(label))
    throw new HsmError("HSM_INVALID_INPUT", "key label must be 1-64 printable ASCII characters");
}

/**
 * PKCS#11 key custody on one token: EC signing keys (P-256/384/521), AES-256-GCM and HMAC-SHA256
 * secret keys, all generated on the token and never extractable. One login per process and token,
 * a pool of sessions for parallel signing, async (libuv worker) C_Sign so the event loop never waits
 * on the HSM, and transparent recovery from lost sessions.
 */
export class KeyStore {
  readonly name: string;
  readonly token: string;
  readonly module: string;
  private readonly mod: LoadedModule;
  private readonly p11: pkcs11js.PKCS11;
  private slot: Buffer;
  private readonly pool: SessionPool;
  private readonly keys = new Map<string, CachedKey>();
  private readonly signers: SignWorkers | undefined;
  /** Hot-path cache: signing key by the caller's URI string. Cleared with `keys`. */
  private readonly byRef = new Map<string, CachedKey>();
  /** The same for secret (HMAC) keys. */
  private readonly secretByRef = new Map<string, CachedKey>();
  private readonly parsed = new Map<string, Pkcs11Uri>();
  private sessionsLost = 0;
  private workerSignatures = 0;
  private workerRetries = 0;
  /** Tail of the key generations (see oneAtATime). */
  private generation: Promise<unknown> = Promise.resolve();
  private closed = false;
  private closing: Promise<void> | undefined;

  private readonly opts: KeyStoreOptions;
  private constructor(opts: KeyStoreOptions, mod: LoadedModule, slot: Buffer) {
    this.opts = opts;
    this.name = opts.name ?? opts.token;
    this.token = opts.token;
    this.module = opts.module;
    this.mod = mod;
    this.p11 = mod.p11;
    this.slot = slot;
    this.pool = new SessionPool(this.p11, () => this.slot, opts.pin, opts.sessions ?? defaultSessions());
    const workers = opts.signWorkers ?? defaultSignWorkers();
    this.signers = workers > 0 ? new SignWorkers(opts.module, workers, () => this.slot) : undefined;
  }

  /** Loads the module (once per process), finds the token by label and logs in (HSM_PIN_INCORRECT, ...). */
  static async open(opts: KeyStoreOptions): Promise<KeyStore> {
    if (!opts.pin) throw new HsmError("HSM_PIN_MISSING", `no PIN configured for token "${opts.token}"`);
    if (opts.sessions !== undefined && !(Number.isInteger(opts.sessions) && opts.sessions > 0))
      throw new HsmError("HSM_CONFIG_INVALID", "sessions must be a positive integer");
    const mod = acquireModule(opts.module);
    let ks: KeyStore | undefined;
    // hsm.activation.login: the login that activates the token's keys is an audit event (CP/CPS 5.4.1)
    const activation = (outcome: "success" | "failure", details: Record<string, unknown> = {}) =>
      opts.audit.append({
        actor: opts.actor ?? "svc:hsm",
        action: "hsm.activate",
        targets: [formatPkcs11Uri({ token: opts.token })],
        outcome,
        clause: ACTIVATION_LOGIN.clause,
        details: { control: ACTIVATION_LOGIN.id, node: opts.name ?? opts.token, ...details },
      });
    try {
      ks = new KeyStore(opts, mod, findSlot(mod.p11, opts.token));
      // Open one session now so a wrong PIN or a missing token fails at start, not on first use.
      ks.pool.release(await ks.pool.acquire());
    } catch (e) {
      if (ks) ks.close();
      else releaseModule(mod);
      const err = toHsmError(e, `open token "${opts.token}"`, { token: opts.token });
      await activation("failure", { code: err.code }).catch(() => undefined);
      throw err;
    }
    try {
      await activation("success");
    } catch (e) {
      ks.close();
      throw e;
    }
    return ks;
  }

  /** `pkcs11:` URI for a key on this token. */
  uriFor(label: string, id?: Buffer | string): string {
    return keyUri(label, id, this.token);
  }

  // ---------------------------------------------------------------- generation

  /** Generates an EC signing key pair on the token (P-256 default). */
  async generateEcKey(label: string, opts: { curve?: Curve } & AuditOpts = {}): Promise<KeyInfo> {
    const curve = ALGORITHMS[opts.curve ?? "P-256"];
    if (!curve) throw new HsmError("HSM_INVALID_INPUT", `unsupported curve ${opts.curve}`, { control: KEY_SIZES.id });
    checkLabel(label);
    const id = randomBytes(16);
    const info: KeyInfo = {
      uri: this.uriFor(label, id),
      label,
      id: id.toString("hex"),
      kind: "ec",
      curve: curve.curve,
    };
    return this.audited("hsm.key.generate", info, opts, () =>
      this.oneAtATime(async () => {
        await this.assertLabelFree(label);
        const common: Template = [
          { type: CKA_TOKEN, value: true },
          { type: CKA_LABEL, value: label },
          { type: CKA_ID, value: id },
        ];
        const pub: Template = [
          ...common,
          { type: CKA_CLASS, value: CKO_PUBLIC_KEY },
          { type: CKA_KEY_TYPE, value: pkcs11js.CKK_EC },
          { type: CKA_PRIVATE, value: false },
          { type: pkcs11js.CKA_EC_PARAMS, value: Buffer.from(curve.curveParams) },
          { type: pkcs11js.CKA_VERIFY, value: true },
          { type: pkcs11js.CKA_ENCRYPT, value: false },
          { type: pkcs11js.CKA_WRAP, value: false },
          { type: pkcs11js.CKA_DERIVE, value: false },
        ];
        const priv: Template = [
          ...common,
          { type: CKA_CLASS, value: CKO_PRIVATE_KEY },
          { type: CKA_KEY_TYPE, value: pkcs11js.CKK_EC },
          // KEY_STORED_IN_MODULE / KEY_NON_EXTRACTABLE / KEY_NO_ESCROW (no C_WrapKey) / KEY_USAGE_SIGN_ONLY
          { type: CKA_PRIVATE, value: true },
          { type: pkcs11js.CKA_SENSITIVE, value: true },
          { type: pkcs11js.CKA_EXTRACTABLE, value: false },
          { type: pkcs11js.CKA_SIGN, value: true },
          { type: pkcs11js.CKA_DECRYPT, value: false },
          { type: pkcs11js.CKA_UNWRAP, value: false },
          { type: pkcs11js.CKA_DERIVE, value: false },
          { type: pkcs11js.CKA_MODIFIABLE, value: false },
        ];
        await this.run("C_GenerateKeyPair", { key: info.uri }, async (s) => {
          // KEY_GENERATED_ON_TOKEN: the pair is created by the module, never imported.
          const kp = await this.p11.C_GenerateKeyPairAsync(s, { mechanism: pkcs11js.CKM_EC_KEY_PAIR_GEN }, pub, priv);
          this.verifyPrivate(s, kp.privateKey, info.uri, { sign: true });
        });
      }),
    );
  }

  /** Generates an AES-256 key (CKM_AES_KEY_GEN) for AES-GCM encryption on the token. */
  async generateAesKey(label: string, opts: AuditOpts = {}): Promise<KeyInfo> {
    return this.generateSecret(label, "aes", opts);
  }

  /** Generates a 256-bit generic secret (CKK_GENERIC_SECRET) for CKM_SHA256_HMAC on the token. */
  async generateHmacKey(label: string, opts: AuditOpts = {}): Promise<KeyInfo> {
    return this.generateSecret(label, "hmac", opts);
  }

  private async generateSecret(label: string, kind: "aes" | "hmac", opts: AuditOpts): Promise<KeyInfo> {
    checkLabel(label);
    const id = randomBytes(16);
    const info: KeyInfo = { uri: this.uriFor(label, id), label, id: id.toString("hex"), kind };
    const aes = kind === "aes";
    return this.audited("hsm.key.generate", info, opts, () =>
      this.oneAtATime(async () => {
        await this.assertLabelFree(label);
        const tpl: Template = [
          { type: CKA_CLASS, value: CKO_SECRET_KEY },
          { type: CKA_KEY_TYPE, value: aes ? pkcs11js.CKK_AES : pkcs11js.CKK_GENERIC_SECRET },
          { type: pkcs11js.CKA_VALUE_LEN, value: 32 },
          { type: CKA_TOKEN, value: true },
          { type: CKA_PRIVATE, value: true },
          { type: CKA_LABEL, value: label },
          { type: CKA_ID, value: id },
          { type: pkcs11js.CKA_SENSITIVE, value: true },
          { type: pkcs11js.CKA_EXTRACTABLE, value: false },
          { type: pkcs11js.CKA_ENCRYPT, value: aes },
          { type: pkcs11js.CKA_DECRYPT, value: aes },
          { type: pkcs11js.CKA_SIGN, value: !aes },
          { type: pkcs11js.CKA_VERIFY, value: !aes },
          { type: pkcs11js.CKA_WRAP, value: false },
          { type: pkcs11js.CKA_UNWRAP, value: false },
          { type: pkcs11js.CKA_DERIVE, value: false },
          { type: pkcs11js.CKA_MODIFIABLE, value: false },
        ];
        const mechanism = aes ? pkcs11js.CKM_AES_KEY_GEN : pkcs11js.CKM_GENERIC_SECRET_KEY_GEN;
        await this.run("C_GenerateKey", { key: info.uri }, async (s) => {
          const h = await this.p11.C_GenerateKeyAsync(s, { mechanism }, tpl);
          this.verifyPrivate(s, h, info.uri, {});
        });
      }),
    );
  }

  /**
   * Key generation runs one at a time per store: it is rare (ceremonies, rotation), the label
   * check and the generation then cannot interleave, and SoftHSM mixes up objects created at once
   * on one token (a key generated alongside another read back another object's attributes).
   */
  private oneAtATime<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.generation.then(fn, fn);
    this.generation = next.catch(() => undefined);
    return next;
  }

  /** Reads back what was generated; a module that ignored the template must not keep the key. */
  private verifyPrivate(s: Buffer, h: Buffer, uri: string, want: { sign?: boolean }): void {
    const a = this.readAttributes(s, h);
    const ok =
      a.token && a.private && a.sensitive && !a.extractable && a.local && a.neverExtractable && !a.unwrap && !a.derive;
    const usageOk = want.sign ? a.sign && !a.decrypt : true;
    if (!ok || !usageOk) {
      try {
        this.p11.C_DestroyObject(s, h);
      } catch {
        // best effort
      }
      throw new HsmError("HSM_OPERATION_FAILED", "generated key does not have the required security attributes", {
        key: uri,
        controls: [
          KEY_NON_EXTRACTABLE.id,
          KEY_NO_ESCROW.id,
          KEY_STORED_IN_MODULE.id,
          KEY_GENERATED_ON_TOKEN.id,
          KEY_USAGE_SIGN_ONLY.id,
        ],
        attributes: a,
      });
    }
  }

  private readAttributes(s: Buffer, h: Buffer): KeyAttributes {
    const types = [
      CKA_TOKEN,
      CKA_PRIVATE,
      pkcs11js.CKA_SENSITIVE,
      pkcs11js.CKA_EXTRACTABLE,
      pkcs11js.CKA_ALWAYS_SENSITIVE,
      pkcs11js.CKA_NEVER_EXTRACTABLE,
      pkcs11js.CKA_LOCAL,
      pkcs11js.CKA_SIGN,
      pkcs11js.CKA_DECRYPT,
      pkcs11js.CKA_UNWRAP,
      pkcs11js.CKA_DERIVE,
    ];
    const v = this.p11.C_GetAttributeValue(
      s,
      h,
      types.map((type) => ({ type })),
    );
    const b = (i: number) => {
      const x = v[i]?.value;
      return Buffer.isBuffer(x) ? x.length > 0 && x[0] !== 0 : Boolean(x);
    };
    return {
      token: b(0),
      private: b(1),
      sensitive: b(2),
      extractable: b(3),
      alwaysSensitive: b(4),
      neverExtractable: b(5),
      local: b(6),
      sign: b(7),
      decrypt: b(8),
      unwrap: b(9),
      derive: b(10),
    };
  }

  private async assertLabelFree(label: string): Promise<void> {
    const n = await this.run("C_FindObjects", {}, (s) => this.find(s, [{ type: CKA_LABEL, value: label }], 1).length);
    if (n > 0) throw new HsmError("HSM_KEY_EXISTS", `a key labelled "${label}" already exists on "${this.token}"`);
  }

  // ---------------------------------------------------------------- lookup

  /** Keys (private and secret) on this token. */
  async listKeys(): Promise<KeyInfo[]> {
    return this.run("list keys", {}, (s) => {
      const out: KeyInfo[] = [];
      for (const cls of [CKO_PRIVATE_KEY, CKO_SECRET_KEY]) {
        for (const h of this.find(s, [{ type: CKA_CLASS, value: cls }], 10_000)) {
          const [label, id, type] = this.p11.C_GetAttributeValue(s, h, [
            { type: CKA_LABEL },
            { type: CKA_ID },
            { type: CKA_KEY_TYPE },
          ]);
          const labelText = (label?.value as Buffer | undefined)?.toString("utf8") ?? "";
          const idBuf = (id?.value as Buffer | undefined) ?? Buffer.alloc(0);
          const kt = ulong(type?.value);
          const kind: KeyKind = kt === pkcs11js.CKK_EC ? "ec" : kt === pkcs11js.CKK_AES ? "aes" : "hmac";
          const info: KeyInfo = {
            uri: this.uriFor(labelText, idBuf),
            label: labelText,
            id: idBuf.toString("hex"),
            kind,
          };
          if (kind === "ec") {
            const [p] = this.p11.C_GetAttributeValue(s, h, [{ type: pkcs11js.CKA_EC_PARAMS }]);
            info.curve = curveFromParams(p?.value as Buffer).curve;
          }
          out.push(info);
        }
      }
      return out.sort((a, b) => a.label.localeCompare(b.label));
    });
  }

  /** Security attributes of the private or secret key (for audits and tests). */
  async keyAttributes(ref: KeyRef): Promise<KeyAttributes> {
    const uri = this.uri(ref);
    return this.run("C_GetAttributeValue", { key: formatPkcs11Uri(uri) }, (s) =>
      this.readAttributes(s, this.findOne(s, uri, uri.type === "secret-key" ? CKO_SECRET_KEY : CKO_PRIVATE_KEY)),
    );
  }

  /** Public key of an EC key pair: SPKI DER, node KeyObject and JWK. */
  async getPublicKey(ref: KeyRef): Promise<HsmPublicKey> {
    const uri = this.uri(ref);
    return this.run("read public key", { key: formatPkcs11Uri(uri) }, (s) => {
      const h = this.findOne(s, uri, CKO_PUBLIC_KEY);
      const [params, point] = this.p11.C_GetAttributeValue(s, h, [
        { type: pkcs11js.CKA_EC_PARAMS },
        { type: pkcs11js.CKA_EC_POINT },
      ]);
      const curve = curveFromParams(params?.value as Buffer);
      const raw = uncompressedPoint(point?.value as Buffer, curve);
      const keyObject = publicKeyFromPoint(raw, curve);
      return {
        curve: curve.curve,
        spki: keyObject.export({ format: "der", type: "spki" }),
        keyObject,
        jwk: keyObject.export({ format: "jwk" }),
        point: raw,
      };
    });
  }

  // ---------------------------------------------------------------- operations

  /**
   * The Signer of an EC key on this token: its curve read once from the token, `signDigest` the
   * worker-thread hot path (signDigestRaw), `sign` hashing in node first.
   */
  async signer(ref: KeyRef): Promise<Signer> {
    const key = typeof ref === "string" ? ref : formatPkcs11Uri(ref);
    const uri = this.uri(key);
    const curve = await this.run("read key", { key }, (s) => this.cachedKey(s, uri, CKO_PRIVATE_KEY, key).curve);
    if (!curve) throw new HsmError("HSM_KEY_TYPE_MISMATCH", "not an EC key", { key });
    return signerOver(curve, (digest) => this.signDigestRaw(key, digest));
  }

  /** ECDSA (CKM_ECDSA) over a digest computed by the caller. */
  async signDigest(ref: KeyRef, digest: Buffer | Uint8Array): Promise<EcdsaSignature> {
    const raw = await this.signDigestRaw(ref, digest);
    return { raw, der: rawToDer(raw) };
  }

  /** Hot path: r||s only. */
  signDigestRaw(ref: KeyRef, digest: Buffer | Uint8Array): Promise<Buffer> {
    if (digest.length < 20 || digest.length > 64)
      return Promise.reject(new HsmError("HSM_INVALID_INPUT", "digest must be 20 to 64 bytes (SHA-1 .. SHA-512)"));
    let uri: Pkcs11Uri;
    try {
      uri = this.uri(ref);
    } catch (e) {
      return Promise.reject(e);
    }
    const data = Buffer.isBuffer(digest) ? digest : Buffer.from(digest);
    const known = typeof ref === "string" ? this.byRef.get(ref) : undefined;
    if (known?.curve && this.signers) {
      const curve = known.curve;
      return this.onWorkers(this.signers.sign(known.handle, data, curve.signatureSize), () =>
        this.signOnPool(ref, uri, data),
      );
    }
    return this.signOnPool(ref, uri, data);
  }

  private signOnPool(ref: KeyRef, uri: Pkcs11Uri, data: Buffer): Promise<Buffer> {
    return this.run("C_Sign", { key: ref }, (s) => {
      const k = (typeof ref === "string" && this.byRef.get(ref)) || this.cachedKey(s, uri, CKO_PRIVATE_KEY, ref);
      if (!k.curve) throw new HsmError("HSM_KEY_TYPE_MISMATCH", "not an EC key");
      this.p11.C_SignInit(s, ECDSA, k.handle);
      // Async C_Sign: runs on a libuv worker thread, the event loop keeps serving.
      return new Promise<Buffer>((resolve, reject) =>
        this.p11.C_Sign(s, data, Buffer.alloc(k.curve!.signatureSize), (err, sig) =>
          err ? reject(err) : resolve(sig),
        ),
      );
    });
  }

  /** Hashes `data` in node (SHA-256/384/512), then CKM_ECDSA on the token. */
  async sign(ref: KeyRef, data: Buffer | Uint8Array, hash: HashAlgorithm = "SHA-256"): Promise<EcdsaSignature> {
    return this.signDigest(ref, digest(hash, data));
  }

  /** AES-256-GCM (CKM_AES_GCM) with a fresh random 96-bit IV and a 128-bit tag. */
  async encrypt(
    ref: KeyRef,
    plaintext: Buffer | Uint8Array,
    opts: { aad?: Buffer | Uint8Array } = {},
  ): Promise<AesGcmSealed> {
    const uri = this.uri(ref);
    const iv = randomBytes(12);
    const pt = Buffer.from(plaintext);
    return this.run("C_Encrypt", { key: ref }, async (s) => {
      const k = this.cachedKey(s, uri, CKO_SECRET_KEY);
      this.p11.C_EncryptInit(s, gcm(iv, opts.aad), k.handle);
      const out = await this.p11.C_EncryptAsync(s, pt, Buffer.alloc(pt.length + 16));
      return { iv, ciphertext: out.subarray(0, out.length - 16), tag: out.subarray(out.length - 16) };
    });
  }

  /** Opens {@link encrypt}'s output; a wrong key, tag or AAD gives HSM_DECRYPT_FAILED. */
  async decrypt(ref: KeyRef, sealed: AesGcmSealed, opts: { aad?: Buffer | Uint8Array } = {}): Promise<Buffer> {
    const uri = this.uri(ref);
    if (sealed.iv.length !== 12 || sealed.tag.length !== 16)
      throw new HsmError("HSM_INVALID_INPUT", "AES-GCM needs a 12-byte IV and a 16-byte tag");
    const input = Buffer.concat([sealed.ciphertext, sealed.tag]);
    return this.run("C_Decrypt", { key: ref }, async (s) => {
      const k = this.cachedKey(s, uri, CKO_SECRET_KEY);
      this.p11.C_DecryptInit(s, gcm(sealed.iv, opts.aad), k.handle);
      try {
        return await this.p11.C_DecryptAsync(s, input, Buffer.alloc(input.length));
      } catch (e) {
        // SoftHSM reports a bad tag as CKR_ENCRYPTED_DATA_INVALID (spec) or CKR_GENERAL_ERROR / CKR_FUNCTION_FAILED.
        const c = ckr(e);
        if (c === pkcs11js.CKR_GENERAL_ERROR || c === pkcs11js.CKR_FUNCTION_FAILED)
          throw new HsmError("HSM_DECRYPT_FAILED", "AES-GCM authentication failed", { key: ref }, { cause: e });
        throw e;
      }
    });
  }

  /** HMAC-SHA256 (CKM_SHA256_HMAC) under a generic secret key on the token; 32 bytes. */
  async hmac(ref: KeyRef, data: Buffer | Uint8Array): Promise<Buffer> {
    const uri = this.uri(ref);
    const input = Buffer.from(data);
    // Like ECDSA, SoftHSM does most of an HMAC's work in C_SignInit: once the key is known, short
    // messages go to the signing workers; any failure there retries on the recovering pool path.
    const known = typeof ref === "string" ? this.secretByRef.get(ref) : undefined;
    if (known && this.signers && input.length <= SignWorkers.MAX_DATA)
      return this.onWorkers(this.signers.sign(known.handle, input, 32, pkcs11js.CKM_SHA256_HMAC), () =>
        this.hmacOnPool(ref, uri, input),
      );
    return this.hmacOnPool(ref, uri, input);
  }

  /**
   * A signing-worker attempt, counted; any failure (lost session, logged out, stale handle) drops
   * the cached handles and retries on the recovering pool path.
   */
  private onWorkers(attempt: Promise<Buffer>, onPool: () => Promise<Buffer>): Promise<Buffer> {
    return attempt.then(
      (sig) => {
        this.workerSignatures++;
        return sig;
      },
      () => {
        this.workerRetries++;
        this.clearKeyCache();
        return onPool();
      },
    );
  }

  private hmacOnPool(ref: KeyRef, uri: Pkcs11Uri, input: Buffer): Promise<Buffer> {
    return this.run("C_Sign(HMAC)", { key: ref }, (s) => {
      const k = this.cachedKey(s, uri, CKO_SECRET_KEY, ref);
      this.p11.C_SignInit(s, { mechanism: pkcs11js.CKM_SHA256_HMAC }, k.handle);
      return this.p11.C_SignAsync(s, input, Buffer.alloc(32));
    });
  }

  /** Destroys every object (private, public, secret) of the key; audited whether it succeeds or not. */
  async destroy(ref: KeyRef, opts: AuditOpts = {}): Promise<void> {
    const uri = this.uri(ref);
    const { type: _t, ...pair } = uri;
    const target = formatPkcs11Uri({ ...pair, token: this.token });
    const actor = opts.actor ?? this.opts.actor ?? "svc:hsm";
    let destroyed = 0;
    try {
      await this.run("C_DestroyObject", { key: target }, (s) => {
        const handles = this.find(s, this.selector(pair), 16);
        if (handles.length === 0) throw new HsmError("HSM_KEY_NOT_FOUND", `no key ${target} on "${this.token}"`);
        for (const h of handles) {
          this.p11.C_DestroyObject(s, h);
          destroyed++;
        }
      });
    } catch (e) {
      const err = toHsmError(e, "destroy key");
      await this.opts.audit.append({
        actor,
        action: "hsm.key.destroy",
        targets: [target],
        outcome: "failure",
        clause: KEY_DESTROY_AUDITED.clause,
        details: { control: KEY_DESTROY_AUDITED.id, code: err.code, destroyed, reason: opts.reason },
      });
      throw err;
    } finally {
      this.clearKeyCache();
    }
    await this.opts.audit.append({
      actor,
      action: "hsm.key.destroy",
      targets: [target],
      outcome: "success",
      clause: KEY_DESTROY_AUDITED.clause,
      details: { control: KEY_DESTROY_AUDITED.id, objects: destroyed, node: this.name, reason: opts.reason },
    });
  }

  stats(): KeyStoreStats {
    return {
      sessions: this.pool.size,
      sessionsOpened: this.pool.opened,
      sessionsLost: this.sessionsLost,
      logins: this.pool.logins,
      workerSignatures: this.workerSignatures,
      workerRetries: this.workerRetries,
    };
  }

  /** Slot handle (for tests that reach the token underneath). */
  get slotId(): Buffer {
    return this.slot;
  }

  /**
   * Deactivates the keys (hsm.deactivation.close): closes every session this store opened, on the pool
   * and in the signing workers. Closing a process's last session on a token logs it out (PKCS#11), so
   * the keys need the PIN again; other stores of this process on the same token keep their login.
   * Resolves when the workers have closed their sessions and the module reference is released.
   */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    void DEACTIVATION_CLOSE;
    this.closed = true;
    this.pool.close();
    this.clearKeyCache();
    // C_Finalize must wait until no signing worker is inside the module.
    this.closing = (this.signers ? this.signers.close() : Promise.resolve())
      .catch(() => undefined)
      .finally(() => releaseModule(this.mod));
    return this.closing;
  }

  // ---------------------------------------------------------------- internals

  private async audited(action: string, info: KeyInfo, opts: AuditOpts, fn: () => Promise<void>): Promise<KeyInfo> {
    const base = {
      actor: opts.actor ?? this.opts.actor ?? "svc:hsm",
      action,
      targets: [info.uri],
      clause: KEY_GENERATE_AUDITED.clause,
    };
    const details = { control: KEY_GENERATE_AUDITED.id, kind: info.kind, curve: info.curve, node: this.name };
    try {
      await fn();
    } catch (e) {
      const err = toHsmError(e, "generate key");
      await this.opts.audit.append({ ...base, outcome: "failure", details: { ...details, code: err.code } });
      throw err;
    }
    await this.opts.audit.append({ ...base, outcome: "success", details: { ...details, reason: opts.reason } });
    return info;
  }

  private clearKeyCache(): void {
    this.keys.clear();
    this.byRef.clear();
    this.secretByRef.clear();
  }

  private uri(ref: KeyRef): Pkcs11Uri {
    let u: Pkcs11Uri | undefined;
    if (typeof ref === "string") {
      u = this.parsed.get(ref);
      if (!u) {
        u = toUri(ref);
        if (this.parsed.size > 10_000) this.parsed.clear();
        this.parsed.set(ref, u);
      }
    } else u = ref;
    if (u.token !== undefined && u.token !== this.token)
      throw new HsmError("HSM_TOKEN_MISMATCH", `key URI names token "${u.token}", this store is "${this.token}"`);
    if (u.object === undefined && u.id === undefined)
      throw new HsmError("HSM_URI_INVALID", "key URI needs object= or id=");
    return u;
  }

  private selector(u: Pkcs11Uri): Template {
    const t: Template = [{ type: CKA_TOKEN, value: true }];
    if (u.object !== undefined) t.push({ type: CKA_LABEL, value: u.object });
    if (u.id !== undefined) t.push({ type: CKA_ID, value: u.id });
    return t;
  }

  private find(s: Buffer, tpl: Template, max: number): Buffer[] {
    this.p11.C_FindObjectsInit(s, tpl);
    try {
      return this.p11.C_FindObjects(s, max);
    } finally {
      this.p11.C_FindObjectsFinal(s);
    }
  }

  private findOne(s: Buffer, u: Pkcs11Uri, cls: number): Buffer {
    const found = this.find(s, [...this.selector(u), { type: CKA_CLASS, value: cls }], 2);
    const what = formatPkcs11Uri({ ...u, token: this.token });
    if (found.length === 0) throw new HsmError("HSM_KEY_NOT_FOUND", `no key ${what} on "${this.token}"`, { key: what });
    if (found.length > 1)
      throw new HsmError("HSM_KEY_EXISTS", `key URI ${what} matches several objects; add id=`, { key: what });
    return found[0]!;
  }

  private cachedKey(s: Buffer, u: Pkcs11Uri, cls: number, ref?: KeyRef): CachedKey {
    const cacheKey = `${cls}|${u.object ?? ""}|${u.id?.toString("hex") ?? ""}`;
    let k = this.keys.get(cacheKey);
    if (!k) {
      k = this.lookupKey(s, u, cls);
      this.keys.set(cacheKey, k);
    }
    // also on a hit: the same key named by another string (e.g. a cluster's token-less URI) must
    // reach the worker fast path too
    if (typeof ref === "string" && this.byRef.size + this.secretByRef.size < 10_000) {
      if (cls === CKO_PRIVATE_KEY) this.byRef.set(ref, k);
      if (cls === CKO_SECRET_KEY) this.secretByRef.set(ref, k);
    }
    return k;
  }

  private lookupKey(s: Buffer, u: Pkcs11Uri, cls: number): CachedKey {
    const handle = this.findOne(s, u, cls);
    const k: CachedKey = { handle };
    if (cls === CKO_PRIVATE_KEY) {
      const [kt, params] = this.p11.C_GetAttributeValue(s, handle, [
        { type: CKA_KEY_TYPE },
        { type: pkcs11js.CKA_EC_PARAMS },
      ]);
      if (ulong(kt?.value) === pkcs11js.CKK_EC) k.curve = curveFromParams(params?.value as Buffer);
    }
    return k;
  }

  /**
   * Runs `fn` on a pooled session. SESSION_RECOVERY: a lost session (closed underneath, token
   * removed, device error) is dropped, the slot is looked up again if needed, and the operation
   * retried on a fresh session, logging in again if the token logged us out.
   */
  private async run<T>(op: string, details: Record<string, unknown>, fn: (s: Buffer) => T | Promise<T>): Promise<T> {
    let last: unknown;
    let handleRetried = false;
    for (let attempt = 0; attempt < 4; attempt++) {
      if (this.closed) throw new HsmError("HSM_CLOSED", "key store closed");
      let lease: Lease;
      try {
        const l = this.pool.acquire();
        lease = l instanceof Promise ? await l : l;
      } catch (e) {
        const c = ckr((e as Error).cause) ?? ckr(e);
        if (c !== undefined && DEVICE_LOST.has(c) && attempt < 3) {
          last = e;
          this.relocate();
          continue;
        }
        throw toHsmError(e, op, { ...details, token: this.token });
      }
      try {
        const r = await fn(lease.handle);
        this.pool.release(lease);
        return r;
      } catch (e) {
        const c = ckr(e);
        last = e;
        if (c !== undefined && SESSION_LOST.has(c)) {
          this.sessionsLost++;
          // A logged-out token hides private objects: their handles are void after re-login.
          this.clearKeyCache();
          this.pool.discard(lease);
          this.pool.sweep();
          if (DEVICE_LOST.has(c)) this.relocate();
          continue;
        }
        if (c === pkcs11js.CKR_USER_NOT_LOGGED_IN) {
          this.clearKeyCache();
          try {
            this.pool.ensureLogin(lease.handle);
          } catch (le) {
            this.pool.release(lease);
            throw toHsmError(le, op, { ...details, token: this.token });
          }
          this.pool.release(lease);
          continue;
        }
        if (c === pkcs11js.CKR_OPERATION_ACTIVE) {
          this.pool.discard(lease, true);
          continue;
        }
        if ((c === pkcs11js.CKR_OBJECT_HANDLE_INVALID || c === pkcs11js.CKR_KEY_HANDLE_INVALID) && !handleRetried) {
          handleRetried = true;
          this.clearKeyCache();
          this.pool.release(lease);
          continue;
        }
        if (c === undefined && !(e instanceof HsmError)) this.pool.discard(lease, true);
        else this.pool.release(lease);
        throw toHsmError(e, op, { ...details, token: this.token });
      }
    }
    throw toHsmError(last, `${op} (after session recovery, ${SESSION_RECOVERY.id})`, {
      ...details,
      token: this.token,
    });
  }

  /** The token may be in another slot after a device reset; cached object handles are void. */
  private relocate(): void {
    this.clearKeyCache();
    try {
      this.slot = findSlot(this.p11, this.token);
    } catch {
      // keep the old slot; the next open reports the error
    }
  }
}

/** A CK_ULONG attribute value (pkcs11js returns the native little-endian bytes). */
function ulong(v: unknown): number {
  if (typeof v === "number") return v;
  if (!Buffer.isBuffer(v) || v.length === 0) return -1;
  return v.readUIntLE(0, Math.min(6, v.length));
}

function gcm(iv: Buffer, aad?: Buffer | Uint8Array): pkcs11js.Mechanism {
  return {
    mechanism: pkcs11js.CKM_AES_GCM,
    // SoftHSM 2.6 implements the PKCS#11 v2.40 CK_GCM_PARAMS (with ulIvBits): CK_PARAMS_GCM.
    parameter: {
      type: pkcs11js.CK_PARAMS_GCM,
      iv,
      ivBits: iv.length * 8,
      ...(aad ? { aad: Buffer.from(aad) } : {}),
      tagBits: 128,
    } as pkcs11js.GcmParams,
  };
}
