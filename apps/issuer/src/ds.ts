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
  constructor(
    public keys: SigningDs[],
    public anchors: Uint8Array[],
    public crlList: Uint8Array[] = [],
    public nextUpdate?: Date,
  ) {}
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
