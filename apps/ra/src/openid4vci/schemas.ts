import { type Static, Type as T } from "@sinclair/typebox";

// The wallet-facing bodies. Unknown members are ignored, as OAuth and OpenID4VCI require of a
// server; what the handlers need is checked here, and a failure is the endpoint's OAuth error.

export const TokenRequest = T.Object(
  {
    grant_type: T.String({ maxLength: 128 }),
    "pre-authorized_code": T.Optional(T.String({ minLength: 1, maxLength: 512 })),
    tx_code: T.Optional(T.String({ minLength: 1, maxLength: 64 })),
  },
  { additionalProperties: true },
);
export type TokenRequest = Static<typeof TokenRequest>;

export const CredentialRequest = T.Object(
  {
    credential_configuration_id: T.Optional(T.String({ minLength: 1, maxLength: 256 })),
    credential_identifier: T.Optional(T.String({ minLength: 1, maxLength: 256 })),
    proofs: T.Optional(
      T.Record(T.String({ maxLength: 64 }), T.Array(T.Unknown(), { maxItems: 100 }), { maxProperties: 4 }),
    ),
    proof: T.Optional(T.Unknown()),
    credential_response_encryption: T.Optional(T.Unknown()),
  },
  { additionalProperties: true },
);
export type CredentialRequest = Static<typeof CredentialRequest>;

export const NotificationRequest = T.Object(
  {
    notification_id: T.String({ minLength: 1, maxLength: 128 }),
    event: T.String({ enum: ["credential_accepted", "credential_failure", "credential_deleted"] }),
    event_description: T.Optional(T.String({ maxLength: 1024 })),
  },
  { additionalProperties: true },
);
export type NotificationRequest = Static<typeof NotificationRequest>;
