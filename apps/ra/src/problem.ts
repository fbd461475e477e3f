import { IacaError } from "@iaca/policy";
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";

/**
 * RFC 9457 problem types of the RA. `type` is stable (clients match on it); the list is the
 * table in docs/api.md. Responses never carry stack traces or personal data.
 */
export const PROBLEMS = {
  "validation-failed": { status: 400, title: "The request does not match the schema" },
  "invalid-holder-data": { status: 400, title: "The holder data breaks a profile rule" },
  "invalid-my-number": { status: 400, title: "The My Number is malformed or its check digit is wrong" },
  "unknown-element": { status: 400, title: "The holder data contains an element the profile does not define" },
  "invalid-device-key": { status: 400, title: "A device key is not a supported public key or is repeated" },
  "invalid-proof": { status: 400, title: "A proof of possession is invalid" },
  "nonce-unknown": { status: 400, title: "The proof's nonce was not issued to this client" },
  "nonce-expired": { status: 400, title: "The proof's nonce has expired" },
  "proof-replayed": { status: 400, title: "The proof's nonce has already been used" },
  "batch-too-large": { status: 400, title: "More device keys than the policy allows in one batch" },
  "unsupported-profile": { status: 400, title: "Unknown profile or docType" },
  "invalid-credential": { status: 400, title: "The presented mdoc does not verify against this issuer" },
  "client-certificate-required": { status: 401, title: "A client certificate from the client CA is required" },
  "client-unknown": { status: 401, title: "The client certificate is not registered" },
  "scope-missing": { status: 403, title: "The client lacks the scope this operation requires" },
  "not-found": { status: 404, title: "No such resource" },
  "idempotency-in-progress": { status: 409, title: "A request with this Idempotency-Key is still being processed" },
  "credential-already-refreshed": { status: 409, title: "The presented mdoc has already been refreshed" },
  "body-too-large": { status: 413, title: "The request body exceeds the limit" },
  "uri-too-long": { status: 414, title: "The request URI exceeds the limit" },
  "headers-too-large": { status: 431, title: "The request header fields exceed the limit" },
  "unsupported-media-type": { status: 415, title: "The request body must be application/json" },
  "idempotency-key-reused": { status: 422, title: "The Idempotency-Key was used with a different request" },
  "credential-revoked": { status: 422, title: "The credential has been revoked" },
  "credential-suspended": { status: 422, title: "The credential is suspended" },
  "suspension-disabled": { status: 422, title: "Suspension is not enabled by the policy (1-bit status lists)" },
  "refresh-outside-window": { status: 422, title: "The credential is outside the refresh window" },
  "holder-mismatch": { status: 422, title: "The holder data does not match the credential being refreshed" },
  "rate-limited": { status: 429, title: "Too many requests from this client" },
  internal: { status: 500, title: "Internal error" },
  "signing-unavailable": { status: 503, title: "No Document Signer key can sign now" },
  "hsm-unavailable": { status: 503, title: "The HSM is unreachable" },
  "issuer-unavailable": { status: 503, title: "The issuer service is unreachable" },
  "database-unavailable": { status: 503, title: "The database is unreachable" },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemType = keyof typeof PROBLEMS;

export const PROBLEM_BASE = "urn:iaca:problem:";

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  code?: string;
  errors?: { pointer: string; detail: string }[];
  [k: string]: unknown;
}

/** An error the RA turns into one problem response. */
export class ProblemError extends IacaError {
  readonly problem: ProblemType;
  readonly extra: Record<string, unknown>;
  constructor(problem: ProblemType, detail: string, extra: Record<string, unknown> = {}) {
    super(`RA_${problem.toUpperCase().replaceAll("-", "_")}`, detail);
    this.problem = problem;
    this.extra = extra;
  }
}

/** Error code (IssuanceError, MdocError, HsmError, DbError...) to problem type. */
const CODE_MAP: Record<string, ProblemType> = {
  INPUT_INVALID: "invalid-holder-data",
  MY_NUMBER_INVALID: "invalid-my-number",
  ELEMENT_UNKNOWN: "unknown-element",
  DEVICE_KEY_INVALID: "invalid-device-key",
  BATCH_TOO_LARGE: "batch-too-large",
  PROFILE_UNSUPPORTED: "unsupported-profile",
  CREDENTIAL_INVALID: "invalid-credential",
  CREDENTIAL_REVOKED: "credential-revoked",
  CREDENTIAL_ALREADY_REFRESHED: "credential-already-refreshed",
  REFRESH_OUTSIDE_WINDOW: "refresh-outside-window",
  HOLDER_MISMATCH: "holder-mismatch",
  NOT_FOUND: "not-found",
  SUSPENSION_DISABLED: "suspension-disabled",
  CREDENTIAL_SUSPENDED: "credential-suspended",
  SIGNING_UNAVAILABLE: "signing-unavailable",
  HSM_UNAVAILABLE: "hsm-unavailable",
  ISSUER_UNAVAILABLE: "issuer-unavailable",
  DB_UNAVAILABLE: "database-unavailable",
  MDOC_DEVICE_KEY_INVALID: "invalid-device-key",
  MDOC_NO_DS_CERTIFICATE: "signing-unavailable",
  MDOC_DS_KEY_STATE: "signing-unavailable",
  MDOC_DS_REVOKED: "signing-unavailable",
};

