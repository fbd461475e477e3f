import { clause, defineControl } from "@iaca/policy";

/** Controls enforced by @iaca/lifecycle (rotation job, scheduler, simulation). Tests name their ids. */
export const CONTROLS = {
  auditCheckpointAnchored: defineControl({
    id: "audit.checkpoint.anchored",
    clause: clause("5.4.4"),
    summary:
      "The audit chain head is signed in the HSM (audit checkpoint key) at least every minute it changes and appended to a file outside the database; audit verify checks every checkpoint by default, so a cut tail or a suffix rewritten with recomputed hashes is detected; no checkpoint is signed over a chain that does not verify.",
  }),
  rotateExclusive: defineControl({
    id: "lifecycle.rotate.exclusive",
    clause: clause("5.6"),
    summary:
      "The rotation job runs under one PostgreSQL advisory lock and is idempotent: several hosts may run it at once and each step happens once.",
  }),
  dsActivate: defineControl({
    id: "lifecycle.ds.activate",
    clause: clause("6.3.2"),
    summary:
      "An installed DS key becomes the signing key at its planned activation time and its predecessor stops signing then (switchover without restart).",
  }),
  dsUsageEnd: defineControl({
    id: "lifecycle.ds.usage-end",
    clause: clause("6.3.2"),
    summary: "A DS key is retired (never signs again) at the end of its private-key usage period at the latest.",
  }),
  dsDestroy: defineControl({
    id: "lifecycle.ds.destroy",
    clause: clause("6.2.10"),
    summary:
      "A retired DS private key is destroyed in the HSM once its certificate has expired plus policy ds.destroyGrace (operator confirmation when policy ds.destroyConfirm), and the destruction is audited.",
  }),
  ceremonyReminder: defineControl({
    id: "lifecycle.ceremony.reminder",
    clause: clause("5.6"),
    summary:
      "The rotation job warns (exit code and metric) when a ceremony is due soon: next DS not installed renewalLead ahead, root re-key within rekeyLead, trust-list signer expiring.",
  }),
  crlFresh: defineControl({
    id: "lifecycle.crl.fresh",
    clause: clause("4.9.7"),
    summary:
      "The rotation job warns warnBefore ahead of a CRL/ARL nextUpdate; the simulation proves no published CRL/ARL is ever stale.",
  }),
  trustListResign: defineControl({
    id: "lifecycle.trust-list.resign",
    clause: clause("6.3.2"),
    summary: "The DTS trust list is re-signed by the rotation job whenever the published set changes.",
  }),
  switchover: defineControl({
    id: "lifecycle.switchover.no-downtime",
    clause: clause("5.6"),
    summary:
      "Across a DS activation boundary no request fails and every MSO is signed by the DS key active at its signed time.",
  }),
  simulation: defineControl({
    id: "lifecycle.simulation.schedule",
    clause: clause("6.3.2"),
    summary:
      "A multi-year simulation on real HSM keys and a real database proves the schedule: every live mdoc verifies for DTS-only verifiers (old-root holders through link certificates), no signature outside a usage period, no stale CRL.",
  }),
};
