import type { CertificateRecord, CertificateStore, ListRecord } from "@iaca/db";
import type { DsRecordLike } from "@iaca/pki";

/** A Document Signer the issuer may sign with: certificate, HSM key and the record pki's usage check reads. */
export interface SigningDs {
  /** DER of the DS certificate (goes into x5chain). */
  certificate: Uint8Array;
  /** pkcs11: URI (or label) of the DS private key on the DS token. */
  keyRef: string;
  /** Serial (lower-case hex), validity and lifecycle dates for pki's assertCanSign. */
  record: DsRecordLike;
}

/**
 * Where the issuer learns which DS keys exist and what verifiers will trust. Backed by the PKI
 * tables once ceremonies have run (pkiDsSource) or by a fixed list (tests, demo bootstrap).
 */
export interface DsSource {
  /** Installed DS keys, preferred first (the issuer signs with the first one whose state allows it). */
  signingKeys(at: Date): Promise<SigningDs[]>;
  /** IACA certificates (DER) the reference verifier anchors to (refresh). */
  trustAnchors(): Promise<Uint8Array[]>;
  /** Link certificates and older roots that may complete a path. */
  untrusted?(): Promise<Uint8Array[]>;
  /** Current CRLs (DER) of the IACA(s). */
  crls?(): Promise<Uint8Array[]>;
  /** Whether a DS certificate (serial, lower-case hex) is revoked. */
  isRevoked(serialHex: string): Promise<boolean>;
  /** nextUpdate of the current DS CRL (metrics). */
  crlNextUpdate?(): Promise<Date | undefined>;
}

/** A fixed set of DS keys and anchors; revocation is a mutable set (tests, the embedded demo). */
export class StaticDsSource implements DsSource {
  readonly revoked = new Set<string>();
  keys: SigningDs[];
  anchors: Uint8Array[];
  crlList: Uint8Array[];
  nextUpdate?: Date;
  constructor(keys: SigningDs[], anchors: Uint8Array[], crlList: Uint8Array[] = [], nextUpdate?: Date) {
    this.keys = keys;
    this.anchors = anchors;
    this.crlList = crlList;
    this.nextUpdate = nextUpdate;
  }
  async signingKeys(): Promise<SigningDs[]> {
    return this.keys.map((k) => ({
      ...k,
      record: {
        ...k.record,
        revokedAt: this.revoked.has(k.record.serial) ? new Date(0) : (k.record.revokedAt ?? null),
      },
    }));
  }
  async trustAnchors(): Promise<Uint8Array[]> {
    return this.anchors;
  }
  async crls(): Promise<Uint8Array[]> {
    return this.crlList;
  }
  async isRevoked(serialHex: string): Promise<boolean> {
    return (
      this.revoked.has(serialHex.toLowerCase()) ||
      this.keys.some((k) => k.record.serial === serialHex && k.record.revokedAt)
    );
  }
  async crlNextUpdate(): Promise<Date | undefined> {
    return this.nextUpdate;
  }
}

/**
 * The DS keys and trust material the ceremonies recorded (packages/pki's records): installed DS
 * certificates with a key on the DS token, IACA roots, link certificates, the latest CRLs.
 * Read through a short cache (default 1 s) so the hot path does not query per batch; the key
 * state itself is checked before every signature against the cached record.
 */
export class PkiDsSource implements DsSource {
  private cache: { at: number; rows: CertificateRecord[]; crls: ListRecord[] } | undefined;
  private readonly certificates: CertificateStore;
  private readonly ttlMs: number;
  constructor(certificates: CertificateStore, ttlMs = 1000) {
    this.certificates = certificates;
    this.ttlMs = ttlMs;
  }

  private async load() {
    if (this.cache && Date.now() - this.cache.at < this.ttlMs) return this.cache;
    const rows = await this.certificates.byActivation();
    const crls = await this.certificates.latestLists();
    this.cache = { at: Date.now(), rows, crls };
    return this.cache;
  }

  /** Forget the cache (after a revocation or installation in this process). */
  invalidate(): void {
    this.cache = undefined;
  }

  async signingKeys(): Promise<SigningDs[]> {
    const { rows } = await this.load();
    return rows
      .filter((r) => r.kind === "ds" && r.keyRef && r.installedAt)
      .map((r) => ({
        certificate: new Uint8Array(r.der),
        keyRef: r.keyRef!,
        record: {
          serial: r.serial,
          notBefore: r.notBefore,
          notAfter: r.notAfter,
          activatesAt: r.activatesAt,
          retiredAt: r.retiredAt,
          revokedAt: r.revokedAt,
        },
      }));
  }
  async trustAnchors(): Promise<Uint8Array[]> {
    return (await this.load()).rows.filter((r) => r.kind === "iaca").map((r) => new Uint8Array(r.der));
  }
  async untrusted(): Promise<Uint8Array[]> {
    return (await this.load()).rows.filter((r) => r.kind === "link").map((r) => new Uint8Array(r.der));
  }
  async crls(): Promise<Uint8Array[]> {
    return (await this.load()).crls.map((c) => c.der);
  }
  async isRevoked(serialHex: string): Promise<boolean> {
    const s = serialHex.toLowerCase();
    return (await this.load()).rows.some((r) => r.serial === s && r.revokedAt !== null);
  }
  async crlNextUpdate(): Promise<Date | undefined> {
    return (await this.load()).crls.find((c) => c.kind === "crl")?.nextUpdate;
  }
}
