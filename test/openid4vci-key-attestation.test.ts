// HAIP key attestations (issue 20 item 3): with policy openid4vci.keyAttestation.required, the
// independent client's proofs must carry a key_attestation from a trusted wallet provider that
// attests each proof's key; without one, or from an untrusted provider, the request is invalid_proof.
import { createCa, issueCert, type Pem } from "@iaca/ra";
import { Openid4vciRetrieveCredentialsError } from "@openid4vc/openid4vci";
import { importPKCS8, type JWK, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestWallet } from "./support/openid4vci-wallet.ts";
import { call, person, type Stack, startStack } from "./support/stack.ts";

const CONFIG = "org.iso.23220.1.jp.mnc_interop";
let stack: Stack;
let backend: Pem;
let wallet: TestWallet;
let provider: Pem;
let stranger: Pem;

/** A wallet provider's key attestation over `keys` (OpenID4VCI 1.0 D.1), signed by a leaf of `ca`. */
async function attestation(ca: Pem, keys: JWK[], exp = Math.floor(Date.now() / 1000) + 3600) {
  const leaf = await issueCert(ca, { commonName: "wallet provider attestation", usage: "client" });
  const der = Buffer.from(leaf.certPem.replace(/-----[^-]+-----|\s/g, ""), "base64").toString("base64");
  return new SignJWT({ attested_keys: keys, key_storage: ["iso_18045_moderate"] })
    .setProtectedHeader({ alg: "ES256", typ: "key-attestation+jwt", x5c: [der] })
    .setIssuedAt()
    .setExpirationTime(exp)
    .sign(await importPKCS8(leaf.keyPem, "ES256"));
}

async function offerUri(seed: number) {
  const r = await call<{ credentialOfferUri: string }>(stack, backend, "POST", "/v1/credential-offers", {
    holder: person(seed),
  });
  expect(r.status, r.text).toBe(201);
  return r.json.credentialOfferUri;
}

/** The credential endpoint's error code, as the client library reports a refused request. */
async function errorOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "no error";
  } catch (e) {
    if (!(e instanceof Openid4vciRetrieveCredentialsError)) throw e;
    const r = e.response as { credentialErrorResponseResult?: { data?: { error?: string } } };
    return r.credentialErrorResponseResult?.data?.error ?? e.message;
  }
}

beforeAll(async () => {
  provider = await createCa("test wallet provider CA");
  stranger = await createCa("untrusted wallet provider CA");
  const base = (await import("@iaca/policy")).loadPolicy(undefined);
  stack = await startStack({
    policy: {
      openid4vci: { ...base.openid4vci, keyAttestation: { required: true, trustAnchors: [provider.certPem] } },
    },
  });
  backend = await stack.addClient("wallet-backend-haip", ["issue"]);
  wallet = new TestWallet(stack.serverCa.certPem);
});
afterAll(async () => {
  await stack?.close();
});

describe("ra.openid4vci.key-attestation", () => {
  it("the metadata says key attestations are required", async () => {
    const port = (stack.ra.server.address() as { port: number }).port;
    const md = await wallet.client().resolveIssuerMetadata(`https://localhost:${port}`);
    const cfg = md.credentialIssuer.credential_configurations_supported[CONFIG] as unknown as {
      proof_types_supported: { jwt: Record<string, unknown> };
    };
    expect(cfg.proof_types_supported.jwt.key_attestations_required).toEqual({});
  });

  it("proofs attested by a trusted wallet provider get the mdocs", async () => {
    const r = await wallet.redeem(await offerUri(51), CONFIG, { n: 3, attest: (keys) => attestation(provider, keys) });
    expect((r.credentials.credentialResponse as { credentials: unknown[] }).credentials).toHaveLength(3);
  });

  it("no attestation, an untrusted provider, an expired one, or one for other keys: invalid_proof, nothing issued", async () => {
    const cases: [string, ((keys: JWK[]) => Promise<string>) | undefined][] = [
      ["missing", undefined],
      ["untrusted", (keys) => attestation(stranger, keys)],
      ["expired", (keys) => attestation(provider, keys, Math.floor(Date.now() / 1000) - 600)],
      ["other keys", async () => attestation(provider, [(await wallet.key()).publicJwk as JWK])],
    ];
    for (const [name, attest] of cases) {
      const before = await stack.fresh.db.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM issuance`);
      const error = await errorOf(
        wallet.redeem(await offerUri(52), CONFIG, {
          n: 2,
          bareProofs: name !== "untrusted",
          ...(attest ? { attest } : {}),
        }),
      );
      expect(error, name).toBe("invalid_proof");
      const after = await stack.fresh.db.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM issuance`);
      expect(after[0]!.n, name).toBe(before[0]!.n);
    }
  });
});
