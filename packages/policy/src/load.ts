import { readFileSync } from "node:fs";
import { Value, type ValueError, ValueErrorType } from "@sinclair/typebox/value";
import { parse as parseYaml } from "yaml";
import { ALGORITHMS } from "./algorithms.ts";
import { DEFAULT_POLICY } from "./defaults.ts";
import { parseDuration } from "./duration.ts";
import { PolicyError } from "./errors.ts";
import { checkSeedLimits } from "./limits.ts";
import { type Policy, PolicySchema } from "./schema.ts";

type Plain = Record<string, unknown>;

function deepMerge(base: Plain, over: Plain): Plain {
  const out: Plain = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] =
      v && typeof v === "object" && !Array.isArray(v) && b && typeof b === "object" && !Array.isArray(b)
        ? deepMerge(b as Plain, v as Plain)
        : v;
  }
  return out;
}

/**
 * Validates a policy object; the error names every bad field by its path
 * ("/ds/validity: ...") so an operator can fix the file without reading code.
 */
export function validatePolicy(input: unknown): Policy {
  const errors = [...Value.Errors(PolicySchema, input)];
  if (errors.length > 0) {
    const lines = errors.slice(0, 10).map((e) => `${e.path || "/"}: ${describe(e)}`);
    throw new PolicyError("POLICY_INVALID", `invalid policy:\n  ${lines.join("\n  ")}`, {
      fields: errors.map((e) => e.path),
    });
  }
  const policy = input as Policy;
  // ECDSA hashes follow the curve (7.1.3: ecdsa-with-SHA256 on P-256 ...): a policy naming another
  // pair would be silently overridden by the signers, so it is refused here
  for (const [path, key] of [
    ["/iaca/key", policy.iaca.key],
    ["/ds/key", policy.ds.key],
  ] as const)
    if (ALGORITHMS[key.curve].hash !== key.hash)
      throw new PolicyError(
        "POLICY_INVALID",
        `invalid policy:\n  ${path}/hash: ${key.curve} keys sign with ${ALGORITHMS[key.curve].hash}, not ${key.hash}`,
        { fields: [`${path}/hash`] },
      );
  for (const [path, d] of durations(policy)) {
    const parsed = parseDuration(d);
    if (parsed.years + parsed.months + parsed.days + parsed.seconds === 0) {
      throw new PolicyError("POLICY_INVALID", `invalid policy:\n  ${path}: duration must be positive`, {
        fields: [path],
      });
    }
  }
  const ka = policy.openid4vci.keyAttestation;
  if (ka.required && ka.trustAnchors.length === 0)
    throw new PolicyError(
      "POLICY_INVALID",
      "invalid policy:\n  /openid4vci/keyAttestation/trustAnchors: key attestations are required but no wallet provider is trusted",
      { fields: ["/openid4vci/keyAttestation/trustAnchors"] },
    );
  checkSeedLimits(policy);
  return policy;
}

/** TypeBox's messages, but a duration field says what it expects instead of printing a regex. */
function describe(e: ValueError): string {
  const schema = e.schema as { pattern?: string; description?: string };
  if (schema.pattern?.startsWith("^P") && typeof e.value === "string") {
    return `expected an ISO 8601 duration such as P3M or P30D (${schema.description}), got "${e.value}"`;
  }
  if (e.type === ValueErrorType.ObjectAdditionalProperties) return "unknown field";
  return e.message;
}

function* durations(p: Policy): Generator<[string, string]> {
  for (const section of ["iaca", "ds", "mso", "revocation", "audit"] as const) {
    for (const [k, v] of Object.entries(p[section]))
      if (typeof v === "string" && v.startsWith("P")) yield [`/${section}/${k}`, v];
  }
}

/** Parses YAML or JSON text with the built-in defaults underneath. */
export function parsePolicy(text: string, source = "policy"): Policy {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new PolicyError("POLICY_UNREADABLE", `${source}: not valid YAML/JSON: ${(e as Error).message}`);
  }
  if (doc == null) doc = {};
  if (typeof doc !== "object" || Array.isArray(doc))
    throw new PolicyError("POLICY_INVALID", `${source}: must be a mapping`);
  return validatePolicy(deepMerge(DEFAULT_POLICY as unknown as Plain, doc as Plain));
}

/** Loads the policy from `path`, or $IACA_POLICY, or the built-in defaults. */
export function loadPolicy(path: string | undefined = process.env.IACA_POLICY): Policy {
  if (!path) return validatePolicy(structuredClone(DEFAULT_POLICY));
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new PolicyError(
      "POLICY_UNREADABLE",
      `cannot read policy file ${path}: ${(e as NodeJS.ErrnoException).code ?? e}`,
    );
  }
  return parsePolicy(text, path);
}
