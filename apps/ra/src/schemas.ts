import { type Static, Type as T } from "@sinclair/typebox";

const B64u = (description: string, maxLength: number) =>
  T.String({ pattern: "^[A-Za-z0-9_-]+$", minLength: 1, maxLength, description });
/** A compact JWS (three base64url parts) and the longest proof JWT the RA reads. */
export const COMPACT_JWS = "^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$";
export const MAX_PROOF_JWT = 8192;
const Jwt = T.String({
  pattern: COMPACT_JWS,
  maxLength: MAX_PROOF_JWT,
  description: "openid4vci-proof+jwt signed by the device key (jwk header, nonce and iat claims)",
});

export const Problem = T.Object(
  {
    type: T.String({ description: "urn:iaca:problem:<slug>, stable" }),
    title: T.String(),
    status: T.Integer(),
    detail: T.Optional(T.String()),
    instance: T.Optional(T.String()),
    code: T.Optional(T.String()),
    errors: T.Optional(T.Array(T.Object({ pointer: T.String(), detail: T.String() }))),
    element: T.Optional(T.String({ description: "the input field a profile rule refused" })),
    rule: T.Optional(T.String()),
    index: T.Optional(T.Integer({ description: "the proof (device key) at fault" })),
    scope: T.Optional(T.String()),
    maxBatch: T.Optional(T.Integer()),
    opens: T.Optional(T.String({ description: "refresh-outside-window: when the refresh window opens (ISO 8601)" })),
    closes: T.Optional(T.String({ description: "refresh-outside-window: when it closes (ISO 8601)" })),
  },
  {
    $id: "Problem",
    description: "RFC 9457 problem details (application/problem+json)",
    additionalProperties: true,
  },
);

export const Proofs = T.Object(
  {
    jwt: T.Array(Jwt, {
      minItems: 1,
      maxItems: 100,
      description: "one proof per device key; the policy caps the batch (mso.maxBatch)",
    }),
  },
  { additionalProperties: false },
);

export const NonceResponse = T.Object({
  nonce: T.String({ description: "put it in the proof JWT's nonce claim; single use" }),
  expiresAt: T.String({ format: "date-time" }),
});

export const IssueBody = T.Object(
  {
    profile: T.Optional(T.String({ enum: ["interop", "seed-2024"], description: "default: the policy's profile" })),
    docType: T.Optional(T.String({ maxLength: 128, description: "alternative to profile: the doctype it issues" })),
    holder: T.Record(T.String({ pattern: "^[a-z0-9_]{1,64}$" }), T.Unknown(), {
      maxProperties: 64,
      description: "holder attributes keyed by element identifier (the profile's elements; see docs/api.md)",
    }),
    proofs: Proofs,
  },
  { additionalProperties: false },
);
export type IssueBody = Static<typeof IssueBody>;

export const RefreshBody = T.Object(
  {
    issuerSigned: B64u("a previously issued IssuerSigned (base64url CBOR) with all its elements", 400_000),
    holderProof: T.String({
      minLength: 1,
      maxLength: 4096,
      description:
        "a proof JWT like those in `proofs` (same nonce) signed by the device key of the presented mdoc: the holder still holds that key",
    }),
    proofs: Proofs,
  },
  { additionalProperties: false },
);
export type RefreshBody = Static<typeof RefreshBody>;

export const Credential = T.Object({
  id: T.String({ description: "issuance id" }),
  issuerSigned: T.String({ description: "base64url CBOR IssuerSigned" }),
  docType: T.String(),
  deviceKeyThumbprint: T.String({ description: "RFC 7638 thumbprint of the device key" }),
  validFrom: T.String({ format: "date-time" }),
  validUntil: T.String({ format: "date-time" }),
  expectedUpdate: T.Optional(T.String({ format: "date-time" })),
});

export const IssueResponse = T.Object({
  requestId: T.String(),
  profile: T.String(),
  docType: T.String(),
  dsCertificateSerial: T.String(),
  credentials: T.Array(Credential),
  refreshedFrom: T.Optional(T.String()),
});

