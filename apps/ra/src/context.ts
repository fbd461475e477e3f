import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { Database } from "@iaca/db";
import type { IssuanceMetrics, IssuerApi } from "@iaca/issuance";
import type { Policy } from "@iaca/policy";
import type {
  FastifyInstance,
  FastifyPluginAsync,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from "fastify";
import type { Logger } from "pino";
import type { ApiClient, ClientRegistry, Scope } from "./clients.ts";
import type { IdempotencyKeys } from "./idempotency.ts";
import type { ProofNonces } from "./nonce.ts";
import type { CredentialIssuer } from "./openid4vci/metadata.ts";
import type { CredentialOffers } from "./openid4vci/offers.ts";
import type { ProofOptions } from "./proof.ts";

declare module "fastify" {
  interface FastifyInstance {
    /** The RA's services, decorated once by buildRa and shared by every plugin and route module. */
    ra: RaContext;
  }
  interface FastifyRequest {
    /** The registered client behind the request's TLS client certificate (plugins/client-auth). */
    apiClient?: ApiClient;
  }
  interface FastifyContextConfig {
    scope?: Scope | "any";
    /** No client authentication, no rate limit (health, OpenAPI). */
    public?: boolean;
    /** No client authentication (the OpenID4VCI wallet endpoints); rate-limited at the ingress, per source address. */
    anonymous?: boolean;
  }
}

/** What the RA's routes work with: no route opens its own database handle or HSM session. */
export interface RaContext {
  db: Database;
  issuer: IssuerApi;
  policy: Policy;
  clients: ClientRegistry;
  nonces: ProofNonces;
  idempotency: IdempotencyKeys;
  proof: ProofOptions;
  metrics?: IssuanceMetrics;
  /** The OpenID4VCI front: the credential issuer identifier and its offers. */
  openid4vci?: { issuer: CredentialIssuer; offers: CredentialOffers };
}

/** A route module: a fastify plugin whose schemas type its handlers (TypeBox type provider). */
export type RaRoutes = FastifyPluginAsync<Record<never, never>, RawServerDefault, TypeBoxTypeProvider>;

export type RaInstance = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  Logger,
  TypeBoxTypeProvider
>;

/** Body limit of the routes that carry no holder data. */
export const SMALL_BODY = 16 * 1024;
