// Object identifiers of the certificate and CRL profiles; algorithm OIDs are in @iaca/policy's registry.
export const OID = {
  C: "2.5.4.6",
  ST: "2.5.4.8",
  O: "2.5.4.10",
  CN: "2.5.4.3",
  ski: "2.5.29.14",
  keyUsage: "2.5.29.15",
  privateKeyUsagePeriod: "2.5.29.16",
  issuerAltName: "2.5.29.18",
  basicConstraints: "2.5.29.19",
  crlNumber: "2.5.29.20",
  crlReason: "2.5.29.21",
  issuingDistributionPoint: "2.5.29.28",
  crlDistributionPoints: "2.5.29.31",
  aki: "2.5.29.35",
  extKeyUsage: "2.5.29.37",
  /** ISO/IEC 18013-5 mdlDS: Document Signer. */
  ekuMdlDs: "1.0.18013.5.1.2",
  /** ISO/IEC 18013-5 trust list / VICAL-style signer (used by the DTS). */
  ekuTrustListSigner: "1.0.18013.5.1.8",
} as const;
