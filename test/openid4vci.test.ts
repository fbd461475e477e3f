// The OpenID4VCI 1.0 front (issue 20), driven by an independent client: @openid4vc/openid4vci
// (the OpenWallet Foundation's oid4vc-ts) walks offer → token (DPoP) → nonce → credential (a
// batch of 10) → notification against the RA on loopback, and the mdocs pass the reference
// verifier and an external mdoc library. The refusals are sent by hand (each names its error).
import { createHash, randomBytes } from "node:crypto";
import { request } from "node:https";
import * as animo from "@animo-id/mdoc";
import { Verifier as Auth0Verifier } from "@auth0/mdl";
import { verifyMdoc } from "@iaca/mdoc";
import type { Pem } from "@iaca/ra";
import { clientAuthenticationAnonymous, HashAlgorithm, type JwtSignerJwk } from "@openid4vc/oauth2";
import { Openid4vciClient } from "@openid4vc/openid4vci";
import { exportJWK, type generateKeyPair, type JWK, SignJWT } from "jose";

type KeyLike = Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { animoContext, deviceResponse } from "./support/mdoc-lib-context.ts";
import { TestWallet } from "./support/openid4vci-wallet.ts";
import {
  call,
  deviceKey,
  issueBody,
  nonceFor,
  person,
  personalValues,
  proof,
  type Stack,
  startStack,
  type TestPerson,
} from "./support/stack.ts";

let stack: Stack;
let backend: Pem;
let issuerId: string;
let wallet: TestWallet;
const walletKey = () => wallet.key();
const client = () => wallet.client();
const redeem = (uri: string, o: { txCode?: string; n?: number } = {}) => wallet.redeem(uri, CONFIG, o);
const people = [person(31), person(32), person(33), person(34), person(35)];
const CONFIG = "org.iso.23220.1.jp.mnc_interop";

async function offer(p: TestPerson, txCode = false) {
  const r = await call<{ offerId: string; credentialOfferUri: string; txCode?: string; type?: string }>(
    stack,
    backend,
    "POST",
    "/v1/credential-offers",
    { holder: p, txCode },
  );
  expect(r.status, r.text).toBe(201);
  return r.json;
}

// ---------------------------------------------------------------- hand-made requests for the refusals

async function dpopProof(
  key: JwtSignerJwk,
  htu: string,
  o: { accessToken?: string; htm?: string; iat?: number; typ?: string } = {},
) {
  return new SignJWT({
    jti: randomBytes(16).toString("base64url"),
    htm: o.htm ?? "POST",
    htu,
    ...(o.accessToken ? { ath: createHash("sha256").update(o.accessToken).digest("base64url") } : {}),
  })
    .setProtectedHeader({ alg: "ES256", typ: o.typ ?? "dpop+jwt", jwk: key.publicJwk as JWK })
    .setIssuedAt(o.iat)
    .sign(wallet.privateKey(key));
}

function form(fields: Record<string, string>) {
  return new URLSearchParams(fields).toString();
}

async function tokenRequest(fields: Record<string, string>, dpop?: string) {
  return call<{ error: string; access_token?: string }>(stack, undefined, "POST", "/openid4vci/token", form(fields), {
    "content-type": "application/x-www-form-urlencoded",
    ...(dpop ? { dpop } : {}),
  });
}

const codeOf = (uri: string) =>
  (
    JSON.parse(decodeURIComponent(uri.split("credential_offer=")[1]!)) as {
      grants: Record<string, { "pre-authorized_code": string }>;
    }
  ).grants["urn:ietf:params:oauth:grant-type:pre-authorized_code"]!["pre-authorized_code"];

const GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code";

/** A redeemed access token (hand-made DPoP) for the credential-endpoint refusals. */
async function accessToken(p: TestPerson) {
  const o = await offer(p);
  const key = await walletKey();
  const t = await tokenRequest(
    { grant_type: GRANT, "pre-authorized_code": codeOf(o.credentialOfferUri) },
    await dpopProof(key, `${issuerId}/openid4vci/token`),
  );
  expect(t.status, t.text).toBe(200);
  return { key, token: t.json.access_token!, offerId: o.offerId };
}

