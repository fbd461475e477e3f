import { RFC3647_OUTLINE } from "./rfc3647.ts";

export interface Clause {
  /** RFC 3647 section number, e.g. "6.1.1". */
  readonly id: string;
  /** Japanese title, e.g. "鍵ペアの生成". */
  readonly title: string;
  /** Technical clauses are enforced by code and must have at least one control. */
  readonly kind: "technical" | "procedural";
}

const registry = new Map<string, Clause>(
  RFC3647_OUTLINE.map(([id, title, technical]) => [id, { id, title, kind: technical ? "technical" : "procedural" }]),
);

/** The clause with this RFC 3647 id; throws at import time for a typo, so no control cites a missing clause. */
export function clause(id: string): Clause {
  const c = registry.get(id);
  if (!c) throw new Error(`unknown CP/CPS clause ${id} (not in the RFC 3647 outline)`);
  return c;
}

export function allClauses(): Clause[] {
  return [...registry.values()];
}

/** "6.1.1 鍵ペアの生成" */
export function clauseLabel(c: Clause): string {
  return `${c.id} ${c.title}`;
}
