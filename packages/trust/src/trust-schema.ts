/** JSON Schema (2020-12) of /trust.json, published beside it at /trust.schema.json. */
const isoDate = { type: "string", format: "date-time" } as const;
const hex = (n?: number) => ({ type: "string", pattern: n ? `^[0-9a-f]{${n}}$` : "^[0-9a-f]*$" }) as const;

const list = {
  type: ["object", "null"],
  additionalProperties: false,
  required: ["url", "path", "number", "issuer", "thisUpdate", "nextUpdate", "sha256", "revoked", "freshness"],
  properties: {
    url: { type: "string", format: "uri" },
    path: { type: "string" },
    number: { type: ["string", "null"], pattern: "^[0-9]+$", description: "CRL number (decimal)" },
    issuer: { type: "string" },
    thisUpdate: isoDate,
    nextUpdate: { type: ["string", "null"], format: "date-time" },
    sha256: hex(64),
    revoked: { type: "array", items: hex() },
    freshness: { enum: ["current", "warning", "expired"] },
  },
} as const;

/** One root key's list in `lists` (pki.crl.per-key). */
const keyList = {
  type: "object",
  additionalProperties: false,
  required: [...list.required, "kind", "rootGeneration", "aki", "neededUntil"],
  properties: {
    ...list.properties,
    kind: { enum: ["crl", "arl"] },
    rootGeneration: { type: "integer", minimum: 1, description: "root key generation that signed the list" },
    aki: { ...hex(), description: "authority key identifier: SKI of the signing root key" },
    neededUntil: {
      type: ["string", "null"],
      format: "date-time",
      description: "when the last valid certificate naming this list expires; it is kept current until then",
    },
  },
} as const;

export const TRUST_SCHEMA = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  $id: "/trust.schema.json",
  title: "mdoc IACA DTS trust index",
  type: "object",
  additionalProperties: false,
  required: [
    "$schema",
    "version",
    "provider",
    "updated",
    "certificates",
    "crl",
    "arl",
    "lists",
    "trustList",
    "statusLists",
  ],
  properties: {
    $schema: { type: "string" },
    version: { const: 1 },
    provider: { type: "string" },
    updated: { ...isoDate, description: "Last-Modified of this index" },
    certificates: {
      type: "array",
      items: {
        type: "object",
        additionalProperties: false,
        required: [
          "kind",
          "status",
          "subject",
          "issuer",
          "serialNumber",
          "ski",
          "aki",
          "sha256",
          "notBefore",
          "notAfter",
          "urls",
        ],
        properties: {
          kind: { enum: ["iaca", "link", "ds", "trust-list-signer", "status-list-signer"] },
          status: { enum: ["active", "scheduled", "retired", "revoked"] },
          subject: { type: "string" },
          issuer: { type: "string" },
          serialNumber: hex(),
          ski: hex(),
          aki: hex(),
          sha256: hex(64),
          notBefore: isoDate,
          notAfter: isoDate,
          activeFrom: isoDate,
          activeUntil: isoDate,
          urls: {
            type: "object",
            additionalProperties: false,
            required: ["der", "pem", "derBySki", "pemBySki"],
            properties: {
              der: { type: "string" },
              pem: { type: "string" },
              derBySki: { type: "string" },
              pemBySki: { type: "string" },
            },
          },
        },
      },
    },
    crl: { ...list, description: "the newest root key's CRL" },
    arl: { ...list, description: "the newest root key's ARL" },
    lists: { type: "array", items: keyList, description: "every root key's CRL and ARL, by generation" },
    trustList: {
      type: ["object", "null"],
      additionalProperties: false,
      required: ["path", "issueId", "date", "nextUpdate", "sha256", "mediaType"],
      properties: {
        path: { type: "string" },
        issueId: { type: "integer", minimum: 1 },
        date: isoDate,
        nextUpdate: { type: ["string", "null"], format: "date-time" },
        sha256: hex(64),
        mediaType: { type: "string" },
      },
    },
    statusLists: {
      type: "array",
      description: "every Token Status List the MSOs point at (draft-ietf-oauth-status-list, CWT)",
      items: {
        type: "object",
        additionalProperties: false,
        required: ["uri", "path", "signedAt", "expiresAt", "sha256", "mediaType"],
        properties: {
          uri: { type: "string", format: "uri" },
          path: { type: "string" },
          signedAt: isoDate,
          expiresAt: isoDate,
          sha256: hex(64),
          mediaType: { const: "application/statuslist+cwt" },
        },
      },
    },
  },
} as const;