async function credentialRequest(
  key: JwtSignerJwk,
  token: string,
  body: unknown,
  o: { scheme?: string; dpop?: string } = {},
) {
  return call<{ error: string; credentials?: { credential: string }[] }>(
    stack,
    undefined,
    "POST",
    "/openid4vci/credential",
    body,
    {
      authorization: `${o.scheme ?? "DPoP"} ${token}`,
      dpop: o.dpop ?? (await dpopProof(key, `${issuerId}/openid4vci/credential`, { accessToken: token })),
    },
  );
}

async function walletNonce() {
  const r = await call<{ c_nonce: string }>(stack, undefined, "POST", "/openid4vci/nonce");
  expect(r.status).toBe(200);
  return r.json.c_nonce;
}

async function issuanceCount() {
  const [r] = await stack.fresh.db.sql.query<{ n: string }>(`SELECT count(*)::int AS n FROM issuance`);
  return Number(r!.n);
}

beforeAll(async () => {
  stack = await startStack({ logLevel: "info" });
  backend = await stack.addClient("wallet-backend-oid4vci", ["issue", "refresh"]);
  wallet = new TestWallet(stack.serverCa.certPem);
  issuerId = `https://localhost:${(stack.ra.server.address() as { port: number }).port}`;
});
afterAll(async () => {
  await stack?.close();
});

describe("ra.openid4vci.credential: the independent client", () => {
  it("reads metadata that the client's schemas accept: one mso_mdoc configuration per profile, batch size and algorithms from the policy", async () => {
    const md = await client().resolveIssuerMetadata(issuerId);
    const ci = md.credentialIssuer as unknown as Record<string, unknown> & {
      credential_configurations_supported: Record<string, Record<string, unknown>>;
    };
    expect(ci.credential_issuer).toBe(issuerId);
    expect(ci.batch_credential_issuance).toEqual({ batch_size: stack.policy.mso.maxBatch });
    expect(Object.keys(ci.credential_configurations_supported).sort()).toEqual([
      "org.iso.23220.1.jp.mnc_interop",
      "org.iso.23220.1.jp.mnc_seed-2024",
    ]);
    const cfg = ci.credential_configurations_supported[CONFIG]!;
    expect(cfg).toMatchObject({
      format: "mso_mdoc",
      doctype: "org.iso.23220.1.jp.mnc",
      cryptographic_binding_methods_supported: ["cose_key"],
      credential_signing_alg_values_supported: [-9],
      proof_types_supported: { jwt: { proof_signing_alg_values_supported: ["ES256", "ES384", "ES512"] } },
    });
    const claims = (cfg.credential_metadata as { claims: { path: string[]; display: { locale: string }[] }[] }).claims;
    expect(claims.map((c) => c.path.join("/"))).toContain("org.iso.23220.1.jp/full_name_unicode");
    for (const c of claims) expect(c.display.map((d) => d.locale)).toEqual(["ja", "en"]);
    expect(md.authorizationServers[0]).toMatchObject({
      issuer: issuerId,
      token_endpoint: `${issuerId}/openid4vci/token`,
      "pre-authorized_grant_anonymous_access_supported": true,
      dpop_signing_alg_values_supported: ["ES256", "ES384", "ES512"],
    });
  });

  it("the metadata uses only parameters OpenID4VCI 1.0 (12.2.4, A.2.2) and RFC 8414 define", async () => {
    const get = async (path: string) => (await call<Record<string, unknown>>(stack, undefined, "GET", path)).json;
    const ci = await get("/.well-known/openid-credential-issuer");
    const only = (o: object, allowed: string[], where: string) =>
      expect(
        Object.keys(o).filter((k) => !allowed.includes(k)),
        where,
      ).toEqual([]);
    only(
      ci,
      [
        "credential_issuer",
        "authorization_servers",
        "credential_endpoint",
        "nonce_endpoint",
        "deferred_credential_endpoint",
        "notification_endpoint",
        "credential_request_encryption",
        "credential_response_encryption",
        "batch_credential_issuance",
        "signed_metadata",
        "display",
        "credential_configurations_supported",
      ],
      "issuer",
    );
    for (const [id, cfg] of Object.entries(
      ci.credential_configurations_supported as Record<string, Record<string, unknown>>,
    )) {
      only(
        cfg,
        [
          "format",
          "scope",
          "credential_signing_alg_values_supported",
          "cryptographic_binding_methods_supported",
          "proof_types_supported",
          "credential_metadata",
          "doctype",
        ],
        id,
      );
      only(cfg.credential_metadata as object, ["display", "claims"], `${id} credential_metadata`);
      for (const c of (cfg.credential_metadata as { claims: object[] }).claims)
        only(c, ["path", "mandatory", "display"], `${id} claim`);
      for (const d of (cfg.credential_metadata as { display: object[] }).display)
        only(
          d,
          ["name", "locale", "logo", "description", "background_color", "background_image", "text_color"],
          `${id} display`,
        );
    }
    const as = await get("/.well-known/oauth-authorization-server");
    only(
      as,
      [
        "issuer",
        "token_endpoint",
        "grant_types_supported",
        "pre-authorized_grant_anonymous_access_supported",
        "token_endpoint_auth_methods_supported",
        "dpop_signing_alg_values_supported",
        "response_types_supported",
      ],
      "authorization server",
    );
  });

  it("offer → token (DPoP) → nonce → credential (batch of 10): the mdocs pass the reference verifier and @auth0/mdl", async () => {
    const o = await offer(people[0]!, true);
    expect(o.txCode).toMatch(/^[0-9]{6}$/);
    const { c, issuerMetadata, dpop, token, credentials } = await redeem(o.credentialOfferUri, { txCode: o.txCode! });
    const body = credentials.credentialResponse as { credentials: { credential: string }[]; notification_id: string };
    expect(body.credentials).toHaveLength(10);
    for (const { credential } of body.credentials) {
      const v = await verifyMdoc(credential, { trustAnchors: [stack.pki.iacaDer] });
      expect(v.ok, JSON.stringify(v.checks.filter((c) => c.status === "FAIL"))).toBe(true);
    }
    expect(await auth0Failures(body.credentials[0]!.credential)).toEqual([]);
    expect(await animoFailures(body.credentials[1]!.credential)).toEqual([]);
    const sent = await c.sendNotification({
      issuerMetadata,
      accessToken: token,
      dpop,
      notification: { notificationId: body.notification_id, event: "credential_accepted" },
    });
    expect(sent.ok).toBe(true);
  });

  it("a retry of the credential request with the same token returns the same mdocs", async () => {
    const { key, token } = await accessToken(people[1]!);
    const nonce = await walletNonce();
    const jwt = await Promise.all([0, 1].map(async () => proof(await deviceKey(), nonce, { aud: issuerId })));
    const first = await credentialRequest(key, token, { credential_configuration_id: CONFIG, proofs: { jwt } });
    expect(first.status, first.text).toBe(200);
    const again = await credentialRequest(key, token, { credential_configuration_id: CONFIG, proofs: { jwt } });
    expect(again.status, again.text).toBe(200);
    expect(again.json.credentials).toEqual(first.json.credentials);
  });
});

