import { type Clause, clause } from "./clauses.ts";

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

/** Controls of the policy package itself (declared after the registry above exists). */
export const POLICY_CONTROLS = {
  seedLimits: defineControl({
    id: "policy.seed-limits",
    clause: clause("6.3.2"),
    summary:
      "ポリシーの期間設定が仕様の上限又は下限（IACA 証明書5年以内、DS 証明書3か月以内、MSO 30日以内、鍵更新の開始は1か月以上前等）を超える場合、対象の項目と理由を明示した上書き指定がない限り読込みを拒否し、上書きは監査ログ（policy.load）に記録する。",
  }),
};
