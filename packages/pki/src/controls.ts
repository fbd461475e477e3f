import { clause, defineControl } from "@iaca/policy";

/** Controls enforced by @iaca/pki. Enforcing code references these constants; tests name their ids. */
export const CONTROLS = {
  lintBeforeSign: defineControl({
    id: "pki.lint.before-sign",
    clause: clause("4.3.1"),
    summary: "Every TBS certificate and CRL passes the Annex B linter before the HSM is asked to sign it.",
  }),
  profile: defineControl({
    id: "pki.profile.annex-b",
    clause: clause("7.1"),
    summary: "Certificates follow the ISO/IEC 18013-5 Annex B IACA / DS profiles (extensions, criticality, names).",
  }),
  serialRandom: defineControl({
    id: "pki.serial.random",
    clause: clause("7.1"),
    summary: "Serial numbers are positive, at most 20 octets, with at least 63 bits from a CSPRNG, and unique.",
  }),
  dsUsagePeriod: defineControl({
    id: "pki.ds.usage-period",
    clause: clause("6.3.2"),
    summary: "A DS key signs MSOs only inside its private-key usage period (notAfter minus the MSO validity).",
  }),
  validityPlan: defineControl({
    id: "pki.validity.plan",
    clause: clause("6.3.2"),
    summary: "MSO.validUntil <= DS.notAfter <= IACA.notAfter; the next DS is installed before the usage period ends.",
  }),
  linkOnRekey: defineControl({
    id: "pki.link.on-rekey",
    clause: clause("5.6"),
    summary: "A root re-key issues both link certificates with byte-identical subject and issuer names.",
  }),
  crlNumberIncreasing: defineControl({
    id: "pki.crl.number-increasing",
    clause: clause("7.2"),
    summary: "Each CRL/ARL carries a CRL number strictly greater than the previous one of the same list.",
  }),
  csrProofOfPossession: defineControl({
    id: "pki.csr.proof-of-possession",
    clause: clause("3.2.1"),
    summary: "A DS certificate is issued only from a PKCS#10 request whose signature verifies with its own key.",
  }),
  dualControl: defineControl({
    id: "pki.ceremony.dual-control",
    clause: clause("6.2.2"),
    summary: "Root ceremony steps listed in policy.ceremony.dualControl need two distinct authenticated operators.",
  }),
  audited: defineControl({
    id: "pki.ceremony.audited",
    clause: clause("5.4.1"),
    summary: "Every ceremony step writes an audit event with operators, artifact SHA-256s and the clause.",
  }),
} as const;
