import type { Policy } from "./schema.ts";

/**
 * The built-in policy: the seed's figure 2 adjusted to the nearest schedule in which every
 * invariant holds, as `iaca plan` proposes for the literal numbers
 * (packages/pki/policies/seed-figure-2.yaml):
 * - DS keys rotate every 59 days, not 3 months: a 3-month certificate minus a 30-day MSO leaves
 *   59 days in which a key can sign an MSO with its full validity; a root ceremony pre-signs up
 *   to two DS certificates, so the offline root is still opened only about every 3 months.
 * - The root is re-keyed 4 months before it expires (every 4 years 8 months), not 1 month:
 *   DS certificates signed by the old key (3 months, signed 1 month ahead) must end before it.
 * - CRL/ARL nextUpdate 106 days covers the 3 months to the next root visit plus a 14-day margin.
 */
export const DEFAULT_POLICY: Policy = {
  version: "1.0",
  iaca: {
    name: { C: "JP", O: "Digital Agency", CN: "Japan mdoc IACA" },
    key: { curve: "P-384", hash: "SHA-384" },
    validity: "P5Y",
    rekeyInterval: "P4Y8M",
    firstRekeyAfter: "P4Y8M",
    rekeyLead: "P4M",
    issuerAltName: { uri: "https://dts.example.jp/" },
  },
  ds: {
    commonName: "Japan mdoc Document Signer {seq}",
    organization: "Digital Agency",
    key: { curve: "P-256", hash: "SHA-256" },
    validity: "P3M",
    rotationInterval: "P59D",
    firstRotationAfter: "P59D",
    renewalLead: "P1M",
    presign: 2,
    destroyGrace: "P30D",
    destroyConfirm: false,
  },
  mso: {
    validity: "P30D",
    expectedUpdate: "P25D",
    digestAlgorithm: "SHA-256",
    refreshWindow: "P7D",
    maxBatch: 10,
  },
  revocation: {
    crlUrl: "https://dts.example.jp/crl/ds.crl",
    arlUrl: "https://dts.example.jp/crl/iaca.arl",
    nextUpdate: "P106D",
    warnBefore: "P14D",
  },
  status: {
    listUrl: "https://dts.example.jp/status/{list}",
    listSize: 131_072,
    bits: 2,
    ttl: "PT5M",
    validity: "P1D",
    publishWithin: "PT60S",
  },
  openid4vci: {
    offerValidity: "PT10M",
    accessTokenValidity: "PT5M",
    txCodeLength: 6,
    txCodeAttempts: 5,
    keyAttestation: { required: false, trustAnchors: [] },
  },
  profile: "interop",
  ceremony: {
    dualControl: [
      "root.init",
      "root.rekey",
      "root.sign-csr",
      "root.revoke",
      "root.crl",
      "root.arl",
      "root.destroy-key",
      "ds.keygen",
      "operator.add",
      "operator.disable",
    ],
  },
  audit: { retention: "P10Y" },
};
