import type { CredentialRecord, IssueRequest, IssuerApi } from "@iaca/issuance";
import type { Policy } from "@iaca/policy";
import type { FastifyReply, FastifyRequest } from "fastify";
import { type RaContext, type RaRoutes, SMALL_BODY } from "../context.ts";
import { HOLDER_IDENTITY, INPUT_VALIDATION, REVOCATION_REQUEST, STATUS } from "../controls.ts";
import { problemResponses } from "../plugins/openapi.ts";
import { ProblemError } from "../problem.ts";
import { verifyHolderProof, verifyProofs } from "../proof.ts";
import * as S from "../schemas.ts";

type Devices = Awaited<ReturnType<typeof verifyProofs>>["devices"];
/** The issuer request of one route, from the verified device keys (and, for a refresh, the holder's key). */
type BuildRequest = (requestId: string, devices: Devices, holderKey: string | undefined) => IssueRequest;

/** The refresh's holder proof: valid like any proof, over the request's nonce; its key's thumbprint. */
async function holderKeyOf(ra: RaContext, jwt: string, nonce: string): Promise<string> {
  const holder = await verifyHolderProof(jwt, ra.proof);
  if (holder.nonce !== nonce)
    throw new ProblemError("invalid-proof", "holderProof: must carry the same nonce as the other proofs");
  return holder.thumbprint;
}

/**
 * Issue and refresh share one flow: batch bound, idempotency, proofs, single-use nonce, then the
 * issuer (which records before it signs).
 */
async function issueFlow(
  ra: RaContext,
  req: FastifyRequest,
  reply: FastifyReply,
  route: string,
  build: BuildRequest,
  jwts: string[],
  holderProof?: string,
) {
  const maxBatch = ra.policy.mso.maxBatch;
  if (jwts.length > maxBatch)
    throw new ProblemError("batch-too-large", `at most ${maxBatch} device keys per request (policy mso.maxBatch)`, {
      maxBatch,
    });
  const client = req.apiClient!;
  return req.server.idempotent(req, reply, route, async (requestId) => {
    const proofs = await verifyProofs(jwts, ra.proof);
    const holder = holderProof === undefined ? undefined : await holderKeyOf(ra, holderProof, proofs.nonce);
    await ra.nonces.consume(proofs.nonce, client.id, requestId);
    return { status: 201, body: await ra.issuer.issue(build(requestId, proofs.devices, holder)) };
  });
}

function resolveProfile(body: S.IssueBody, policy: Policy): string {
  if (body.profile) return body.profile;
  if (body.docType) return `docType:${body.docType}`;
  return policy.profile;
}

const issueResponses = { 201: S.IssueResponse, ...problemResponses([400, 401, 403, 409, 413, 415, 422, 429, 503]) };

/** POST /v1/credentials and /v1/credentials/refresh: batches of mdocs, one per device key. */
export const issuanceRoutes: RaRoutes = async (app) => {
  const ra = app.ra;
  app.post(
    "/v1/credentials",
    {
      config: { scope: "issue" },
      schema: {
        summary: "Issue 1..N mdocs, one per device key (unlinkable batch)",
        headers: S.IdempotencyHeader,
        body: S.IssueBody,
        response: issueResponses,
      },
    },
    async (req, reply) => {
      // ra.holder.identity: holder data only from an authenticated client with the issue scope;
      // ra.input.validation: the body schema here, the profile rules in the issuer
      void HOLDER_IDENTITY;
      void INPUT_VALIDATION;
      const profile = resolveProfile(req.body, ra.policy);
      const clientId = req.apiClient!.id;
      return issueFlow(
        ra,
        req,
        reply,
        "POST /v1/credentials",
        (requestId, devices) => ({ requestId, clientId, profile, holder: req.body.holder, devices }),
        req.body.proofs.jwt,
      );
    },
  );
  app.post(
    "/v1/credentials/refresh",
    {
      config: { scope: "refresh" },
      schema: {
        summary: "Fresh mdocs for a holder from a previously issued IssuerSigned (within the refresh window)",
        headers: S.IdempotencyHeader,
        body: S.RefreshBody,
        response: issueResponses,
      },
    },
    async (req, reply) => {
      const clientId = req.apiClient!.id;
      const refresh = (holderKeyThumbprint: string) => ({ issuerSigned: req.body.issuerSigned, holderKeyThumbprint });
      return issueFlow(
        ra,
        req,
        reply,
        "POST /v1/credentials/refresh",
        (requestId, devices, holderKey) => ({
          requestId,
          clientId,
          profile: "",
          holder: {},
          devices,
          refresh: refresh(holderKey!),
        }),
        req.body.proofs.jwt,
        req.body.holderProof,
      );
    },
  );
};

