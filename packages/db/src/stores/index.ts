// One store per aggregate: the only code outside the migration runner and the audit log that
// issues SQL. Each store owns its tables, speaks raw SQL through `Sql` (one query style), and
// hands out camelCase records, never driver rows. The audit log (../audit) is the audit store.
import type { Sql } from "../sql.ts";
import { CertificateStore } from "./certificates.ts";
import { ClientStore } from "./clients.ts";
import { IssuanceStore } from "./issuances.ts";
import { NonceStore } from "./nonces.ts";
import { OfferStore } from "./offers.ts";
import { OperatorStore } from "./operators.ts";
import { IdempotencyStore } from "./requests.ts";
import { StatusListStore } from "./status-lists.ts";
import { TrustListStore } from "./trust-lists.ts";

export * from "./certificates.ts";
export * from "./clients.ts";
export * from "./issuances.ts";
export * from "./nonces.ts";
export * from "./offers.ts";
export * from "./operators.ts";
export * from "./requests.ts";
export * from "./status-lists.ts";
export * from "./trust-lists.ts";

export interface Stores {
  /** pki_certificate, pki_crl, pki_key */
  readonly certificates: CertificateStore;
  /** pki_operator */
  readonly operators: OperatorStore;
  /** issuance */
  readonly issuances: IssuanceStore;
  /** api_client */
  readonly clients: ClientStore;
  /** ra_nonce */
  readonly nonces: NonceStore;
  /** ra_request */
  readonly requests: IdempotencyStore;
  /** oid4vci_offer, oid4vci_dpop_jti */
  readonly offers: OfferStore;
  /** dts_trust_list */
  readonly trustLists: TrustListStore;
  /** status_list */
  readonly statusLists: StatusListStore;
}

/** The stores over one connection pool (or one PGlite). */
export function openStores(sql: Sql): Stores {
  return {
    certificates: new CertificateStore(sql),
    operators: new OperatorStore(sql),
    issuances: new IssuanceStore(sql),
    clients: new ClientStore(sql),
    nonces: new NonceStore(sql),
    requests: new IdempotencyStore(sql),
    offers: new OfferStore(sql),
    trustLists: new TrustListStore(sql),
    statusLists: new StatusListStore(sql),
  };
}
