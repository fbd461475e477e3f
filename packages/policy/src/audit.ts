import type { Clause } from "./clauses.ts";

/** One audit decision. `details` must not contain personal data. */
export interface AuditEventInput {
  /** Operator id ("op:alice") or API client id ("client:wallet-a") or service ("svc:issuer"). */
  actor: string;
  /** Dotted verb, e.g. "hsm.key.generate", "ds.certificate.issue". */
  action: string;
  /** Ids of what was acted on (key URIs, serials, issuance ids), never personal data. */
  targets: string[];
  outcome: "success" | "failure" | "denied";
  clause: Clause;
  details?: Record<string, unknown>;
}

/** Where decisions are recorded; implemented by @iaca/db's hash-chained audit log. */
export interface AuditSink {
  append(event: AuditEventInput): Promise<unknown>;
}

/** For code paths with no audit requirement (benchmarks, throwaway demos); never the default. */
export const discardAudit: AuditSink = { append: async () => undefined };
