import { clause, defineControl } from "@iaca/policy";

/** Controls enforced by @iaca/pki. Enforcing code references these constants; tests name their ids. */
export const CONTROLS = {
  lintBeforeSign: defineControl({
    id: "pki.lint.before-sign",
    clause: clause("4.3.1"),
    summary: "Every TBS certificate and CRL passes the Annex B linter before the HSM is asked to sign it.",
  }),
  nameTypes: defineControl({
    id: "pki.name.types",
    clause: clause("3.1.1"),
    summary:
      "Names are X.500 distinguished names of C (once, upper-case PrintableString), optional ST and O, and CN (required), one single-valued RDN each, in that order; nothing else.",
  }),
  serialRandom: defineControl({
    id: "pki.serial.random",
    clause: clause("3.1.5"),
    summary:
      "Issuer name and serial identify one certificate: serials are positive, at most 20 octets, with at least 63 CSPRNG bits, and a serial already in the room's database is never used for another certificate (SERIAL_COLLISION).",
  }),
  dsKeyUsage: defineControl({
    id: "pki.ds.key-usage",
    clause: clause("4.5.1"),
    summary:
      "A DS certificate is for MSO signing only: EKU exactly 1.0.18013.5.1.2 (mdlDS), critical; keyUsage digitalSignature only (rule cert.ku.bits).",
  }),
  rekeyNewKey: defineControl({
    id: "pki.rekey.new-key",
    clause: clause("4.7.1"),
    summary:
      "A certificate is never renewed on the same key: a CSR whose public key already has a certificate in the room is refused (KEY_ALREADY_CERTIFIED); a root re-key generates a new key.",
  }),
  dsInstallVerified: defineControl({
    id: "pki.ds.install-verified",
    clause: clause("4.7.3"),
    summary:
      "A re-keyed DS certificate is installed only if its key is a DS key of this room's HSM, it chains to a trusted IACA root directly or through a link certificate, and it passes the linter; the previous DS retires at its activation.",
  }),
  rekeyRecorded: defineControl({
    id: "pki.rekey.recorded",
    clause: clause("4.7.6"),
    summary:
      "A root re-key verifies the new root and both link certificates against the certifying keys before it stores them (kind, root generation, DER, SHA-256) for publication by the DTS; otherwise REKEY_UNVERIFIED and nothing is stored.",
  }),
  compromiseListed: defineControl({
    id: "pki.revoke.compromise-listed",
    clause: clause("4.9.12"),
    summary:
      "A revocation names an RFC 5280 reason (no certificateHold/removeFromCRL: no suspension), keeps it in the database, and every later CRL and ARL of every root key (all list every kind: DS, trust-list signer, root, link) lists the certificate until it expires.",
  }),
  operatorsPerStep: defineControl({
    id: "pki.ceremony.operators-per-step",
    clause: clause("5.2.2"),
    summary:
      "Every ceremony step needs at least one named, authenticated operator (OPERATOR_REQUIRED); steps in policy.ceremony.dualControl need two distinct persons (a repeated id counts once).",
  }),
  operatorAuthenticated: defineControl({
    id: "pki.operator.authenticated",
    clause: clause("5.2.3"),
    summary:
      "Operators are enrolled with an id and a secret of at least 12 characters stored only as a salted scrypt hash; each step verifies every named operator's secret and refuses unknown or disabled operators.",
  }),
  compromiseNoFurtherUse: defineControl({
    id: "pki.compromise.no-further-use",
    clause: clause("5.7.3"),
    summary:
      "A revoked key is not used again: the root room refuses to sign DS certificates with a revoked root (ROOT_REVOKED: re-key first) and the operations room never selects a revoked DS.",
  }),
  csrKeyDelivery: defineControl({
    id: "pki.csr.key-delivery",
    clause: clause("6.1.3"),
    summary:
      "The DS public key reaches the root room only inside a PKCS#10 request; the certificate carries exactly that key, and the operations room installs it only for the HSM key it generated (DS_KEY_UNKNOWN / DS_KEY_MISMATCH).",
  }),
  publicKeyArchived: defineControl({
    id: "pki.pubkey.archived",
    clause: clause("6.3.1"),
    summary:
      "Every certificate a room issues or installs is kept in pki_certificate (DER, SHA-256, SPKI SHA-256, SKI/AKI, validity) and each DS key's CSR in pki_key; a stored serial is never replaced by a different certificate.",
  }),
  profileVersion: defineControl({
    id: "pki.profile.version",
    clause: clause("7.1.1"),
    summary: "Certificates are X.509 v3.",
  }),
  profile: defineControl({
    id: "pki.profile.annex-b",
    clause: clause("7.1.2"),
    summary:
      "Certificates carry exactly the ISO/IEC 18013-5 Annex B extensions of their profile (IACA, link, DS, trust-list signer) with the required criticality and values.",
  }),
  algorithms: defineControl({
    id: "pki.profile.algorithms",
    clause: clause("7.1.3"),
    summary:
      "Keys are EC on P-256/P-384/P-521; certificates and CRLs are signed with ecdsa-with-SHA256/384/512 (no parameters) matching the signing key's curve.",
  }),
  nameForms: defineControl({
    id: "pki.profile.name-forms",
    clause: clause("7.1.4"),
    summary:
      "Issuer names are byte-identical to the issuing certificate's subject (CA certificates and CRLs included; CA certificates are self-issued); DS and trust-list signer C and ST equal the IACA's.",
  }),
  crlVersion: defineControl({
    id: "pki.crl.version",
    clause: clause("7.2.1"),
    summary: "CRLs and ARLs are X.509 v2.",
  }),
  crlExtensions: defineControl({
    id: "pki.crl.extensions",
    clause: clause("7.2.2"),
    summary:
      "CRL and ARL extensions are exactly AKI (the IACA's SKI) and CRL number, non-critical; no IssuingDistributionPoint and no entry extensions (reasons stay in the database).",
  }),
  crlNumberIncreasing: defineControl({
    id: "pki.crl.number-increasing",
    clause: clause("7.2.2"),
    summary:
      "Each CRL/ARL carries a CRL number strictly greater than every earlier CRL and ARL of the IACA's name: one sequence for every list of every root key.",
  }),
  crlPerKey: defineControl({
    id: "pki.crl.per-key",
    clause: clause("4.9.7"),
    summary:
      "Every root key signs its own CRL and ARL (each listing every revoked certificate of the IACA) at its own URL, the one its certificates name; a root ceremony re-issues them for every key that signed a certificate still valid, so a Document Signer certified before a re-key passes strict CRL checking after it.",
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
  csrProofOfPossession: defineControl({
    id: "pki.csr.proof-of-possession",
    clause: clause("3.2.1"),
    summary: "A DS certificate is issued only from a PKCS#10 request whose signature verifies with its own key.",
  }),
  dualControl: defineControl({
    id: "pki.ceremony.dual-control",
    clause: clause("6.2.2"),
    summary:
      "Ceremony steps listed in policy.ceremony.dualControl (by default the root key's uses, DS key generation and operator changes) need two distinct authenticated operators.",
  }),
  operatorRegistry: defineControl({
    id: "pki.operator.registry",
    clause: clause("5.2.3"),
    summary:
      "A room's first operators enrol together (enough for dual control); later operators are added and disabled only by authorised operators, each change audited; ids are never reused; a disable that would leave too few operators for dual control is refused (OPERATOR_LOCKOUT).",
  }),
  audited: defineControl({
    id: "pki.ceremony.audited",
    clause: clause("5.4.1"),
    summary: "Every ceremony step writes an audit event with operators, artifact SHA-256s and the clause.",
  }),
} as const;
