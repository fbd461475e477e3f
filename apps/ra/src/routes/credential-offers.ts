import { checkHolderData } from "@iaca/issuance";
import type { RaRoutes } from "../context.ts";
import { HOLDER_IDENTITY, OFFER_CODE } from "../controls.ts";
import { problemResponses } from "../plugins/openapi.ts";
import { verifyHolderProof } from "../proof.ts";
import * as S from "../schemas.ts";

const responses = { 201: S.OfferResponse, ...problemResponses([400, 401, 403, 409, 413, 415, 422, 429, 503]) };

/**
 * POST /v1/credential-offers and /v1/credential-offers/refresh: the wallet backend, having
 * verified the holder with the card, turns the holder data (or, for a refresh, the presented mdoc
 * and the holder's proof with its key) into an OpenID4VCI Credential Offer for the holder's wallet.
 */
export const offerRoutes: RaRoutes = async (app) => {
  const ra = app.ra;
  const offers = ra.openid4vci?.offers;
  if (!offers) return;
  app.post(
    "/v1/credential-offers",
    {
      config: { scope: "issue" },
      schema: {
        summary: "A Credential Offer (pre-authorized code) for the holder data: the wallet redeems it over OpenID4VCI",
        headers: S.IdempotencyHeader,
        body: S.OfferBody,
        response: responses,
      },
    },
    async (req, reply) => {
      void HOLDER_IDENTITY;
      void OFFER_CODE;
      const clientId = req.apiClient!.id;
      return req.server.idempotent(req, reply, "POST /v1/credential-offers", async () => {
        // the issuer's own checks, now: the backend hears of bad data, not the wallet later
        const profile = checkHolderData(req.body.profile ?? ra.policy.profile, req.body.holder, ra.policy.profile);
        const offer = await offers.create(
          clientId,
          { kind: "issue", profile, holder: req.body.holder },
          req.body.txCode ?? false,
        );
        return { status: 201, body: offer };
      });
    },
  );
  app.post(
    "/v1/credential-offers/refresh",
    {
      config: { scope: "refresh" },
      schema: {
        summary: "A Credential Offer that refreshes a presented mdoc (within the refresh window) over OpenID4VCI",
        headers: S.IdempotencyHeader,
        body: S.RefreshOfferBody,
        response: responses,
      },
    },
    async (req, reply) => {
      const clientId = req.apiClient!.id;
      return req.server.idempotent(req, reply, "POST /v1/credential-offers/refresh", async (requestId) => {
        const holder = await verifyHolderProof(req.body.holderProof, ra.proof);
        await ra.nonces.consume(holder.nonce, clientId, requestId);
        const subject = {
          kind: "refresh" as const,
          issuerSigned: req.body.issuerSigned,
          holderKeyThumbprint: holder.thumbprint,
        };
        return { status: 201, body: await offers.create(clientId, subject, req.body.txCode ?? false) };
      });
    },
  );
};
