import { ALGORITHMS, type AuditSink, type HashAlgorithm } from "@iaca/policy";
import { type HsmConfig, type HsmRole, roleConfig } from "./config.ts";
import { CLUSTER_FAILOVER } from "./controls.ts";
import { HsmError, type HsmErrorCode, toHsmError } from "./errors.ts";
import {
  type AesGcmSealed,
  type EcdsaSignature,
  type HsmPublicKey,
  KeyStore,
  type KeyStoreOptions,
} from "./keystore.ts";
import { type Signer, signerOver } from "./signer.ts";
import { formatPkcs11Uri, type KeyRef, keyUri, type Pkcs11Uri, toUri } from "./uri.ts";

export interface ClusterNodeOptions extends Omit<KeyStoreOptions, "audit"> {
  name: string;
}

export interface ClusterOptions {
  nodes: ClusterNodeOptions[];
  audit: AuditSink;
  /** First retry delay after a node failed; doubles per consecutive failure up to maxBackoffMs. */
  retryBackoffMs?: number;
  maxBackoffMs?: number;
}

export interface NodeStatus {
  name: string;
  token: string;
  healthy: boolean;
  consecutiveFailures: number;
  /** Epoch ms before which the node is only used if no other node is left. */
  retryAt: number;
  lastError?: string;
}

/** A result plus the name of the node that produced it. */
export type Served<T> = T & { node: string };

interface NodeState {
  opts: ClusterNodeOptions;
  store?: KeyStore;
  failures: number;
  retryAt: number;
  lastError?: HsmErrorCode;
}

/** Errors that say nothing about the node: report to the caller, do not try another node. */
const CALLER_ERRORS = new Set<HsmErrorCode>([
  "HSM_INVALID_INPUT",
  "HSM_URI_INVALID",
  "HSM_KEY_TYPE_MISMATCH",
  "HSM_TOKEN_MISMATCH",
  "HSM_DECRYPT_FAILED",
]);
/** Errors that do not make the node unhealthy but may succeed on another node. */
const TRY_NEXT = new Set<HsmErrorCode>(["HSM_KEY_NOT_FOUND", "HSM_KEY_EXISTS", "HSM_MECHANISM_UNSUPPORTED"]);

/**
 * A key label served by several HSM nodes (the seed's HSM cluster). Operations go to the first
 * healthy node in configured order; CLUSTER_FAILOVER: when it fails, the next node serves and the
 * failed node is retried after an exponential backoff. Results say which node served.
 *
 * A production HSM cluster replicates the same key to every node (vendor cloning under the
 * security domain). SoftHSM cannot copy non-extractable keys, so in tests each node has its own
 * key under the same label and callers verify with the serving node's public key.
 */
export class ClusterKeyStore {
  private readonly states: NodeState[];
  private readonly backoff: number;
  private readonly maxBackoff: number;
  private closed = false;

  private readonly opts: ClusterOptions;
  private constructor(opts: ClusterOptions) {
    this.opts = opts;
    if (opts.nodes.length === 0) throw new HsmError("HSM_CONFIG_INVALID", "an HSM cluster needs at least one node");
    this.states = opts.nodes.map((n) => ({ opts: n, failures: 0, retryAt: 0 }));
    this.backoff = opts.retryBackoffMs ?? 1000;
    this.maxBackoff = opts.maxBackoffMs ?? 60_000;
  }

  /** Opens every node; fails only if none can be opened (a single node's error is rethrown as is). */
  static async open(opts: ClusterOptions): Promise<ClusterKeyStore> {
    const c = new ClusterKeyStore(opts);
    const errors: HsmError[] = [];
    for (const s of c.states) {
      try {
        await c.storeOf(s);
      } catch (e) {
        errors.push(c.markFailed(s, e));
      }
    }
    if (errors.length === c.states.length) {
      void c.close();
      if (errors.length === 1) throw errors[0]!;
      throw new HsmError("HSM_UNAVAILABLE", "no HSM node of the cluster could be opened", {
        nodes: c.status().map((n) => ({ name: n.name, error: n.lastError })),
      });
    }
    return c;
  }

