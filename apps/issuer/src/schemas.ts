// Request schemas of the issuer's internal API: the RA is trusted to authenticate wallet backends,
// not to send well-formed requests, so every body is checked like a public one before the service
// sees it. The shapes are those of IssuerApi (@iaca/issuance).
import { Type as T } from "@sinclair/typebox";

const Id = T.String({ minLength: 1, maxLength: 128 });
const Actor = T.String({ minLength: 1, maxLength: 200 });
const Reason = T.String({ minLength: 1, maxLength: 64 });
const B64u = T.String({ pattern: "^[A-Za-z0-9_-]*$", maxLength: 1_500_000 });

const DeviceKey = T.Object(
  {
    jwk: T.Object(
      {
        kty: T.Literal("EC"),
        crv: T.String({ maxLength: 16 }),
        x: T.String({ maxLength: 128 }),
        y: T.String({ maxLength: 128 }),
      },
      { additionalProperties: false },
    ),
    thumbprint: T.String({ maxLength: 64 }),
  },
  { additionalProperties: false },
);

export const InternalIssueBody = T.Object(
  {
    requestId: Id,
    clientId: Id,
    profile: T.String({ maxLength: 200 }),
    holder: T.Record(T.String(), T.Unknown()),
    devices: T.Array(DeviceKey, { minItems: 1, maxItems: 1000 }),
    refresh: T.Optional(
      T.Object({ issuerSigned: T.String({ maxLength: 2_000_000 }), holderKeyThumbprint: T.String({ maxLength: 64 }) }),
    ),
  },
  { additionalProperties: false },
);

export const RevokeCredentialBody = T.Object({ id: Id, reason: Reason, actor: Actor }, { additionalProperties: false });
export const RevokeHolderBody = T.Object(
  { myNumber: T.String({ maxLength: 32 }), reason: Reason, actor: Actor },
  { additionalProperties: false },
);
export const CredentialBody = T.Object({ id: Id }, { additionalProperties: false });
export const SetSuspendedBody = T.Object(
  { id: Id, suspended: T.Boolean(), actor: Actor },
  { additionalProperties: false },
);
export const SealBody = T.Object(
  { plaintext: T.String({ maxLength: 4_000_000 }), aad: Id },
  { additionalProperties: false },
);
export const UnsealBody = T.Object({ sealed: B64u, aad: Id }, { additionalProperties: false });
export const AbandonBody = T.Object({ requestId: Id, actor: Actor }, { additionalProperties: false });
