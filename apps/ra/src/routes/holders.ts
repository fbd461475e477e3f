import { type RaRoutes, SMALL_BODY } from "../context.ts";
import { REVOCATION_REQUEST } from "../controls.ts";
import { problemResponses } from "../plugins/openapi.ts";
import * as S from "../schemas.ts";

/** POST /v1/holders/revoke: every mdoc of a holder (lost phone, card suspended, death). */
export const holderRoutes: RaRoutes = async (app) => {
  const { issuer } = app.ra;
  app.post(
    "/v1/holders/revoke",
    {
      bodyLimit: SMALL_BODY,
      config: { scope: "revoke" },
      schema: {
        summary: "Revoke every mdoc of a holder (identified by My Number; matched by HMAC)",
        body: S.HolderRevokeBody,
        response: { 200: S.RevokeResponse, ...problemResponses([400, 401, 403, 429]) },
      },
    },
    async (req) => {
      void REVOCATION_REQUEST;
      const { myNumber, reason } = req.body;
      return issuer.revokeHolder({ myNumber, reason, actor: `client:${req.apiClient!.id}` });
    },
  );
};