  /** The cluster of an HSM role from {@link hsmConfigFromEnv}. */
  static forRole(config: HsmConfig, role: HsmRole, audit: AuditSink): Promise<ClusterKeyStore> {
    const r = roleConfig(config, role);
    return ClusterKeyStore.open({
      audit,
      retryBackoffMs: config.retryBackoffMs,
      nodes: r.nodes.map((n) => ({
        ...n,
        ...(config.sessions ? { sessions: config.sessions } : {}),
        ...(config.signWorkers !== undefined ? { signWorkers: config.signWorkers } : {}),
      })),
    });
  }

  signDigest(ref: KeyRef, digest: Buffer | Uint8Array): Promise<Served<EcdsaSignature>> {
    const u = nodeRef(ref);
    return this.serve((ks) => ks.signDigest(u, digest));
  }

  sign(ref: KeyRef, data: Buffer | Uint8Array, hash: HashAlgorithm = "SHA-256"): Promise<Served<EcdsaSignature>> {
    const u = nodeRef(ref);
    return this.serve((ks) => ks.sign(u, data, hash));
  }

  /** signDigest without the DER form: the issuer's hot path (the serving node is not reported). */
  async signDigestRaw(ref: KeyRef, digest: Buffer | Uint8Array): Promise<Buffer> {
    // a string reference: the nodes' KeyStores cache string refs and sign them on their workers
    const u = nodeRefString(ref);
    return this.serveValue((ks) => ks.signDigestRaw(u, digest));
  }

  /**
   * The Signer of a key every node holds: its curve from the serving node's public key, each
   * signature from whichever node serves it (signDigestRaw).
   */
  async signer(ref: KeyRef): Promise<Signer> {
    const { curve } = await this.getPublicKey(ref);
    return signerOver(ALGORITHMS[curve], (digest) => this.signDigestRaw(ref, digest));
  }

  /** HMAC with a secret key every node holds (cloned: the same key gives the same MAC on any node). */
  async hmac(ref: KeyRef, data: Buffer | Uint8Array): Promise<Buffer> {
    const u = nodeRefString(ref);
    return this.serveValue((ks) => ks.hmac(u, data));
  }

  encrypt(ref: KeyRef, plaintext: Buffer | Uint8Array, opts: { aad?: Buffer | Uint8Array } = {}) {
    const u = nodeRef(ref);
    return this.serve((ks) => ks.encrypt(u, plaintext, opts));
  }

  async decrypt(ref: KeyRef, sealed: AesGcmSealed, opts: { aad?: Buffer | Uint8Array } = {}): Promise<Buffer> {
    const u = nodeRef(ref);
    return this.serveValue((ks) => ks.decrypt(u, sealed, opts));
  }

  /** A key named by label (and id) only: every node holds it under its own token label. */
  uriFor(label: string, id?: Buffer | string): string {
    return keyUri(label, id);
  }

  /** Public key as held by one node (default: the node that would serve now). */
  async getPublicKey(ref: KeyRef, node?: string): Promise<Served<HsmPublicKey>> {
    const u = nodeRef(ref);
    if (node !== undefined) {
      const ks = await this.node(node);
      return { ...(await ks.getPublicKey(u)), node };
    }
    return this.serve((ks) => ks.getPublicKey(u));
  }

  /** The KeyStore of one node, for administration (generate, destroy, list). */
  async node(name: string): Promise<KeyStore> {
    const s = this.states.find((x) => x.opts.name === name);
    if (!s) throw new HsmError("HSM_CONFIG_INVALID", `no cluster node "${name}"`);
    return this.storeOf(s);
  }

  status(now = Date.now()): NodeStatus[] {
    return this.states.map((s) => ({
      name: s.opts.name,
      token: s.opts.token,
      healthy: s.failures === 0 || s.retryAt <= now,
      consecutiveFailures: s.failures,
      retryAt: s.retryAt,
      ...(s.lastError ? { lastError: s.lastError } : {}),
    }));
  }

