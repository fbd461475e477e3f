import { allProfiles, type DoctypeProfile, ELEMENT_NAMES, getProfile } from "@iaca/mdoc";
import { ALGORITHMS, type Policy } from "@iaca/policy";
import { OPENID4VCI_CREDENTIAL } from "../controls.ts";
import { DPOP_ALGS } from "./oauth-error.ts";

/** The grant type of the pre-authorized code flow (OpenID4VCI 1.0 4.1.1). */
export const PRE_AUTHORIZED_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code";

/** Paths of the OpenID4VCI endpoints, relative to the credential issuer identifier. */
export const ENDPOINTS = {
  token: "openid4vci/token",
  nonce: "openid4vci/nonce",
  credential: "openid4vci/credential",
  notification: "openid4vci/notification",
} as const;

/** The Credential Issuer Identifier and the published URL of each endpoint under it. */
export class CredentialIssuer {
  private readonly resolve: () => string;
  /** The identifier, or how to learn it once the server listens (its port). */
  constructor(id: string | (() => string)) {
    this.resolve = typeof id === "string" ? () => id : id;
  }
  get id(): string {
    return this.resolve().replace(/\/+$/, "");
  }
  url(endpoint: keyof typeof ENDPOINTS): string {
    return new URL(ENDPOINTS[endpoint], `${this.id}/`).toString();
  }
  /** Where the metadata lives: /.well-known/<name> followed by the identifier's path (OpenID4VCI 12.2.2, RFC 8414 3.1). */
  wellKnownPath(name: "openid-credential-issuer" | "oauth-authorization-server"): string {
    const path = new URL(this.id).pathname.replace(/\/+$/, "");
    return `/.well-known/${name}${path}`;
  }
}

/** One credential configuration per doctype profile: `<docType>_<profile id>`. */
export function configurationId(profile: DoctypeProfile): string {
  return `${profile.docType}_${profile.id}`;
}

/** The profile a configuration id names, or undefined. */
export function profileOfConfiguration(id: string): DoctypeProfile | undefined {
  return allProfiles().find((p) => configurationId(p) === id);
}

const names = (ja: string, en: string) => [
  { name: ja, locale: "ja" },
  { name: en, locale: "en" },
];

function claimsOf(profile: DoctypeProfile) {
  return Object.entries(profile.namespaces).flatMap(([ns, elements]) =>
    Object.keys(elements).map((id) => {
      const n = ELEMENT_NAMES[id];
      return { path: [ns, id], ...(n ? { display: names(n.ja, n.en) } : {}) };
    }),
  );
}

function configuration(profile: DoctypeProfile, policy: Policy) {
  return {
    format: "mso_mdoc",
    doctype: profile.docType,
    cryptographic_binding_methods_supported: ["cose_key"],
    // the Document Signers' key (policy ds.key), as a fully-specified COSE algorithm (A.2.2)
    credential_signing_alg_values_supported: [ALGORITHMS[policy.ds.key.curve].coseFullySpecified],
    // the device keys the RA accepts: every curve of the algorithm registry
    proof_types_supported: {
      jwt: {
        proof_signing_alg_values_supported: Object.values(ALGORITHMS).map((a) => a.jose),
        // HAIP: the policy may require every proof's key to be attested by a trusted wallet provider
        ...(policy.openid4vci.keyAttestation.required ? { key_attestations_required: {} } : {}),
      },
    },
    credential_metadata: {
      display: [
        { name: "マイナンバーカード", locale: "ja", description: profile.description ?? profile.id },
        { name: "My Number Card", locale: "en", description: `${profile.docType} (${profile.id} profile)` },
      ],
      claims: claimsOf(profile),
    },
  };
}

/**
 * Credential Issuer Metadata (OpenID4VCI 1.0 12.2.4), made from the same profiles and policy the
 * issuance uses: one mso_mdoc configuration per doctype profile, the batch size the policy allows.
 * No `authorization_servers`: the credential issuer is its own authorization server.
 */
export function issuerMetadata(issuer: CredentialIssuer, policy: Policy) {
  void OPENID4VCI_CREDENTIAL;
  const organisation = policy.ds.organization ?? policy.iaca.name.O ?? "mdoc issuer";
  return {
    credential_issuer: issuer.id,
    credential_endpoint: issuer.url("credential"),
    nonce_endpoint: issuer.url("nonce"),
    notification_endpoint: issuer.url("notification"),
    ...(policy.mso.maxBatch >= 2 ? { batch_credential_issuance: { batch_size: policy.mso.maxBatch } } : {}),
    display: names("デジタル庁 mdoc 発行局", `${organisation} mdoc issuer`),
    credential_configurations_supported: Object.fromEntries(
      allProfiles().map((p) => [configurationId(p), configuration(p, policy)]),
    ),
  };
}

/** Authorization Server Metadata (RFC 8414) of the same identifier: the pre-authorized code grant, DPoP only. */
export function authorizationServerMetadata(issuer: CredentialIssuer) {
  return {
    issuer: issuer.id,
    token_endpoint: issuer.url("token"),
    grant_types_supported: [PRE_AUTHORIZED_GRANT],
    "pre-authorized_grant_anonymous_access_supported": true,
    token_endpoint_auth_methods_supported: ["none"],
    dpop_signing_alg_values_supported: [...DPOP_ALGS],
    response_types_supported: [],
  };
}

/** The configuration id an offer names for its profile. */
export function offeredConfiguration(profileId: string): string {
  return configurationId(getProfile(profileId));
}
