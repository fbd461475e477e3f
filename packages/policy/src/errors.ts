/**
 * Base of every error a caller may act on. `code` is stable (documented, matched by
 * callers, mapped to RFC 9457 problem types); `message` is for people and never carries
 * personal data.
 */
export class IacaError extends Error {
  readonly code: string;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: string, message: string, details?: Record<string, unknown>, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }
}

export class PolicyError extends IacaError {}