  /** Closes every node's KeyStore (hsm.deactivation.close); resolves when all sessions are closed. */
  async close(): Promise<void> {
    this.closed = true;
    const closing: Promise<void>[] = [];
    for (const s of this.states) {
      if (s.store) closing.push(s.store.close());
      s.store = undefined;
    }
    await Promise.all(closing);
  }

  private async storeOf(s: NodeState): Promise<KeyStore> {
    if (this.closed) throw new HsmError("HSM_CLOSED", "cluster closed");
    if (!s.store) s.store = await KeyStore.open({ ...s.opts, audit: this.opts.audit });
    return s.store;
  }

  private markFailed(s: NodeState, e: unknown): HsmError {
    const err = toHsmError(e, `HSM node ${s.opts.name}`);
    const now = Date.now();
    s.lastError = err.code;
    // Concurrent requests failing on the same outage count once per backoff window.
    if (s.retryAt > now) return err;
    s.failures++;
    s.retryAt = now + Math.min(this.maxBackoff, this.backoff * 2 ** (s.failures - 1));
    return err;
  }

  /** Healthy nodes in configured order, then nodes still in backoff (earliest retry first) as a last resort. */
  private order(): NodeState[] {
    const now = Date.now();
    const ready = this.states.filter((s) => s.retryAt <= now);
    const waiting = this.states.filter((s) => s.retryAt > now).sort((a, b) => a.retryAt - b.retryAt);
    return [...ready, ...waiting];
  }

  /** serve() for a result that cannot carry the serving node's name (a Buffer). */
  private async serveValue<T>(fn: (ks: KeyStore) => Promise<T>): Promise<T> {
    return (await this.serve(async (ks) => ({ value: await fn(ks) }))).value;
  }

  private async serve<T extends object>(fn: (ks: KeyStore) => Promise<T>): Promise<Served<T>> {
    const errors: Array<{ node: string; code: string }> = [];
    let lastErr: HsmError | undefined;
    for (const s of this.order()) {
      try {
        const r = await fn(await this.storeOf(s));
        if (s.failures > 0) {
          s.failures = 0;
          s.lastError = undefined;
          s.retryAt = 0;
        }
        return Object.assign(r, { node: s.opts.name });
      } catch (e) {
        const err = toHsmError(e, `HSM node ${s.opts.name}`);
        if (CALLER_ERRORS.has(err.code)) throw err;
        lastErr = err;
        errors.push({ node: s.opts.name, code: err.code });
        // CLUSTER_FAILOVER: a node error takes the node out of rotation until its backoff expires.
        if (!TRY_NEXT.has(err.code)) this.markFailed(s, err);
      }
    }
    if (errors.length > 0 && errors.every((x) => x.code === "HSM_KEY_NOT_FOUND")) throw lastErr!;
    throw new HsmError(
      "HSM_UNAVAILABLE",
      `no HSM node could serve the request (${errors.map((x) => `${x.node}: ${x.code}`).join(", ")})`,
      { nodes: errors, control: CLUSTER_FAILOVER.id },
      { cause: lastErr },
    );
  }
}

/** Nodes have different token labels: a cluster key is named by object label (and id if given). */
function nodeRef(ref: KeyRef): Pkcs11Uri {
  const { token: _token, ...rest } = toUri(ref);
  return rest;
}

/** nodeRef as a URI string, parsed once per distinct reference. */
const nodeRefs = new Map<string, string>();
function nodeRefString(ref: KeyRef): string {
  if (typeof ref !== "string") return formatPkcs11Uri(nodeRef(ref));
  let s = nodeRefs.get(ref);
  if (s === undefined) {
    s = formatPkcs11Uri(nodeRef(ref));
    if (nodeRefs.size < 1024) nodeRefs.set(ref, s);
  }
  return s;
}
