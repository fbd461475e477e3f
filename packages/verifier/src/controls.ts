import { type Control, clause, defineControl } from "@iaca/policy";

/** The verifier kit loads trust only from the signed trust list and refuses what it cannot check. */
export const VERIFIER_KIT_FAIL_CLOSED: Control = defineControl({
  id: "verifier.kit.fail-closed",
  clause: clause("4.9.6"),
  summary:
    "The verifier kit trusts the IACA generations of a trust list whose signature chains to a pinned IACA, uses only CRLs/ARLs signed by those IACAs and current, reloads when the trust list or a list reaches nextUpdate, and fails the verification (trust.fresh, ds.crl) when it cannot.",
});