/** GET /v1/credentials/{id} and POST /v1/credentials/{id}/revoke. */
export const credentialRoutes: RaRoutes = async (app) => {
  const { issuer } = app.ra;
  app.get(
    "/v1/credentials/:id",
    {
      bodyLimit: SMALL_BODY,
      config: { scope: "any" },
      schema: {
        summary: "State and validity of an issued mdoc",
        params: S.IdParams,
        response: { 200: S.CredentialStatus, ...problemResponses([401, 403, 404, 429]) },
      },
    },
    async (req) => {
      void STATUS;
      const client = req.apiClient!;
      // the issuer owns the records: the RA asks it, as for every other credential operation
      const record = await credentialOrNone(issuer, req.params.id);
      if (!record || (record.clientId !== client.id && !client.scopes.includes("revoke")))
        throw new ProblemError("not-found", "no such credential");
      return credentialStatusOf(record);
    },
  );
  app.post(
    "/v1/credentials/:id/revoke",
    {
      bodyLimit: SMALL_BODY,
      config: { scope: "revoke" },
      schema: {
        summary: "Revoke one mdoc",
        params: S.IdParams,
        body: S.RevokeBody,
        response: { 200: S.RevokeResponse, ...problemResponses([400, 401, 403, 404, 429]) },
      },
    },
    async (req) => {
      void REVOCATION_REQUEST; // revoke scope (route config) and a reason (schema); the issuer audits it
      return issuer.revokeCredential({
        id: req.params.id,
        reason: req.body.reason,
        actor: `client:${req.apiClient!.id}`,
      });
    },
  );
  // suspension (2-bit status lists): the entry reads SUSPENDED until resumed; revoke scope, audited
  for (const [action, suspended] of [
    ["suspend", true],
    ["resume", false],
  ] as const)
    app.post(
      `/v1/credentials/:id/${action}`,
      {
        bodyLimit: SMALL_BODY,
        config: { scope: "revoke" },
        schema: {
          summary: suspended ? "Suspend one mdoc (its status list entry reads SUSPENDED)" : "Lift a suspension",
          params: S.IdParams,
          response: { 200: S.SuspendResponse, ...problemResponses([400, 401, 403, 404, 422, 429]) },
        },
      },
      async (req) => issuer.setSuspended({ id: req.params.id, suspended, actor: `client:${req.apiClient!.id}` }),
    );
};

function credentialOrNone(issuer: IssuerApi, id: string): Promise<CredentialRecord | undefined> {
  return issuer.credential({ id }).catch((e: { code?: string }) => {
    if (e.code === "NOT_FOUND") return undefined;
    throw e;
  });
}

/** A credential's state as the RA reports it, derived from the issuer's record at `now`. */
export function credentialStatusOf(record: CredentialRecord, now = new Date()) {
  const validUntil = new Date(record.validUntil);
  const state =
    record.state !== "issued"
      ? record.state
      : record.revokedAt
        ? "revoked"
        : validUntil.getTime() < now.getTime()
          ? "expired"
          : record.suspendedAt
            ? "suspended"
            : "valid";
  return {
    id: record.id,
    clientId: record.clientId,
    state,
    profile: record.profile,
    docType: record.docType,
    dsCertificateSerial: record.dsCertificateSerial,
    validFrom: new Date(record.validFrom).toISOString(),
    validUntil: validUntil.toISOString(),
    issuedAt: new Date(record.signedAt ?? record.createdAt).toISOString(),
    ...(record.revokedAt ? { revokedAt: new Date(record.revokedAt).toISOString() } : {}),
    ...(record.revocationReason ? { revocationReason: record.revocationReason } : {}),
    ...(record.refreshedFrom ? { refreshedFrom: record.refreshedFrom } : {}),
    ...(record.suspendedAt ? { suspendedAt: new Date(record.suspendedAt).toISOString() } : {}),
  };
}