export const CREDENTIAL_REVOCATION_REASONS = [
  "holder-request",
  "device-lost",
  "key-compromise",
  "data-changed",
  "deceased",
  "superseded",
  "other",
] as const;
const Reason = T.String({ enum: [...CREDENTIAL_REVOCATION_REASONS] });

export const RevokeBody = T.Object({ reason: Reason }, { additionalProperties: false });
export type RevokeBody = Static<typeof RevokeBody>;

export const HolderRevokeBody = T.Object(
  {
    myNumber: T.String({ pattern: "^[0-9]{12}$", description: "the holder's My Number (never stored; HMAC only)" }),
    reason: Reason,
  },
  { additionalProperties: false },
);
export type HolderRevokeBody = Static<typeof HolderRevokeBody>;

export const RevokeResponse = T.Object({
  revoked: T.Array(T.String()),
  alreadyRevoked: T.Array(T.String()),
});

export const SuspendResponse = T.Object({
  id: T.String(),
  suspended: T.Boolean(),
  changed: T.Boolean({ description: "false when the mdoc already was in that state" }),
});

export const IdParams = T.Object({ id: T.String({ pattern: "^[0-9a-f-]{36}$" }) });
export type IdParams = Static<typeof IdParams>;

export const CredentialStatus = T.Object({
  id: T.String(),
  clientId: T.String(),
  state: T.String({ enum: ["pending", "valid", "suspended", "expired", "revoked", "failed", "abandoned"] }),
  profile: T.String(),
  docType: T.String(),
  dsCertificateSerial: T.String(),
  validFrom: T.String({ format: "date-time" }),
  validUntil: T.String({ format: "date-time" }),
  issuedAt: T.String({ format: "date-time" }),
  revokedAt: T.Optional(T.String({ format: "date-time" })),
  revocationReason: T.Optional(T.String()),
  refreshedFrom: T.Optional(T.String()),
  suspendedAt: T.Optional(
    T.String({ format: "date-time", description: "suspended (2-bit status lists) until resumed" }),
  ),
});

export const IdempotencyHeader = T.Object({
  "idempotency-key": T.Optional(
    T.String({ minLength: 8, maxLength: 128, pattern: "^[\\x21-\\x7e]+$", description: "IETF Idempotency-Key" }),
  ),
});

const TxCode = T.Optional(
  T.Boolean({
    description:
      "true: the offer needs a numeric tx_code (policy openid4vci.txCodeLength digits), returned here for the wallet backend to tell the holder out of band",
  }),
);

export const OfferBody = T.Object(
  {
    profile: T.Optional(T.String({ enum: ["interop", "seed-2024"], description: "default: the policy's profile" })),
    holder: IssueBody.properties.holder,
    txCode: TxCode,
  },
  { additionalProperties: false },
);
export type OfferBody = Static<typeof OfferBody>;

export const RefreshOfferBody = T.Object(
  {
    issuerSigned: RefreshBody.properties.issuerSigned,
    holderProof: T.String({
      minLength: 1,
      maxLength: 4096,
      description:
        "a proof JWT over a nonce from POST /v1/nonces, signed by the device key of the presented mdoc: the holder still holds that key",
    }),
    txCode: TxCode,
  },
  { additionalProperties: false },
);
export type RefreshOfferBody = Static<typeof RefreshOfferBody>;

export const OfferResponse = T.Object({
  offerId: T.String(),
  credentialOffer: T.Object(
    {
      credential_issuer: T.String(),
      credential_configuration_ids: T.Array(T.String()),
      grants: T.Record(T.String(), T.Unknown()),
    },
    { description: "the Credential Offer (OpenID4VCI 1.0 4.1.1) to pass to the wallet by value" },
  ),
  credentialOfferUri: T.String({ description: "openid-credential-offer://?credential_offer=… (QR code or deep link)" }),
  txCode: T.Optional(T.String({ description: "tell the holder out of band; never sent to the wallet with the offer" })),
  expiresAt: T.String({ format: "date-time" }),
});
