// The audit event of a ceremony or operator-registry step, in the name of the operators who did it.
import type { AuditSink, Clause } from "@iaca/policy";
import { CONTROLS } from "./controls.ts";

/** The audit actor of a step: its operators joined ("op:alice+op:bob"), or the service when none. */
export function actorOf(actors: readonly string[]): string {
  return actors.join("+") || "svc:pki";
}

/** A successful step as one audit event with its operators, artifacts and clause (pki.ceremony.audited). */
export async function recordStep(
  r: { audit: AuditSink; actors: string[] },
  action: string,
  c: Clause,
  targets: string[],
  details: Record<string, unknown> = {},
): Promise<void> {
  void CONTROLS.audited;
  await r.audit.append({
    actor: actorOf(r.actors),
    action,
    targets,
    outcome: "success",
    clause: c,
    details: { operators: r.actors, ...details },
  });
}
