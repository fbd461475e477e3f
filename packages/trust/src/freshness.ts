import type { CrlInfo } from "@iaca/pki";
import { type Policy, subtractDuration } from "@iaca/policy";

/**
 * Freshness of one revocation list at an instant:
 * - current: nextUpdate is further away than policy.revocation.warnBefore;
 * - warning: within warnBefore of nextUpdate and nothing newer installed (a root ceremony is due);
 * - expired: nextUpdate has passed (never presented as current);
 * - missing: no list installed.
 */
export type Freshness = "current" | "warning" | "expired" | "missing";

export interface ListFreshness {
  state: Freshness;
  /** Hours until nextUpdate (negative once passed); undefined when missing or without nextUpdate. */
  hoursLeft: number | undefined;
  nextUpdate: Date | undefined;
  /** When the warning window opens. */
  warnAt: Date | undefined;
}

export function freshness(list: CrlInfo | undefined, policy: Policy, now: Date): ListFreshness {
  if (!list) return { state: "missing", hoursLeft: undefined, nextUpdate: undefined, warnAt: undefined };
  const next = list.nextUpdate;
  if (!next) return { state: "expired", hoursLeft: undefined, nextUpdate: undefined, warnAt: undefined };
  const warnAt = subtractDuration(next, policy.revocation.warnBefore);
  const hoursLeft = (next.getTime() - now.getTime()) / 3_600_000;
  const state: Freshness = now.getTime() >= next.getTime() ? "expired" : now >= warnAt ? "warning" : "current";
  return { state, hoursLeft, nextUpdate: next, warnAt };
}
