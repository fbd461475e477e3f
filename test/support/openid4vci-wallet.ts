// A wallet over the independent OpenID4VCI client (@openid4vc/openid4vci): its fetch trusts the
// test service CA, its keys live here (the library signs through the signJwt callback).
import { createHash, randomBytes } from "node:crypto";
import { request } from "node:https";
import { clientAuthenticationAnonymous, HashAlgorithm, type JwtSignerJwk } from "@openid4vc/oauth2";
import { Openid4vciClient } from "@openid4vc/openid4vci";
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";

type KeyLike = Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];

/** fetch over node:https trusting `ca` (the client library's fetch callback). */
function tlsFetch(ca: string): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(typeof input === "string" || input instanceof URL ? input : input.url);
    const body = init?.body === undefined || init.body === null ? undefined : Buffer.from(String(init.body));
    const headers = Object.fromEntries(new Headers(init?.headers).entries());
    return new Promise<Response>((resolve, reject) => {
      const req = request(
        url,
        {
          method: init?.method ?? "GET",
          ca,
          agent: false,
          headers: { ...headers, ...(body ? { "content-length": String(body.length) } : {}) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const h = new Headers();
            for (const [k, v] of Object.entries(res.headers)) if (typeof v === "string") h.set(k, v);
            const status = res.statusCode ?? 500;
            resolve(new Response(status === 204 ? null : Buffer.concat(chunks), { status, headers: h }));
          });
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  }) as typeof fetch;
}

const NODE_HASH = {
  [HashAlgorithm.Sha256]: "sha256",
  [HashAlgorithm.Sha384]: "sha384",
  [HashAlgorithm.Sha512]: "sha512",
};

export class TestWallet {
  /** Private keys by the public JWK's x. */
  private readonly keys = new Map<string, KeyLike>();
  private readonly ca: string;
  constructor(serviceCaPem: string) {
    this.ca = serviceCaPem;
  }

  async key(): Promise<JwtSignerJwk> {
    const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
    const publicJwk = (await exportJWK(publicKey)) as JwtSignerJwk["publicJwk"];
    this.keys.set(publicJwk.x!, privateKey);
    return { method: "jwk", alg: "ES256", publicJwk };
  }

  privateKey(k: JwtSignerJwk): KeyLike {
    return this.keys.get(k.publicJwk.x!)!;
  }

  client(): Openid4vciClient {
    return new Openid4vciClient({
      callbacks: {
        fetch: tlsFetch(this.ca),
        hash: (data, alg) => createHash(NODE_HASH[alg]).update(data).digest(),
        generateRandom: (n) => randomBytes(n),
        clientAuthentication: clientAuthenticationAnonymous(),
        signJwt: async (signer, { header, payload }) => {
          if (signer.method !== "jwk") throw new Error("jwk signers only");
          const key = this.keys.get(signer.publicJwk.x!);
          if (!key) throw new Error("unknown wallet key");
          const jwt = await new SignJWT(payload as never).setProtectedHeader(header as never).sign(key);
          return { jwt, signerJwk: signer.publicJwk };
        },
      },
    });
  }

  /**
   * The whole flow through the independent client: offer, metadata, token (DPoP), nonce, `n`
   * proofs (each with `attest(keys)` as key attestation when given), credential.
   */
  async redeem(
    uri: string,
    configuration: string,
    o: {
      txCode?: string;
      n?: number;
      attest?: (keys: JWK[]) => Promise<string>;
      /** Sign the proofs here, without the library (it refuses to omit a key attestation the metadata requires). */
      bareProofs?: boolean;
    } = {},
  ) {
    const c = this.client();
    const credentialOffer = await c.resolveCredentialOffer(uri);
    const issuerMetadata = await c.resolveIssuerMetadata(credentialOffer.credential_issuer);
    const dpop = { signer: await this.key() };
    const token = await c.retrievePreAuthorizedCodeAccessTokenFromOffer({
      credentialOffer,
      issuerMetadata,
      ...(o.txCode ? { txCode: o.txCode } : {}),
      dpop,
    });
    const { c_nonce } = await c.requestNonce({ issuerMetadata });
    const signers = await Promise.all(Array.from({ length: o.n ?? 10 }, () => this.key()));
    const keyAttestationJwt = o.attest ? await o.attest(signers.map((s) => s.publicJwk as JWK)) : undefined;
    const bare = (signer: JwtSignerJwk) =>
      new SignJWT({ nonce: c_nonce, aud: credentialOffer.credential_issuer })
        .setProtectedHeader({
          alg: "ES256",
          typ: "openid4vci-proof+jwt",
          jwk: signer.publicJwk as JWK,
          ...(keyAttestationJwt ? { key_attestation: keyAttestationJwt } : {}),
        })
        .setIssuedAt()
        .sign(this.privateKey(signer));
    const jwt = await Promise.all(
      signers.map(async (signer) => {
        if (o.bareProofs) return bare(signer);
        const p = await c.createCredentialRequestJwtProof({
          issuerMetadata,
          credentialConfigurationId: configuration,
          signer,
          nonce: c_nonce,
          ...(keyAttestationJwt ? { keyAttestationJwt } : {}),
        });
        return p.jwt;
      }),
    );
    const credentials = await c.retrieveCredentials({
      issuerMetadata,
      credentialConfigurationId: configuration,
      accessToken: token.accessTokenResponse.access_token,
      proofs: { jwt },
      dpop: { ...dpop, ...(token.dpop?.nonce ? { nonce: token.dpop.nonce } : {}) },
    });
    return { c, issuerMetadata, dpop, token: token.accessTokenResponse.access_token, credentials };
  }
}
