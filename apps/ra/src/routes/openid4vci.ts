import formbody from "@fastify/formbody";
import type { OfferRecord } from "@iaca/db";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { RaContext, RaRoutes } from "../context.ts";
import { DPOP_PROOF, OPENID4VCI_CREDENTIAL } from "../controls.ts";
import { requestHash } from "../idempotency.ts";
import { verifyDpop } from "../openid4vci/dpop.ts";
import { checkKeyAttestations } from "../openid4vci/key-attestation.ts";
import {
  authorizationServerMetadata,
  issuerMetadata,
  offeredConfiguration,
  PRE_AUTHORIZED_GRANT,
  profileOfConfiguration,
} from "../openid4vci/metadata.ts";
import { OAuthError, type OAuthErrorCode, oauthErrorHandler } from "../openid4vci/oauth-error.ts";
import * as S from "../openid4vci/schemas.ts";
import { runIdempotent, send } from "../plugins/idempotency.ts";
import { verifyProofs } from "../proof.ts";
import { COMPACT_JWS, MAX_PROOF_JWT } from "../schemas.ts";

/** Nonces of the nonce endpoint belong to no client: this owner marks them in ra_nonce. */
export const WALLET_NONCE_OWNER = "openid4vci:wallet";

const NO_STORE = { "cache-control": "no-store" };

/**
 * The OpenID4VCI 1.0 front (pre-authorized code flow) for wallets: metadata, token, nonce,
 * credential and notification endpoints. No client certificate (the wallet is the client; the
 * routes are rate-limited at the ingress); errors in the OAuth form. The credential endpoint runs
 * the same idempotent issue flow as POST /v1/credentials.
 */
export const openid4vciRoutes: RaRoutes = async (app) => {
  const ra = app.ra;
  const o = ra.openid4vci;
  if (!o) return;
  await app.register(formbody, { bodyLimit: 8 * 1024 });
  const anonymous = { anonymous: true } as const;
  const metadata =
    (name: "openid-credential-issuer" | "oauth-authorization-server") => (req: FastifyRequest, reply: FastifyReply) => {
      // the identifier's path (if it has one) follows the well-known name
      if (req.url.split("?")[0] !== o.issuer.wellKnownPath(name))
        throw new OAuthError("invalid_request", "no such metadata", 404);
      reply.header("cache-control", "public, max-age=300");
      return name === "oauth-authorization-server"
        ? authorizationServerMetadata(o.issuer)
        : issuerMetadata(o.issuer, ra.policy);
    };
  app.register(async (scope) => {
    scope.setErrorHandler(oauthErrorHandler("invalid_request"));
    for (const name of ["openid-credential-issuer", "oauth-authorization-server"] as const) {
      scope.get(`/.well-known/${name}`, { config: anonymous, schema: { hide: true } }, metadata(name));
      scope.get(`/.well-known/${name}/*`, { config: anonymous, schema: { hide: true } }, metadata(name));
    }
    scope.post(
      "/openid4vci/token",
      { config: anonymous, schema: { hide: true, body: S.TokenRequest } },
      async (req, reply) => {
        const body = req.body as S.TokenRequest;
        if (body.grant_type !== PRE_AUTHORIZED_GRANT)
          throw new OAuthError("unsupported_grant_type", "only the pre-authorized code grant is supported");
        const code = body["pre-authorized_code"];
        if (!code) throw new OAuthError("invalid_request", "pre-authorized_code is required");
        const now = new Date();
        const jkt = await verifyDpop(
          req.headers.dpop,
          { method: "POST", url: o.issuer.url("token"), now },
          ra.db.stores.offers,
          400,
        );
        const t = await o.offers.redeem(code, body.tx_code, jkt, now);
        return reply
          .headers(NO_STORE)
          .send({ access_token: t.accessToken, token_type: "DPoP", expires_in: t.expiresIn });
      },
    );
    scope.post("/openid4vci/nonce", { config: anonymous, schema: { hide: true } }, async (_req, reply) => {
      const { nonce } = await ra.nonces.issue(WALLET_NONCE_OWNER);
      return reply.headers(NO_STORE).send({ c_nonce: nonce });
    });
  });
  app.register(async (scope) => {
    scope.setErrorHandler(oauthErrorHandler("invalid_credential_request"));
    scope.post(
      "/openid4vci/credential",
      { config: anonymous, schema: { hide: true, body: S.CredentialRequest } },
      async (req, reply) => credential(ra, req, reply, req.body as S.CredentialRequest),
    );
  });
  app.register(async (scope) => {
    scope.setErrorHandler(oauthErrorHandler("invalid_notification_request"));
    scope.post(
      "/openid4vci/notification",
      { config: anonymous, schema: { hide: true, body: S.NotificationRequest } },
      async (req, reply) => {
        const body = req.body as S.NotificationRequest;
        const { token, offer } = await authorized(ra, req, "notification");
        await o.offers.notify(offer, token, body.notification_id, body.event);
        return reply.code(204).headers(NO_STORE).send();
      },
    );
  });
};