/** The checks @animo-id/mdoc does not pass for one mdoc (issuer signature and data). */
async function animoFailures(issuerSigned: string): Promise<unknown[]> {
  const doc = animo.parseIssuerSigned(Buffer.from(issuerSigned, "base64url"), "org.iso.23220.1.jp.mnc");
  const checks: { status: string; check: string }[] = [];
  const onCheckG = (c: unknown) => {
    checks.push(c as never);
  };
  const ctx = animoContext as unknown as Parameters<animo.Verifier["verifyData"]>[1] &
    Parameters<animo.Verifier["verifyIssuerSignature"]>[1];
  const v = new animo.Verifier();
  await v.verifyIssuerSignature(
    {
      trustedCertificates: [new Uint8Array(stack.pki.iacaDer)],
      issuerAuth: doc.issuerSigned.issuerAuth,
      disableCertificateChainValidation: false,
      onCheckG,
    },
    ctx,
  );
  await v.verifyData({ mdoc: doc, onCheckG }, ctx);
  expect(checks.length).toBeGreaterThan(5);
  return checks.filter((c) => c.status !== "PASSED");
}

/** The checks @auth0/mdl's Verifier does not pass for one mdoc (device authentication aside: no session here). */
async function auth0Failures(issuerSigned: string): Promise<unknown[]> {
  const checks: { status: string; check: string; category?: string }[] = [];
  await new Auth0Verifier([stack.pki.iacaPem]).verify(
    deviceResponse(Buffer.from(issuerSigned, "base64url"), "org.iso.23220.1.jp.mnc"),
    {
      onCheck: (c) => {
        checks.push(c as never);
      },
    },
  );
  const relevant = checks.filter((c) => c.category !== "DEVICE_AUTH");
  expect(relevant.some((c) => c.check === "Issuer signature must be valid")).toBe(true);
  return relevant.filter((c) => c.status !== "PASSED");
}

