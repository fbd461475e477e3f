import type { Clause } from "./clauses.ts";

/** A check the code enforces on behalf of a CP/CPS clause. */
export interface Control {
  /** Stable id, `<area>.<subject>.<rule>`, e.g. "hsm.key.non-extractable". Tests name it. */
  readonly id: string;
  readonly clause: Clause;
  /** One sentence, Japanese or English, used in the traceability matrix. */
  readonly summary: string;
}

const controls = new Map<string, Control>();

/** Declares a control once; the enforcing code references the returned constant. */
export function defineControl(c: Control): Control {
  if (controls.has(c.id)) throw new Error(`control ${c.id} defined twice`);
  controls.set(c.id, c);
  return c;
}

/** Every control declared by the modules imported so far. */
export function allControls(): Control[] {
  return [...controls.values()];
}
