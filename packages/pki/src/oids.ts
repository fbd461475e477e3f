import { HASH_FOR_CURVE as POLICY_HASH_FOR_CURVE } from "@iaca/policy";
export const OID = {
  ecPublicKey: "1.2.840.10045.2.1",
  P256: "1.2.840.10045.3.1.7",
  P384: "1.3.132.0.34",
  P521: "1.3.132.0.35",
  ecdsaSha256: "1.2.840.10045.4.3.2",
  ecdsaSha384: "1.2.840.10045.4.3.3",
  ecdsaSha512: "1.2.840.10045.4.3.4",
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

export type Curve = "P-256" | "P-384" | "P-521";
export type Hash = "SHA-256" | "SHA-384" | "SHA-512";

export const CURVE_OID: Record<Curve, string> = { "P-256": OID.P256, "P-384": OID.P384, "P-521": OID.P521 };
export const CURVE_BY_OID: Record<string, Curve> = { [OID.P256]: "P-256", [OID.P384]: "P-384", [OID.P521]: "P-521" };
/** Annex B: the signature hash matches the signing key's curve. */
/** The policy package's table: the one place that pairs each curve with its ECDSA hash. */
export const HASH_FOR_CURVE: Record<Curve, Hash> = POLICY_HASH_FOR_CURVE;
export const SIG_OID: Record<Hash, string> = {
  "SHA-256": OID.ecdsaSha256,
  "SHA-384": OID.ecdsaSha384,
  "SHA-512": OID.ecdsaSha512,
};
export const HASH_BY_SIG_OID: Record<string, Hash> = {
  [OID.ecdsaSha256]: "SHA-256",
  [OID.ecdsaSha384]: "SHA-384",
  [OID.ecdsaSha512]: "SHA-512",
};
