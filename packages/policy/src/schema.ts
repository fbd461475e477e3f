import { type Static, Type as T } from "@sinclair/typebox";
import { SEED_LIMITED_FIELDS } from "./limits.ts";

const Dur = (description: string) =>
  T.String({ pattern: "^P(?!$)(\\d+Y)?(\\d+M)?(\\d+W)?(\\d+D)?(T(?=\\d)(\\d+H)?(\\d+M)?(\\d+S)?)?$", description });
const Curve = T.Union([T.Literal("P-256"), T.Literal("P-384"), T.Literal("P-521")]);
const Hash = T.Union([T.Literal("SHA-256"), T.Literal("SHA-384"), T.Literal("SHA-512")]);

const Url = T.String({ pattern: "^https?://[^\\s]+$" });
/** Upper-case ISO 3166-1 alpha-2, as Annex B requires for C in IACA and DS names. */
const Country = T.String({ pattern: "^[A-Z]{2}$" });

const Name = T.Object(
  {
    C: Country,
    ST: T.Optional(T.String({ minLength: 1, maxLength: 128 })),
    O: T.Optional(T.String({ minLength: 1, maxLength: 64 })),
    CN: T.String({ minLength: 1, maxLength: 64 }),
  },
  { additionalProperties: false },
);

const KeyAlg = T.Object({ curve: Curve, hash: Hash }, { additionalProperties: false });

