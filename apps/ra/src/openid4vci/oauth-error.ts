import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { errorHandler, type ProblemType, problemOf, scrub } from "../problem.ts";

/**
 * The error codes of the OpenID4VCI endpoints: RFC 6749 5.2 (token), RFC 6750 3.1 and RFC 9449
 * (DPoP), OpenID4VCI 1.0 8.3.1.2 (credential), 11.3 (notification). Stable: wallets match on them.
 */
export type OAuthErrorCode =
  | "invalid_request"
  | "invalid_grant"
  | "unsupported_grant_type"
  | "invalid_dpop_proof"
  | "invalid_token"
  | "invalid_credential_request"
  | "unknown_credential_configuration"
  | "invalid_proof"
  | "invalid_nonce"
  | "credential_request_denied"
  | "invalid_notification_id"
  | "invalid_notification_request";

/** An OpenID4VCI/OAuth error response: `{error, error_description}`, 401s with WWW-Authenticate: DPoP. */
export class OAuthError extends Error {
  readonly error: OAuthErrorCode;
  readonly status: number;
  constructor(error: OAuthErrorCode, description: string, status = 400) {
    super(description);
    this.error = error;
    this.status = status;
  }
}

/** The JWS algorithms DPoP proofs may use, named in WWW-Authenticate (RFC 9449 7.1). */
export const DPOP_ALGS = ["ES256", "ES384", "ES512"] as const;

export function sendOAuthError(reply: FastifyReply, e: OAuthError): FastifyReply {
  reply.request.log.info({ oauthError: e.error, status: e.status }, "request refused");
  if (e.status === 401)
    reply.header(
      "www-authenticate",
      `DPoP error="${e.error}", error_description="${e.message.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, "'")}", algs="${DPOP_ALGS.join(" ")}"`,
    );
  return reply
    .code(e.status)
    .header("cache-control", "no-store")
    .send({ error: e.error, error_description: e.message });
}

/** The RA problems a credential request can end in, as OpenID4VCI errors (the rest stays problem+json). */
const CREDENTIAL_ERRORS: Partial<Record<ProblemType, OAuthErrorCode>> = {
  "invalid-proof": "invalid_proof",
  "invalid-device-key": "invalid_proof",
  "nonce-unknown": "invalid_nonce",
  "nonce-expired": "invalid_nonce",
  "proof-replayed": "invalid_nonce",
  "batch-too-large": "invalid_credential_request",
  "validation-failed": "invalid_credential_request",
  "invalid-holder-data": "credential_request_denied",
  "invalid-my-number": "credential_request_denied",
  "unknown-element": "credential_request_denied",
  "unsupported-profile": "credential_request_denied",
  "invalid-credential": "credential_request_denied",
  "credential-already-refreshed": "credential_request_denied",
  "credential-revoked": "credential_request_denied",
  "credential-suspended": "credential_request_denied",
  "refresh-outside-window": "credential_request_denied",
  "holder-mismatch": "credential_request_denied",
};

/**
 * Error handler of the OpenID4VCI endpoints: OAuthErrors as they are; schema failures as the
 * endpoint's invalid-request code; the RA's client errors mapped to OpenID4VCI codes where the
 * specification defines one; everything else (5xx, 409, 429) as problem+json, as the RA answers it.
 */
export function oauthErrorHandler(invalidRequest: OAuthErrorCode) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    if (error instanceof OAuthError) return sendOAuthError(reply, error);
    if (error.validation) {
      const where = error.validation[0]?.instancePath || error.validationContext || "request";
      return sendOAuthError(reply, new OAuthError(invalidRequest, `the request is invalid at ${where}`));
    }
    const p = problemOf(error);
    const code = CREDENTIAL_ERRORS[p.type];
    if (code) return sendOAuthError(reply, new OAuthError(code, p.detail));
    if (p.type === "unsupported-media-type")
      return sendOAuthError(reply, new OAuthError(invalidRequest, "unsupported Content-Type"));
    if (p.type === "internal") request.log.error({ err: scrub(error) }, "request failed");
    return errorHandler(error, request, reply);
  };
}
