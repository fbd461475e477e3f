import { IacaError } from "@iaca/policy";

/**
 * Why trust could not be loaded from a DTS. Codes are stable:
 * VERIFIER_FETCH (HTTP failure, timeout, oversized body), VERIFIER_PIN (no pinned IACA in the
 * trust list), VERIFIER_TRUST_LIST (the signed trust list does not verify), VERIFIER_INDEX
 * (trust.json unreadable), VERIFIER_USAGE (bad options).
 */
export class VerifierError extends IacaError {}
