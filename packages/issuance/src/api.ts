/**
 * The interface between the RA and the Issuer Server (Document Signer). The RA calls it either
 * in-process (embedded default) or over mutual TLS (apps/issuer/src/client.ts); both sides
 * exchange exactly these JSON-serialisable shapes.
 */

/** Holder attributes as the doctype profile names them (element identifier -> value). */
export type HolderData = Record<string, unknown>;

/** A device public key (EC JWK, public part only) whose possession the RA has verified. */
export interface DeviceKey {
  jwk: { kty: "EC"; crv: string; x: string; y: string };
  /** RFC 7638 thumbprint (SHA-256, base64url). */
  thumbprint: string;
}

export interface IssueRequest {
  /** Correlates the records of one API request (the RA's idempotency record id, or a fresh id). */
  requestId: string;
  clientId: string;
  profile: string;
  holder: HolderData;
  devices: DeviceKey[];
  /**
   * Set for a refresh: the presented mdoc, and the RFC 7638 thumbprint of the key that signed the
   * holder proof (checked by the RA); the issuer requires it to be the mdoc's device key.
   */
  refresh?: { issuerSigned: string; holderKeyThumbprint: string };
}

export interface IssuedCredential {
  id: string;
  /** base64url CBOR IssuerSigned. */
  issuerSigned: string;
  docType: string;
  deviceKeyThumbprint: string;
  validFrom: string;
  validUntil: string;
  expectedUpdate?: string;
}

export interface IssueResult {
  requestId: string;
  profile: string;
  docType: string;
  dsCertificateSerial: string;
  credentials: IssuedCredential[];
  refreshedFrom?: string;
}

export type CredentialState = "pending" | "valid" | "suspended" | "expired" | "revoked" | "failed" | "abandoned";

export interface CredentialStatus {
  id: string;
  clientId: string;
  state: CredentialState;
  profile: string;
  docType: string;
  dsCertificateSerial: string;
  validFrom: string;
  validUntil: string;
  issuedAt: string;
  revokedAt?: string;
  revocationReason?: string;
  refreshedFrom?: string;
  suspendedAt?: string;
}

/** An issuance record as the issuer keeps it (no holder reference); the RA derives CredentialStatus from it. */
export interface CredentialRecord {
  id: string;
  clientId: string;
  state: "pending" | "issued" | "failed" | "abandoned";
  profile: string;
  docType: string;
  dsCertificateSerial: string;
  validFrom: string;
  validUntil: string;
  createdAt: string;
  signedAt?: string;
  revokedAt?: string;
  revocationReason?: string;
  refreshedFrom?: string;
  /** Suspended (2-bit status lists) until resumed. */
  suspendedAt?: string;
}

export interface RevokeResult {
  revoked: string[];
  alreadyRevoked: string[];
}

export interface SuspendResult {
  id: string;
  suspended: boolean;
  /** false when it already was in that state. */
  changed: boolean;
}

export interface Readiness {
  ready: boolean;
  checks: Record<string, { ok: boolean; detail?: string }>;
}

export interface IssuerApi {
  issue(req: IssueRequest): Promise<IssueResult>;
  revokeCredential(req: { id: string; reason: string; actor: string }): Promise<RevokeResult>;
  revokeHolder(req: { myNumber: string; reason: string; actor: string }): Promise<RevokeResult>;
  /** Suspends or resumes one issued, unrevoked mdoc (2-bit status lists only). */
  setSuspended(req: { id: string; suspended: boolean; actor: string }): Promise<SuspendResult>;
  /** One credential's record; rejects with NOT_FOUND when there is none (the RA reads no issuer table). */
  credential(req: { id: string }): Promise<CredentialRecord>;
  /** Encrypts a response kept for idempotent replay (AES-GCM under an HSM key); aad binds it to its record. */
  seal(req: { plaintext: string; aad: string }): Promise<{ sealed: string }>;
  unseal(req: { sealed: string; aad: string }): Promise<{ plaintext: string }>;
  /** Marks issuance records of a request that never completed (crash) as abandoned; returns how many. */
  abandon(req: { requestId: string; actor: string }): Promise<{ abandoned: number }>;
  readiness(): Promise<Readiness>;
}