describe("ra.openid4vci.pre-authorized-code: offers redeem once, in time, with the right tx_code", () => {
  it("a second redemption of the same code is invalid_grant", async () => {
    const o = await offer(people[2]!);
    const code = codeOf(o.credentialOfferUri);
    const key = await walletKey();
    const htu = `${issuerId}/openid4vci/token`;
    expect(
      (await tokenRequest({ grant_type: GRANT, "pre-authorized_code": code }, await dpopProof(key, htu))).status,
    ).toBe(200);
    const again = await tokenRequest({ grant_type: GRANT, "pre-authorized_code": code }, await dpopProof(key, htu));
    expect([again.status, again.json.error]).toEqual([400, "invalid_grant"]);
  });

  it("an expired offer is invalid_grant and its holder data is gone at once", async () => {
    const o = await offer(people[3]!);
    await stack.fresh.db.sql.query(`UPDATE oid4vci_offer SET expires_at = now() - interval '1 second' WHERE id = $1`, [
      o.offerId,
    ]);
    const key = await walletKey();
    const r = await tokenRequest(
      { grant_type: GRANT, "pre-authorized_code": codeOf(o.credentialOfferUri) },
      await dpopProof(key, `${issuerId}/openid4vci/token`),
    );
    expect([r.status, r.json.error]).toEqual([400, "invalid_grant"]);
    const [row] = await stack.fresh.db.sql.query<{ sealed: unknown; ended: string }>(
      `SELECT sealed, ended FROM oid4vci_offer WHERE id = $1`,
      [o.offerId],
    );
    expect(row).toEqual({ sealed: null, ended: "expired" });
  });

  it("a wrong or missing tx_code is invalid_grant; the fifth wrong one withdraws the offer", async () => {
    const o = await offer(people[4]!, true);
    const code = codeOf(o.credentialOfferUri);
    const key = await walletKey();
    const htu = `${issuerId}/openid4vci/token`;
    const wrong = o.txCode === "000000" ? "111111" : "000000";
    const missing = await tokenRequest({ grant_type: GRANT, "pre-authorized_code": code }, await dpopProof(key, htu));
    expect([missing.status, missing.json.error]).toEqual([400, "invalid_grant"]);
    for (let i = 0; i < 4; i++) {
      const r = await tokenRequest(
        { grant_type: GRANT, "pre-authorized_code": code, tx_code: wrong },
        await dpopProof(key, htu),
      );
      expect([r.status, r.json.error]).toEqual([400, "invalid_grant"]);
    }
    const right = await tokenRequest(
      { grant_type: GRANT, "pre-authorized_code": code, tx_code: o.txCode! },
      await dpopProof(key, htu),
    );
    expect([right.status, right.json.error]).toEqual([400, "invalid_grant"]);
    const [row] = await stack.fresh.db.sql.query<{ ended: string }>(`SELECT ended FROM oid4vci_offer WHERE id = $1`, [
      o.offerId,
    ]);
    expect(row!.ended).toBe("burnt");
  });

  it("an unknown grant type is unsupported_grant_type; a missing code is invalid_request", async () => {
    const key = await walletKey();
    const htu = `${issuerId}/openid4vci/token`;
    const a = await tokenRequest({ grant_type: "authorization_code", code: "x" }, await dpopProof(key, htu));
    expect([a.status, a.json.error]).toEqual([400, "unsupported_grant_type"]);
    const b = await tokenRequest({ grant_type: GRANT }, await dpopProof(key, htu));
    expect([b.status, b.json.error]).toEqual([400, "invalid_request"]);
  });
});

