// `iaca simulate`: the whole key lifecycle on a simulated clock with real HSM keys and a real
// database. A virtual operator holds the root ceremonies of the plan (re-keys with link
// certificates, pre-signed DS certificates, CRL/ARL), the rotation job runs every simulated day,
// wallets issue, refresh and revoke mdocs, and every check day each live mdoc is verified by
// verifiers who trust only what the DTS published (one per root they pinned: old-root holders
// reach new DS certificates through link certificates).
import type { Database } from "@iaca/db";
import type { KeyStore } from "@iaca/hsm";
import type { PolicyChange } from "@iaca/pki";
import type { Policy } from "@iaca/policy";
import { CONTROLS } from "./controls.ts";
import { iso, Simulation } from "./simulation.ts";

export { syntheticHolder } from "./synthetic-holder.ts";

export interface SimulationOptions {
  db: Database;
  /** Root-room token (IACA keys) and operations token (DS keys, issuer secrets, trust-list signer). */
  rootHsm: KeyStore;
  dsHsm: KeyStore;
  policy: Policy;
  /** Horizon in months (default 120 = 10 years). */
  months?: number;
  /** Start (default 2026-04-01T00:00:00Z). */
  from?: Date;
  /** When the policy breaks an invariant, run the planner's nearest consistent policy and report the changes (default true). */
  adjust?: boolean;
  /** The root-room cadence: routine visits only for CRL/ARL re-issue are held at most this often (default P3M). */
  visitEvery?: string;
  /** New mdocs per simulated week (default 3). */
  issuesPerWeek?: number;
  /** How many times a holder refreshes before letting the mdoc lapse (default 2). */
  refreshes?: number;
  /** Every n-th issued mdoc is revoked the next day (default 7; 0 = none). */
  revokeEvery?: number;
  /** Publish link certificates at re-keys (default true; false is a deliberately broken set-up). */
  linkCertificates?: boolean;
  /** Key-compromise drill half-way: revoke the active DS, emergency DS ceremony and CRL (default true). */
  compromiseDrill?: boolean;
  /** Verify every live mdoc on every day something changed and at least every n days (default 7). */
  checkEvery?: number;
  /** Stop after this many failures (default: run to the end). */
  maxFailures?: number;
  log?: (line: string) => void;
}

export interface SimulationFailure {
  at: Date;
  kind:
    | "issuance"
    | "usage-period"
    | "verify"
    | "crl-stale"
    | "crl-strict"
    | "trust-list"
    | "revocation"
    | "rotation"
    | "status";
  message: string;
}

export interface SimulationEvent {
  at: Date;
  kind: string;
  text: string;
}

export interface SimulationResult {
  from: Date;
  until: Date;
  /** The policy that ran (the planner's proposal when adjusted). */
  policy: Policy;
  adjustments: PolicyChange[];
  /** Invariant violations the planner reports for the policy that ran (a simulation of them fails). */
  planViolations: string[];
  counts: Record<string, number>;
  failures: SimulationFailure[];
  events: SimulationEvent[];
  /** The timeline as it happened (planner's SVG renderer over the simulated records). */
  svg: string;
  elapsedMs: number;
  /** Wall-clock milliseconds by phase (ceremonies, rotation, traffic, checks). */
  phaseMs: Record<string, number>;
}

export async function simulate(o: SimulationOptions): Promise<SimulationResult> {
  void CONTROLS.simulation;
  const sim = new Simulation(o, o.from ?? new Date("2026-04-01T00:00:00Z"), o.months ?? 120);
  await sim.prepare();
  await sim.run();
  return sim.result();
}

/** The summary for people. */
export function formatSimulation(r: SimulationResult): string {
  const out: string[] = [];
  out.push(
    `Simulated ${iso(r.from)} .. ${iso(r.until)} (policy ${r.policy.version}) in ${(r.elapsedMs / 1000).toFixed(1)} s`,
  );
  if (r.adjustments.length) {
    out.push("", "The policy breaks an invariant; the planner's nearest consistent policy ran instead:");
    for (const c of r.adjustments) out.push(`  ${c.path}: ${c.from} -> ${c.to}  (${c.why})`);
  }
  if (r.planViolations.length) {
    out.push("", "Planner violations of the policy that ran:");
    for (const v of r.planViolations.slice(0, 5)) out.push(`  ${v}`);
    if (r.planViolations.length > 5) out.push(`  ... ${r.planViolations.length - 5} more`);
  }
  const c = r.counts;
  out.push(
    "",
    `Ceremonies   ${c.rootVisits} root-room visits (${c.rekeys} re-keys, ${c.linkCertificates} link certificates), ${c.skippedCrlOnlyVisits} CRL-only visits skipped by the cadence`,
    `Keys         ${c.dsKeys} DS keys, ${c.tslSigners} trust-list signers, ${c.statusSigners} status-list signers; ${c.dsActivated} activated, ${c.dsRetired} retired, ${c.dsKeysDestroyed} destroyed`,
    `Certificates ${c.certificates} in the database; ${c.crls} CRLs, ${c.arls} ARLs, ${c.trustListIssues} trust-list issues, ${c.statusListsSigned} status list tokens`,
    `mdocs        ${c.mdocsIssued} issued, ${c.mdocsRefreshed} refreshed, ${c.mdocsRevoked} revoked, ${c.liveMdocsAtEnd} live at the end`,
    `Checks       ${c.verifications} verifications on ${c.checkDays} check days; ${c.revokedDsRejected} rejections of a revoked DS's mdocs; ${c.revokedMdocsRejected} of revoked mdocs by their status list; ${c.strictCrlChecks} strict CRL checks; ${c.rotationRuns} rotation runs, ${c.rotationWarnings} with warnings`,
    `Time         ${Object.entries(r.phaseMs)
      .map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`)
      .join(", ")}`,
    `Failures     ${r.failures.length}`,
  );
  for (const f of r.failures.slice(0, 20)) out.push(`  ${iso(f.at)} ${f.kind}: ${f.message}`);
  if (r.failures.length > 20) out.push(`  ... ${r.failures.length - 20} more`);
  return `${out.join("\n")}\n`;
}