/**
 * The access token of a resource request (`Authorization: DPoP <token>`, RFC 9449 7.1) after its
 * DPoP proof: same key as the token is bound to, `ath` of this token. A Bearer token is refused.
 */
async function authorized(
  ra: RaContext,
  req: FastifyRequest,
  endpoint: "credential" | "notification",
): Promise<{ token: string; offer: OfferRecord }> {
  void DPOP_PROOF;
  const o = ra.openid4vci!;
  const m = /^DPoP ([A-Za-z0-9._~+/-]+=*)$/.exec(req.headers.authorization ?? "");
  if (!m) throw new OAuthError("invalid_token", "an access token with the DPoP scheme is required", 401);
  const token = m[1]!;
  const now = new Date();
  const offer = await o.offers.byAccessToken(token, now);
  const jkt = await verifyDpop(
    req.headers.dpop,
    { method: "POST", url: o.issuer.url(endpoint), accessToken: token, now },
    ra.db.stores.offers,
    401,
  );
  if (jkt !== offer.tokenJkt)
    throw new OAuthError("invalid_dpop_proof", "DPoP proof: not the key the access token is bound to", 401);
  return { token, offer };
}

/** The REST API's proof JWT shape; here a violation is `invalid_proof`, not a schema failure. */
const JWS = new RegExp(COMPACT_JWS);

/** The device-key proofs of a credential request (OpenID4VCI 1.0 8.2: `proofs` with type jwt only). */
function proofJwts(body: S.CredentialRequest): string[] {
  const bad = (code: OAuthErrorCode, why: string) => new OAuthError(code, why);
  if (body.proof !== undefined) throw bad("invalid_credential_request", "use proofs (OpenID4VCI 1.0), not proof");
  if (body.credential_response_encryption !== undefined)
    throw bad(
      "invalid_credential_request",
      "credential response encryption is not supported (see the issuer metadata)",
    );
  const proofs = body.proofs;
  if (!proofs) throw bad("invalid_proof", "proofs is required: one jwt proof per device key");
  const types = Object.keys(proofs);
  if (types.length !== 1 || types[0] !== "jwt") throw bad("invalid_proof", "proofs must hold exactly the type jwt");
  const jwts = proofs.jwt!;
  if (jwts.length === 0 || jwts.some((j) => typeof j !== "string" || !JWS.test(j) || j.length > MAX_PROOF_JWT))
    throw bad("invalid_proof", "proofs.jwt must be compact JWTs");
  return jwts as string[];
}

/**
 * POST /openid4vci/credential: one batch per access token, run like POST /v1/credentials under an
 * idempotency record keyed by the offer (a retry with the same token gets the same mdocs).
 */
async function credential(ra: RaContext, req: FastifyRequest, reply: FastifyReply, body: S.CredentialRequest) {
  void OPENID4VCI_CREDENTIAL;
  const o = ra.openid4vci!;
  const { offer } = await authorized(ra, req, "credential");
  if (body.credential_identifier !== undefined)
    throw new OAuthError(
      "invalid_credential_request",
      "credential_identifier is not used by this issuer; send credential_configuration_id",
    );
  const cfg = body.credential_configuration_id;
  if (!cfg || !profileOfConfiguration(cfg))
    throw new OAuthError("unknown_credential_configuration", "unknown credential_configuration_id");
  if (cfg !== offeredConfiguration(offer.profile))
    throw new OAuthError(
      "invalid_credential_request",
      "this access token was not issued for that credential configuration",
    );
  const jwts = proofJwts(body);
  const maxBatch = ra.policy.mso.maxBatch;
  if (jwts.length > maxBatch) throw new OAuthError("invalid_proof", `at most ${maxBatch} proofs (batch_size)`);
  const route = "POST /openid4vci/credential";
  const { answer } = await runIdempotent(
    ra,
    { clientId: offer.clientId, key: `openid4vci:${offer.id}`, route, bodyHash: requestHash(route, offer.id) },
    async (requestId) => {
      const proofs = await verifyProofs(jwts, { ...ra.proof, audience: o.issuer.id });
      await checkKeyAttestations(
        jwts,
        proofs.devices.map((d) => d.thumbprint),
        ra.policy,
      );
      await ra.nonces.consume(proofs.nonce, WALLET_NONCE_OWNER, requestId);
      const subject = await o.offers.request(offer);
      if (!subject) throw new OAuthError("invalid_token", "the offer behind this access token has ended", 401);
      const result = await ra.issuer.issue({ ...subject, requestId, devices: proofs.devices });
      const notificationId = await o.offers.issued(offer, requestId, result.credentials.length);
      return {
        status: 200,
        body: {
          credentials: result.credentials.map((c) => ({ credential: c.issuerSigned })),
          notification_id: notificationId,
        },
      };
    },
  );
  return send(reply, answer);
}