describe("ra.openid4vci.dpop: tokens are bound to the wallet's key", () => {
  it("a token request without DPoP, or with a replayed proof, is invalid_dpop_proof and redeems nothing", async () => {
    const o = await offer(person(36));
    const code = codeOf(o.credentialOfferUri);
    const none = await tokenRequest({ grant_type: GRANT, "pre-authorized_code": code });
    expect([none.status, none.json.error]).toEqual([400, "invalid_dpop_proof"]);
    const key = await walletKey();
    const p = await dpopProof(key, `${issuerId}/openid4vci/token`);
    expect((await tokenRequest({ grant_type: GRANT, "pre-authorized_code": code }, p)).status).toBe(200);
    const o2 = await offer(person(37));
    const replay = await tokenRequest({ grant_type: GRANT, "pre-authorized_code": codeOf(o2.credentialOfferUri) }, p);
    expect([replay.status, replay.json.error]).toEqual([400, "invalid_dpop_proof"]);
    const [row] = await stack.fresh.db.sql.query<{ redeemed_at: unknown }>(
      `SELECT redeemed_at FROM oid4vci_offer WHERE id = $1`,
      [o2.offerId],
    );
    expect(row!.redeemed_at).toBeNull();
  });

  it("a DPoP proof for another URL or method, or an old one, is invalid_dpop_proof", async () => {
    const o = await offer(person(38));
    const code = codeOf(o.credentialOfferUri);
    const key = await walletKey();
    for (const p of [
      await dpopProof(key, `${issuerId}/openid4vci/credential`),
      await dpopProof(key, `${issuerId}/openid4vci/token`, { htm: "GET" }),
      await dpopProof(key, `${issuerId}/openid4vci/token`, { iat: Math.floor(Date.now() / 1000) - 3600 }),
      await dpopProof(key, `${issuerId}/openid4vci/token`, { typ: "JWT" }),
    ]) {
      const r = await tokenRequest({ grant_type: GRANT, "pre-authorized_code": code }, p);
      expect([r.status, r.json.error]).toEqual([400, "invalid_dpop_proof"]);
    }
  });

  it("a credential request with a Bearer token, another key's proof, or an unknown token is 401 with WWW-Authenticate: DPoP", async () => {
    const { key, token } = await accessToken(person(39));
    const other = await walletKey();
    const before = await issuanceCount();
    const body = {
      credential_configuration_id: CONFIG,
      proofs: { jwt: [await proof(await deviceKey(), await walletNonce(), { aud: issuerId })] },
    };
    const bearer = await credentialRequest(key, token, body, { scheme: "Bearer" });
    expect([bearer.status, bearer.json.error]).toEqual([401, "invalid_token"]);
    expect(String(bearer.headers["www-authenticate"])).toMatch(/^DPoP error="invalid_token"/);
    const foreign = await credentialRequest(key, token, body, {
      dpop: await dpopProof(other, `${issuerId}/openid4vci/credential`, { accessToken: token }),
    });
    expect([foreign.status, foreign.json.error]).toEqual([401, "invalid_dpop_proof"]);
    const unknown = await credentialRequest(key, randomBytes(32).toString("base64url"), body);
    expect([unknown.status, unknown.json.error]).toEqual([401, "invalid_token"]);
    expect(await issuanceCount()).toBe(before);
  });
});

