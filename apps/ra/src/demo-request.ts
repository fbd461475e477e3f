import { request } from "node:https";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { PROOF_TYP } from "./proof.ts";

/** A fictional holder (My Number with a valid check digit, 千代田区) for demos and the README's curl line. */
export const SAMPLE_HOLDER = {
  familyName: "デジタル",
  givenName: "花子",
  birthDate: "1990-04-01",
  address: "東京都千代田区紀尾井町1-3",
  sex: "female",
  localGovCode: "131016",
  individualNumber: "123456789018",
  // a minimal JPEG (the profile checks the format, not the picture)
  portrait:
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHRofHh0aHBwgJC4nICIsIxwcKDcpLDAxNDQ0Hyc5PTgyPC4zNDL/2Q==",
};

export interface DemoRequestOptions {
  url: string;
  cert: string;
  key: string;
  ca: string;
  count?: number;
  holder?: Record<string, unknown>;
  profile?: string;
}

function post(o: DemoRequestOptions, path: string, json?: unknown): Promise<{ status: number; body: string }> {
  const data = json === undefined ? undefined : Buffer.from(JSON.stringify(json));
  const headers = data ? { "content-type": "application/json", "content-length": String(data.length) } : {};
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, o.url),
      { method: "POST", cert: o.cert, key: o.key, ca: o.ca, headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
      },
    );
    req.on("error", reject);
    req.end(data);
  });
}

/**
 * What a wallet backend does for an OpenID4VCI wallet: POST /v1/credential-offers with the
 * (sample) holder's data; the offer URI goes to the wallet (QR code, deep link), the tx_code, if
 * asked for, to the holder by another channel.
 */
export async function demoOffer(o: DemoRequestOptions & { txCode?: boolean }) {
  const r = await post(o, "/v1/credential-offers", {
    profile: o.profile ?? "interop",
    holder: o.holder ?? SAMPLE_HOLDER,
    txCode: o.txCode ?? false,
  });
  if (r.status !== 201) throw new Error(`POST /v1/credential-offers answered ${r.status}: ${r.body}`);
  return JSON.parse(r.body) as { offerId: string; credentialOfferUri: string; txCode?: string; expiresAt: string };
}

/**
 * What a wallet backend does before POST /v1/credentials: a nonce from the RA, `count` fresh
 * device keys, and one openid4vci-proof+jwt per key. Returns the request body and the device
 * private keys (JWK), which a real wallet would keep in its secure element.
 */
export async function demoRequest(o: DemoRequestOptions) {
  const r = await post(o, "/v1/nonce");
  if (r.status !== 200) throw new Error(`POST /v1/nonce answered ${r.status}: ${r.body}`);
  const { nonce } = JSON.parse(r.body) as { nonce: string };
  const keys = await Promise.all(
    Array.from({ length: o.count ?? 1 }, () => generateKeyPair("ES256", { extractable: true })),
  );
  const jwt = await Promise.all(
    keys.map(async (k) =>
      new SignJWT({ nonce })
        .setProtectedHeader({ alg: "ES256", typ: PROOF_TYP, jwk: await exportJWK(k.publicKey) })
        .setIssuedAt()
        .sign(k.privateKey),
    ),
  );
  return {
    body: { profile: o.profile ?? "interop", holder: o.holder ?? SAMPLE_HOLDER, proofs: { jwt } },
    deviceKeys: await Promise.all(keys.map((k) => exportJWK(k.privateKey))),
  };
}
