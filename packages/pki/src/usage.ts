// The private-key usage period of a DS key: the issuer/MSO code calls assertCanSign before every MSO.
import { addDuration, IacaError, type Policy, subtractDuration } from "@iaca/policy";
import { CONTROLS } from "./controls.ts";

export interface DsRecordLike {
  serial: string;
  notBefore: Date;
  notAfter: Date;
  /** When the plan activates this DS (defaults to notBefore). */
  activatesAt?: Date | null;
  /** When the next DS took over (absent while current). */
  retiredAt?: Date | null;
  revokedAt?: Date | null;
}

export interface UsagePeriod {
  start: Date;
  /** DS.notAfter - MSO validity: every MSO signed by then is covered for its full validity. */
  end: Date;
}

export class UsagePeriodError extends IacaError {}

export function usagePeriod(ds: DsRecordLike, policy: Policy): UsagePeriod {
  const start = ds.activatesAt && ds.activatesAt > ds.notBefore ? ds.activatesAt : ds.notBefore;
  return { start, end: subtractDuration(ds.notAfter, policy.mso.validity) };
}

/**
 * Throws unless the DS key may sign an MSO at `at` (pki.ds.usage-period): inside its usage period, not
 * revoked, not retired; and the MSO it would sign (validUntil = at + mso.validity) ends within DS.notAfter.
 */
export function assertCanSign(ds: DsRecordLike, at: Date, policy: Policy): UsagePeriod {
  void CONTROLS.dsUsagePeriod;
  const p = usagePeriod(ds, policy);
  const details = { serial: ds.serial, at: at.toISOString(), start: p.start.toISOString(), end: p.end.toISOString() };
  if (ds.revokedAt && ds.revokedAt <= at)
    throw new UsagePeriodError("DS_REVOKED", `DS ${ds.serial} is revoked`, details);
  if (at < p.start)
    throw new UsagePeriodError("DS_NOT_YET_ACTIVE", `DS ${ds.serial} may sign from ${p.start.toISOString()}`, details);
  if (at > p.end)
    throw new UsagePeriodError(
      "DS_USAGE_PERIOD_OVER",
      `DS ${ds.serial} usage period ended ${p.end.toISOString()} (notAfter minus MSO validity)`,
      details,
    );
  if (ds.retiredAt && ds.retiredAt <= at)
    throw new UsagePeriodError("DS_RETIRED", `DS ${ds.serial} was retired ${ds.retiredAt.toISOString()}`, details);
  if (addDuration(at, policy.mso.validity) > ds.notAfter)
    throw new UsagePeriodError("MSO_BEYOND_DS", "MSO.validUntil would pass DS.notAfter", details);
  return p;
}