describe("ra.openid4vci.credential: refusals of the credential endpoint leave nothing behind", () => {
  it("a proof over a nonce of the REST API is invalid_nonce; a proof for another issuer is invalid_proof; an unknown configuration is unknown_credential_configuration", async () => {
    const { key, token } = await accessToken(person(40));
    const before = await issuanceCount();
    const { nonce: restNonce } = await (async () => {
      const r = await issueBody(stack, backend, person(41), 1);
      return r;
    })();
    const foreign = await credentialRequest(key, token, {
      credential_configuration_id: CONFIG,
      proofs: { jwt: [await proof(await deviceKey(), restNonce, { aud: issuerId })] },
    });
    expect([foreign.status, foreign.json.error]).toEqual([400, "invalid_nonce"]);
    const aud = await credentialRequest(key, token, {
      credential_configuration_id: CONFIG,
      proofs: { jwt: [await proof(await deviceKey(), await walletNonce(), { aud: "https://other.example" })] },
    });
    expect([aud.status, aud.json.error]).toEqual([400, "invalid_proof"]);
    const cfg = await credentialRequest(key, token, {
      credential_configuration_id: "eu.europa.ec.eudi.pid.1",
      proofs: { jwt: [await proof(await deviceKey(), await walletNonce(), { aud: issuerId })] },
    });
    expect([cfg.status, cfg.json.error]).toEqual([400, "unknown_credential_configuration"]);
    const single = await credentialRequest(key, token, {
      credential_configuration_id: CONFIG,
      proof: { proof_type: "jwt" },
    });
    expect([single.status, single.json.error]).toEqual([400, "invalid_credential_request"]);
    expect(await issuanceCount()).toBe(before);
    // the token still works after the refusals
    const ok = await credentialRequest(key, token, {
      credential_configuration_id: CONFIG,
      proofs: { jwt: [await proof(await deviceKey(), await walletNonce(), { aud: issuerId })] },
    });
    expect(ok.status, ok.text).toBe(200);
  });

  it("ra.openid4vci.notification: an unknown notification_id is invalid_notification_id", async () => {
    const { key, token } = await accessToken(person(42));
    const r = await call<{ error: string }>(
      stack,
      undefined,
      "POST",
      "/openid4vci/notification",
      { notification_id: "nope", event: "credential_accepted" },
      {
        authorization: `DPoP ${token}`,
        dpop: await dpopProof(key, `${issuerId}/openid4vci/notification`, { accessToken: token }),
      },
    );
    expect([r.status, r.json.error]).toEqual([400, "invalid_notification_id"]);
    const bad = await call<{ error: string }>(
      stack,
      undefined,
      "POST",
      "/openid4vci/notification",
      { notification_id: "nope", event: "credential_lost" },
      {
        authorization: `DPoP ${token}`,
        dpop: await dpopProof(key, `${issuerId}/openid4vci/notification`, { accessToken: token }),
      },
    );
    expect([bad.status, bad.json.error]).toEqual([400, "invalid_notification_request"]);
  });

  it("credential_identifier, response encryption and a missing proofs member are refused by name; an expired token is invalid_token", async () => {
    const { key, token, offerId } = await accessToken(person(45));
    const jwt = [await proof(await deviceKey(), await walletNonce(), { aud: issuerId })];
    const cases: [unknown, string][] = [
      [{ credential_identifier: "x", proofs: { jwt } }, "invalid_credential_request"],
      [
        { credential_configuration_id: CONFIG, proofs: { jwt }, credential_response_encryption: { enc: "A256GCM" } },
        "invalid_credential_request",
      ],
      [{ credential_configuration_id: CONFIG }, "invalid_proof"],
      [{ credential_configuration_id: CONFIG, proofs: { attestation: ["x"] } }, "invalid_proof"],
      [
        { credential_configuration_id: "org.iso.23220.1.jp.mnc_seed-2024", proofs: { jwt } },
        "invalid_credential_request",
      ],
      ["not json", "invalid_credential_request"],
    ];
    for (const [body, error] of cases) {
      const r = await credentialRequest(key, token, body);
      expect([r.status, r.json.error], JSON.stringify(body)).toEqual([400, error]);
    }
    await stack.fresh.db.sql.query(
      `UPDATE oid4vci_offer SET token_expires_at = now() - interval '1 second' WHERE id = $1`,
      [offerId],
    );
    const expired = await credentialRequest(key, token, { credential_configuration_id: CONFIG, proofs: { jwt } });
    expect([expired.status, expired.json.error]).toEqual([401, "invalid_token"]);
  });

  it("an offer for bad holder data is refused at once (problem+json to the wallet backend), and nothing is stored", async () => {
    const before = await stack.fresh.db.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM oid4vci_offer`);
    const r = await call<{ type: string }>(stack, backend, "POST", "/v1/credential-offers", {
      holder: { ...person(46), individualNumber: "123456789010" },
    });
    expect([r.status, r.json.type]).toEqual([400, "urn:iaca:problem:invalid-my-number"]);
    const after = await stack.fresh.db.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM oid4vci_offer`);
    expect(after[0]!.n).toBe(before[0]!.n);
  });
});

const DAY = 86_400_000;

