// The seed's limits (デジタル庁 調達仕様書, 令和6年2月, 図表2 and 4(1)イ) as bounds on the policy:
// a value beyond one is refused unless the policy names that field in `seedLimitOverride`, with a
// reason, which `iaca status`, `iaca serve` (audit event policy.load) and the ceremonies report.
import { type Clause, clause } from "./clauses.ts";
import { POLICY_CONTROLS } from "./controls.ts";
import { addDuration } from "./duration.ts";
import { PolicyError } from "./errors.ts";
import type { Policy } from "./schema.ts";

/** Policy fields the seed bounds, as `section.key`. */
export const SEED_LIMITED_FIELDS = [
  "iaca.validity",
  "iaca.rekeyInterval",
  "iaca.firstRekeyAfter",
  "iaca.rekeyLead",
  "ds.validity",
  "ds.rotationInterval",
  "ds.firstRotationAfter",
  "ds.renewalLead",
  "mso.validity",
  "mso.expectedUpdate",
] as const;
export type SeedLimitedField = (typeof SEED_LIMITED_FIELDS)[number];

export interface SeedLimit {
  field: SeedLimitedField;
  /** max: the value may not be longer; min: it may not be shorter (a lead time). */
  bound: "max" | "min";
  limit: string;
  /** Where the seed states it, in its own words. */
  source: string;
  clause: Clause;
}

export const SEED_LIMITS: readonly SeedLimit[] = [
  {
    field: "iaca.validity",
    bound: "max",
    limit: "P5Y",
    source: "図表2 Root 認証局「最大有効期限 最大5年」",
    clause: clause("6.3.2"),
  },
  {
    field: "iaca.rekeyInterval",
    bound: "max",
    limit: "P5Y",
    source: "図表2 Root 認証局「発行間隔 5年毎」、4(1)イ「5年毎に Root 認証局の鍵の更新を行なう」",
    clause: clause("5.6"),
  },
  {
    field: "iaca.firstRekeyAfter",
    bound: "max",
    limit: "P4Y11M",
    source: "図表2 Root 認証局「初回のみ4年11ヶ月毎」",
    clause: clause("5.6"),
  },
  {
    field: "iaca.rekeyLead",
    bound: "min",
    limit: "P1M",
    source: "図表2 Root 認証局 新しい署名鍵のための証明書発行開始期限「利用期限が切れる1ヶ月前」",
    clause: clause("5.6"),
  },
  {
    field: "ds.validity",
    bound: "max",
    limit: "P3M",
    source: "図表2 Document Signer「最大有効期限 最大3ヶ月」",
    clause: clause("6.3.2"),
  },
  {
    field: "ds.rotationInterval",
    bound: "max",
    limit: "P3M",
    source: "図表2 Document Signer「発行間隔 3ヶ月毎」、4(1)イ「3ヶ月毎に DS 認証局の鍵の更新」",
    clause: clause("5.6"),
  },
  {
    field: "ds.firstRotationAfter",
    bound: "max",
    limit: "P2M",
    source: "図表2 Document Signer「初回のみ2か月後」",
    clause: clause("5.6"),
  },
  {
    field: "ds.renewalLead",
    bound: "min",
    limit: "P1M",
    source: "図表2 Document Signer 新しい署名鍵のための証明書発行開始期限「利用期限が切れる1ヶ月前」",
    clause: clause("5.6"),
  },
  {
    field: "mso.validity",
    bound: "max",
    limit: "P30D",
    source: "図表2 MSO「最大有効期限 最大30日」、4(1)イ「MSOの有効期限は、発行から30日とする」",
    clause: clause("6.3.2"),
  },
  {
    field: "mso.expectedUpdate",
    bound: "max",
    limit: "P30D",
    source: "図表2 MSO「発行期間 30日毎」",
    clause: clause("6.3.2"),
  },
];

const DAY = 86_400_000;
/** Start dates over one leap cycle: a calendar duration is compared on every day it could start. */
const STARTS = Array.from({ length: 1461 }, (_, i) => new Date(Date.UTC(2028, 0, 1) + i * DAY));

/** True when `a` ends later than `b` from at least one start date (P90D is longer than P3M from 1 February). */
function longerSomewhere(a: string, b: string): boolean {
  return STARTS.some((s) => addDuration(s, a).getTime() > addDuration(s, b).getTime());
}

function fieldValue(policy: Policy, field: SeedLimitedField): string | undefined {
  const [section, key] = field.split(".") as [keyof Policy, string];
  const v = (policy[section] as unknown as Record<string, unknown>)[key];
  return typeof v === "string" ? v : undefined;
}

export interface SeedLimitBreach extends SeedLimit {
  value: string;
}

/** Every seed limit the policy's values go beyond, overridden or not. */
export function seedLimitBreaches(policy: Policy): SeedLimitBreach[] {
  const out: SeedLimitBreach[] = [];
  for (const l of SEED_LIMITS) {
    const value = fieldValue(policy, l.field);
    if (value === undefined) continue;
    const beyond = l.bound === "max" ? longerSomewhere(value, l.limit) : longerSomewhere(l.limit, value);
    if (beyond) out.push({ ...l, value });
  }
  return out;
}

const describeBreach = (b: SeedLimitBreach) =>
  `${b.value} is ${b.bound === "max" ? "longer" : "shorter"} than the seed allows (${b.bound === "max" ? "at most" : "at least"} ${b.limit}: 調達仕様書 ${b.source}; CP/CPS ${b.clause.id})`;

/**
 * Refuses values beyond the seed's limits unless `seedLimitOverride.fields` names them
 * (control policy.seed-limits); an override of a field within its limit is refused too, so the
 * override always says exactly what it overrides.
 */
export function checkSeedLimits(policy: Policy): void {
  const overridden = new Set<string>(policy.seedLimitOverride?.fields ?? []);
  const breaches = seedLimitBreaches(policy);
  const refused = breaches.filter((b) => !overridden.has(b.field));
  const needless = [...overridden].filter((f) => !breaches.some((b) => b.field === f));
  const lines = [
    ...refused.map((b) => `/${b.field.replace(".", "/")}: ${describeBreach(b)}`),
    ...needless.map((f) => `/seedLimitOverride/fields: ${f} is within the seed's limit; remove it from the override`),
  ];
  if (lines.length === 0) return;
  const hint = refused.length
    ? "\n  To run beyond a limit on purpose, list the field in seedLimitOverride.fields and give seedLimitOverride.reason (recorded in the audit log)."
    : "";
  throw new PolicyError("POLICY_SEED_LIMIT", `policy beyond the seed's limits:\n  ${lines.join("\n  ")}${hint}`, {
    fields: [
      ...refused.map((b) => `/${b.field.replace(".", "/")}`),
      ...(needless.length ? ["/seedLimitOverride"] : []),
    ],
    clauses: [...new Set(refused.map((b) => b.clause.id))],
    control: POLICY_CONTROLS.seedLimits.id,
  });
}

/** The override in force, for the audit event policy.load and `iaca status`; undefined when there is none. */
export function seedLimitOverrideRecord(
  policy: Policy,
): { reason: string; fields: { field: string; value: string; limit: string; bound: string }[] } | undefined {
  const o = policy.seedLimitOverride;
  if (!o) return undefined;
  const breaches = seedLimitBreaches(policy);
  return {
    reason: o.reason,
    fields: breaches
      .filter((b) => o.fields.includes(b.field))
      .map((b) => ({ field: b.field, value: b.value, limit: b.limit, bound: b.bound })),
  };
}
