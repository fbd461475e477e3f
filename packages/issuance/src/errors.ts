import { IacaError } from "@iaca/policy";

/**
 * Stable codes of the issuance services. The RA maps each to an RFC 9457 problem type
 * (apps/ra/src/problem.ts); messages never carry personal data.
 */
export type IssuanceErrorCode =
  | "INPUT_INVALID"
  | "MY_NUMBER_INVALID"
  | "ELEMENT_UNKNOWN"
  | "DEVICE_KEY_INVALID"
  | "BATCH_TOO_LARGE"
  | "PROFILE_UNSUPPORTED"
  | "CREDENTIAL_INVALID"
  | "CREDENTIAL_REVOKED"
  | "CREDENTIAL_SUSPENDED"
  | "CREDENTIAL_ALREADY_REFRESHED"
  | "REFRESH_OUTSIDE_WINDOW"
  | "HOLDER_MISMATCH"
  | "NOT_FOUND"
  | "SUSPENSION_DISABLED"
  | "SIGNING_UNAVAILABLE"
  | "HSM_UNAVAILABLE"
  | "ISSUER_UNAVAILABLE"
  | "INTERNAL";

export class IssuanceError extends IacaError {
  declare readonly code: IssuanceErrorCode;
  constructor(code: IssuanceErrorCode, message: string, details?: Record<string, unknown>, options?: ErrorOptions) {
    super(code, message, details, options);
  }
}
