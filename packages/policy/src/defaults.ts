import type { Policy } from "./schema.ts";

/**
 * The built-in policy: the seed's figure 2 where it is self-consistent. The planner
 * (packages/pki) reports where the seed's numbers break an invariant and what it adjusts.
 */
export const DEFAULT_POLICY: Policy = {
  version: "1.0",
  iaca: {
    name: { C: "JP", O: "Digital Agency", CN: "Japan mdoc IACA" },
    key: { curve: "P-384", hash: "SHA-384" },
    validity: "P5Y",
    rekeyInterval: "P5Y",
    firstRekeyAfter: "P4Y11M",
    rekeyLead: "P1M",
    issuerAltName: { uri: "https://dts.example.jp/" },
  },
  ds: {
    commonName: "Japan mdoc Document Signer {seq}",
    organization: "Digital Agency",
    key: { curve: "P-256", hash: "SHA-256" },
    validity: "P3M",
    rotationInterval: "P2M",
    firstRotationAfter: "P2M",
    renewalLead: "P1M",
    presign: 1,
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
    nextUpdate: "P100D",
    warnBefore: "P14D",
  },
  profile: "interop",
  ceremony: { dualControl: ["root.init", "root.rekey", "root.sign-csr", "root.revoke"] },
  audit: { retention: "P10Y" },
};