export function problemOf(e: unknown): { type: ProblemType; detail: string; extra: Record<string, unknown> } {
  if (e instanceof ProblemError) return { type: e.problem, detail: e.message, extra: e.extra };
  const fe = e as FastifyError & { code?: string; statusCode?: number };
  if (fe?.code === "FST_ERR_CTP_BODY_TOO_LARGE") return { type: "body-too-large", detail: fe.message, extra: {} };
  if (fe?.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE")
    return { type: "unsupported-media-type", detail: "Content-Type must be application/json", extra: {} };
  if (fe?.code === "FST_ERR_CTP_INVALID_JSON_BODY" || fe?.code === "FST_ERR_CTP_EMPTY_JSON_BODY")
    return { type: "validation-failed", detail: "the body is not valid JSON", extra: {} };
  if (e instanceof IacaError) {
    const mapped = CODE_MAP[e.code];
    if (mapped) {
      const extra: Record<string, unknown> = { code: e.code };
      const d = e.details as Record<string, unknown> | undefined;
      if (d?.element && typeof d.element === "string") extra.element = d.element;
      if (d?.rule && typeof d.rule === "string") extra.rule = d.rule;
      if (typeof d?.index === "number") extra.index = d.index;
      // the refresh window's bounds (ISO 8601 instants, no personal data): docs/api.md promises them
      for (const k of ["opens", "closes"] as const) if (typeof d?.[k] === "string") extra[k] = d[k];
      return { type: mapped, detail: e.message, extra };
    }
    if (e.code.startsWith("HSM_")) return { type: "hsm-unavailable", detail: "HSM operation failed", extra: {} };
    if (e.code.startsWith("DB_")) return { type: "database-unavailable", detail: "database unavailable", extra: {} };
    if (e.code.startsWith("MDOC_INPUT") || e.code === "MDOC_FORMAT")
      return { type: "invalid-holder-data", detail: e.message, extra: { code: e.code } };
  }
  if (fe?.statusCode === 404) return { type: "not-found", detail: "no such route", extra: {} };
  if (fe?.statusCode === 429) return { type: "rate-limited", detail: "rate limit exceeded", extra: {} };
  if (fe?.statusCode === 413) return { type: "body-too-large", detail: "request body too large", extra: {} };
  if (fe?.statusCode === 415) return { type: "unsupported-media-type", detail: "unsupported media type", extra: {} };
  if (fe?.statusCode && fe.statusCode >= 400 && fe.statusCode < 500)
    return { type: "validation-failed", detail: "bad request", extra: {} };
  return { type: "internal", detail: "internal error", extra: {} };
}

export function problemBody(type: ProblemType, detail: string, extra: Record<string, unknown> = {}): ProblemBody {
  const p = PROBLEMS[type];
  return { type: PROBLEM_BASE + type, title: p.title, status: p.status, detail, ...extra };
}

export function sendProblem(
  reply: FastifyReply,
  type: ProblemType,
  detail: string,
  extra: Record<string, unknown> = {},
): FastifyReply {
  const body = problemBody(type, detail, extra);
  // every refusal (client certificate, scope, schema, proof, input) in the access log with the
  // client and the problem type; the detail may quote input, so it is not logged
  if (body.status < 500)
    reply.request.log.info(
      {
        problem: type,
        status: body.status,
        client: (reply.request as { apiClient?: { id: string } }).apiClient?.id ?? null,
      },
      "request refused",
    );
  return reply.code(body.status).type("application/problem+json").send(body);
}

/** fastify error handler: every error becomes problem+json; 5xx are logged without request bodies. */
export function errorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error.validation) {
    const errors = error.validation.map((v) => ({
      pointer: `${error.validationContext === "body" ? "" : `/${error.validationContext ?? ""}`}${v.instancePath}`,
      detail: v.message ?? "invalid",
    }));
    return sendProblem(reply, "validation-failed", `the ${error.validationContext ?? "request"} is invalid`, {
      errors,
    });
  }
  const p = problemOf(error);
  const status = PROBLEMS[p.type].status;
  if (status >= 500)
    request.log.error(
      { code: (error as { code?: string }).code, problem: p.type, err: scrub(error) },
      "request failed",
    );
  return sendProblem(reply, p.type, status === 500 ? "internal error" : p.detail, { instance: request.id, ...p.extra });
}

/** An error for logs: name, code and message only (messages carry no personal data by convention). */
export function scrub(e: unknown): Record<string, unknown> {
  const x = e as { name?: string; code?: string; message?: string };
  return { name: x?.name, code: x?.code, message: x?.message };
}

/**
 * Errors fastify raises before routing (a URL it cannot route, a parameter over maxParamLength):
 * problem+json like every other error, without the URL (fastify's default message quotes it).
 */
export function frameworkError(error: FastifyError, _req: FastifyRequest, reply: FastifyReply): void {
  if (error.code === "FST_ERR_MAX_PARAM_LENGTH") sendProblem(reply, "uri-too-long", "a path segment is too long");
  else sendProblem(reply, "validation-failed", "the request URL is malformed");
}

const CLIENT_ERRORS: Record<string, ProblemType> = {
  HPE_HEADER_OVERFLOW: "headers-too-large",
};

/**
 * Errors Node's HTTP parser raises before fastify sees a request (header fields over the limit,
 * a malformed request line): answered as problem+json and the connection closed, never echoed.
 */
export function clientError(err: NodeJS.ErrnoException, socket: import("node:net").Socket): void {
  if (!socket.writable) return void socket.destroy();
  const type = CLIENT_ERRORS[err.code ?? ""] ?? "validation-failed";
  const body = JSON.stringify(
    problemBody(type, type === "headers-too-large" ? "the header fields are too large" : "malformed request"),
  );
  socket.end(
    `HTTP/1.1 ${PROBLEMS[type].status} ${PROBLEMS[type].title}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