/** An mdoc issued over the REST API, and the offer that refreshes it with a holder proof by `holderKey`. */
async function refreshOffer(p: TestPerson, otherHolderKey = false) {
  const { body, keys } = await issueBody(stack, backend, p, 1);
  const issued = await call<{ credentials: { id: string; issuerSigned: string }[] }>(
    stack,
    backend,
    "POST",
    "/v1/credentials",
    body,
  );
  expect(issued.status, issued.text).toBe(201);
  const old = issued.json.credentials[0]!;
  const nonce = await nonceFor(stack, backend);
  const holderKey = otherHolderKey ? await deviceKey() : keys[0]!;
  const r = await call<{ offerId: string; credentialOfferUri: string }>(
    stack,
    backend,
    "POST",
    "/v1/credential-offers/refresh",
    {
      issuerSigned: old.issuerSigned,
      holderProof: await proof(holderKey, nonce),
    },
  );
  expect(r.status, r.text).toBe(201);
  return { old, offer: r.json };
}

describe("ra.openid4vci.credential: refresh through the protocol (a refresh offer)", () => {
  it("the wallet redeems a refresh offer for fresh mdocs inside the refresh window; the old mdoc is consumed", async () => {
    const { old, offer: o } = await refreshOffer(person(43));
    stack.clock.offsetMs = 24 * DAY; // inside validUntil - refreshWindow .. validUntil
    try {
      const { credentials } = await redeem(o.credentialOfferUri, { n: 2 });
      const body = credentials.credentialResponse as { credentials: { credential: string }[] };
      expect(body.credentials).toHaveLength(2);
      for (const { credential } of body.credentials) {
        const v = await verifyMdoc(credential, {
          trustAnchors: [stack.pki.iacaDer],
          at: new Date(Date.now() + 24 * DAY),
        });
        expect(v.ok, JSON.stringify(v.checks.filter((c) => c.status === "FAIL"))).toBe(true);
      }
      const rows = await stack.fresh.db.sql.query<{ refreshed_from: string }>(
        `SELECT i.refreshed_from FROM issuance i JOIN oid4vci_offer o ON o.request_id = i.request_id WHERE o.id = $1`,
        [o.offerId],
      );
      expect(rows.map((r) => r.refreshed_from)).toEqual([old.id, old.id]);
    } finally {
      stack.clock.offsetMs = 0;
    }
  });

  it("a refresh offer whose holder proof was made by another key ends in credential_request_denied", async () => {
    const { offer: o } = await refreshOffer(person(44), true);
    const key = await walletKey();
    const t = await tokenRequest(
      { grant_type: GRANT, "pre-authorized_code": codeOf(o.credentialOfferUri) },
      await dpopProof(key, `${issuerId}/openid4vci/token`),
    );
    expect(t.status, t.text).toBe(200);
    stack.clock.offsetMs = 24 * DAY;
    try {
      const r = await credentialRequest(key, t.json.access_token!, {
        credential_configuration_id: CONFIG,
        proofs: { jwt: [await proof(await deviceKey(), await walletNonce(), { aud: issuerId })] },
      });
      expect([r.status, r.json.error]).toEqual([400, "credential_request_denied"]);
    } finally {
      stack.clock.offsetMs = 0;
    }
  });
});

describe("ra.openid4vci.offer-sealed: no holder data at rest after redemption or expiry", () => {
  it("the offers of this file left no name, address, birth date, My Number or portrait in any table", async () => {
    await stack.fresh.db.sql.query(
      `UPDATE oid4vci_offer SET expires_at = now() - interval '1 second', token_expires_at = now() - interval '1 second'`,
    );
    await stack.ra.ra.openid4vci!.offers.expire();
    const tables = await stack.fresh.db.sql.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`,
    );
    expect(tables.map((t) => t.table_name)).toContain("oid4vci_offer");
    for (const { table_name } of tables) {
      const rows = await stack.fresh.db.sql.query<{ t: string }>(`SELECT t::text AS t FROM "${table_name}" t`);
      const dump = rows.map((r) => r.t).join("\n");
      for (const p of [...people, ...[36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46].map((n) => person(n))])
        for (const v of personalValues(p)) expect(dump.includes(v), `${table_name} holds ${v}`).toBe(false);
    }
    for (const line of stack.logs)
      for (const p of people) for (const v of personalValues(p)) expect(line.includes(v), `log holds ${v}`).toBe(false);
    const [left] = await stack.fresh.db.sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM oid4vci_offer WHERE sealed IS NOT NULL`,
    );
    expect(left!.n).toBe(0);
  });
});