/** Every CP/CPS parameter. Defaults in defaults.ts follow the seed's figure 2 where it is consistent. */
export const PolicySchema = T.Object(
  {
    /** Policy document version, printed in the CP/CPS and the audit log. */
    version: T.String({ minLength: 1 }),
    iaca: T.Object(
      {
        name: Name,
        key: KeyAlg,
        /** Certificate validity of a root (seed: at most 5 years). */
        validity: Dur("IACA certificate validity"),
        /** Re-key every this long (seed: 5 years). */
        rekeyInterval: Dur("interval between root re-keys"),
        /** The first re-key comes this long after the first root (seed: 4 years 11 months). */
        firstRekeyAfter: Dur("first root re-key after the initial ceremony"),
        /** Re-key ceremony starts this long before the current root's usage ends (seed: 1 month). */
        rekeyLead: Dur("lead time of a root re-key"),
        /** Issuer alternative name (Annex B: URI or e-mail), copied into DS certificates. */
        issuerAltName: T.Union([
          T.Object({ uri: Url }, { additionalProperties: false }),
          T.Object(
            { email: T.String({ format: "email", pattern: "^[^@\\s]+@[^@\\s]+$" }) },
            { additionalProperties: false },
          ),
        ]),
      },
      { additionalProperties: false },
    ),
    ds: T.Object(
      {
        /** CN of a DS certificate; "{seq}" is replaced by its sequence number. C (and ST) come from the IACA name. */
        commonName: T.String({ minLength: 1, maxLength: 64 }),
        organization: T.Optional(T.String({ minLength: 1, maxLength: 64 })),
        key: KeyAlg,
        /** Certificate validity (seed: at most 3 months; Annex B: at most 457 days). */
        validity: Dur("DS certificate validity"),
        /** A new DS key every this long (seed: 3 months). */
        rotationInterval: Dur("interval between DS keys"),
        /** The first DS rotation comes this long after the first DS (seed: 2 months). */
        firstRotationAfter: Dur("first DS rotation after the initial ceremony"),
        /** A DS ceremony is due this long before the current usage period ends (seed: 1 month). */
        renewalLead: Dur("lead time of a DS ceremony"),
        /** How many future DS certificates one root ceremony pre-signs (offline root visited less often). */
        presign: T.Integer({ minimum: 1, maximum: 12 }),
        /** Destroy a retired DS private key this long after its certificate expired. */
        destroyGrace: Dur("grace period before a retired DS key is destroyed"),
        /** Destroying a retired DS key waits for an operator's confirmation (`iaca rotate --confirm-destroy`). */
        destroyConfirm: T.Optional(T.Boolean({ description: "DS key destruction needs an operator's confirmation" })),
      },
      { additionalProperties: false },
    ),
    mso: T.Object(
      {
        /** MSO validity (seed: 30 days, US mDL practice). */
        validity: Dur("MSO validUntil - validFrom"),
        /** expectedUpdate = validFrom + this (omitted when absent). */
        expectedUpdate: T.Optional(Dur("MSO expectedUpdate offset")),
        digestAlgorithm: Hash,
        /** A holder may refresh an mdoc whose MSO is this close to (or past, within the window) validUntil. */
        refreshWindow: Dur("refresh window before validUntil"),
        /** Maximum device keys in one issuance batch. */
        maxBatch: T.Integer({ minimum: 1, maximum: 100 }),
      },
      { additionalProperties: false },
    ),
    revocation: T.Object(
      {
        /** CRL (revoked DS certificates) URL; the same value is written into certificates and served by the DTS. */
        crlUrl: Url,
        /** ARL (revoked CA certificates) URL. */
        arlUrl: Url,
        /** nextUpdate = thisUpdate + this; must cover the interval to the next root ceremony plus margin. */
        nextUpdate: Dur("CRL/ARL nextUpdate after thisUpdate"),
        /** Warn this long before nextUpdate when no newer list is installed. */
        warnBefore: Dur("freshness warning lead"),
      },
      { additionalProperties: false },
    ),
    /** Token Status Lists (draft-ietf-oauth-status-list): the MSO's `status`, published by the DTS. */
    status: T.Object(
      {
        /** URI of a list, "{list}" replaced by its number; the DTS serves the path of this URL. */
        listUrl: T.String({
          pattern: "^https?://[^\\s]+\\{list\\}[^\\s]*$",
          description: "status list URI template with {list}",
        }),
        /** Entries per list: herd privacy grows with it (CP/CPS 4.10.1); a multiple of 8. */
        listSize: T.Integer({ minimum: 1024, maximum: 16_777_216, multipleOf: 8 }),
        /** 1: VALID/INVALID; 2: also SUSPENDED (suspension enabled). */
        bits: T.Union([T.Literal(1), T.Literal(2)]),
        /** ttl claim: how long a verifier may cache a token before fetching again. */
        ttl: Dur("status list token ttl"),
        /** exp - iat of a token; a token is re-signed when half of this has passed. */
        validity: Dur("status list token validity"),
        /** A status change is in the served list within this long. */
        publishWithin: Dur("latest publication of a status change"),
      },
      { additionalProperties: false },
    ),
    /** OpenID4VCI 1.0 front of the RA (pre-authorized code flow): how long an offer and its token live. */
    openid4vci: T.Object(
      {
        /** A Credential Offer (and the sealed holder data behind it) is redeemable this long. */
        offerValidity: Dur("credential offer validity"),
        /** A DPoP-bound access token is good for one credential request this long. */
        accessTokenValidity: Dur("access token validity"),
        /** Digits of a tx_code (when the wallet backend asks for one). */
        txCodeLength: T.Integer({ minimum: 4, maximum: 10 }),
        /** Wrong tx_codes before the offer is burnt (its holder data deleted). */
        txCodeAttempts: T.Integer({ minimum: 1, maximum: 10 }),
        /**
         * Key attestations (OpenID4VCI 1.0 Appendix D, HAIP): when required, every jwt proof carries a
         * `key_attestation` signed by a wallet provider whose certificate chains to one of these
         * PEM certificates, attesting the proof's key.
         */
        keyAttestation: T.Object(
          {
            required: T.Boolean(),
            trustAnchors: T.Array(T.String({ pattern: "^-----BEGIN CERTIFICATE-----" }), { maxItems: 64 }),
          },
          { additionalProperties: false },
        ),
      },
      { additionalProperties: false },
    ),
    /** mdoc doctype profile used for issuance. */
    profile: T.Union([T.Literal("interop"), T.Literal("seed-2024")]),
    ceremony: T.Object(
      {
        /** Steps that require two operator credentials (dual control, CP/CPS 6.2.2). */
        dualControl: T.Array(T.String({ minLength: 1 })),
      },
      { additionalProperties: false },
    ),
    audit: T.Object(
      {
        /** Audit log retention (CP/CPS 5.4.3). */
        retention: Dur("audit log retention"),
      },
      { additionalProperties: false },
    ),
    /**
     * Runs the named fields beyond the seed's limits (limits.ts) on purpose. Absent by default;
     * recorded with its reason in the audit event policy.load and shown by `iaca status`.
     */
    seedLimitOverride: T.Optional(
      T.Object(
        {
          fields: T.Array(T.Union(SEED_LIMITED_FIELDS.map((f) => T.Literal(f))), { minItems: 1, uniqueItems: true }),
          /** Why, in words an auditor can check (a decision, its date, who approved it); no personal data. */
          reason: T.String({ minLength: 10, maxLength: 500 }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export type Policy = Static<typeof PolicySchema>;
