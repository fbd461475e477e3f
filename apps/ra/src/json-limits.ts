import { ProblemError } from "./problem.ts";

/** Deepest nesting any request body may have: the deepest valid body (refresh) nests 4 levels. */
export const MAX_JSON_DEPTH = 32;

/**
 * Refuses a parsed body nested deeper than MAX_JSON_DEPTH, iteratively (no recursion, so a
 * 20,000-deep value cannot exhaust the stack of the code that reads it later: idempotency
 * hashing, schema validation, the issuer).
 */
export function assertJsonDepth(value: unknown, max = MAX_JSON_DEPTH): void {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    if (depth > max) throw new ProblemError("validation-failed", `the body nests deeper than ${max} levels`);
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth + 1]);
  }
}

/** JSON bodies are UTF-8 (RFC 8259 §8.1): a Content-Type naming another charset is refused. */
export function assertUtf8(contentType: string | undefined): void {
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType ?? "")?.[1];
  if (charset && charset.toLowerCase() !== "utf-8")
    throw new ProblemError("unsupported-media-type", "JSON bodies must be UTF-8 (charset=utf-8 or none)");
}
