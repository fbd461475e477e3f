import { createHash } from "node:crypto";
import { type AuditEventInput, clause, type Policy, seedLimitOverrideRecord } from "@iaca/policy";
import { canonicalJson } from "./canonical.ts";

/**
 * The audit event that says which policy a process runs under (CP/CPS 5.4.1): its SHA-256, source
 * and version, and any override of the seed's limits with its reason (control policy.seed-limits).
 */
export function policyLoadEvent(policy: Policy, actor: string, source: string): AuditEventInput {
  const override = seedLimitOverrideRecord(policy);
  return {
    actor,
    action: "policy.load",
    targets: [`sha256:${createHash("sha256").update(canonicalJson(policy)).digest("hex")}`],
    outcome: "success",
    clause: clause("5.4.1"),
    details: { source, version: policy.version, ...(override ? { seedLimitOverride: override } : {}) },
  };
}
