// Properties the parsers must keep on hostile input (issue 16 item 11): every input either parses
// or is refused with the parser's own typed error; nothing else escapes (no TypeError, no
// RangeError from the stack, no hang). Shared by test/fuzz.test.ts (a bounded smoke run in
// npm test) and scripts/fuzz.ts (`npm run fuzz -- --minutes N`).

import { generateKeyPairSync } from "node:crypto";
import { decodeCbor, encodeCbor, MdocError } from "@iaca/mdoc";
import { lintArtifact } from "@iaca/pki";
import { DEFAULT_POLICY, IacaError } from "@iaca/policy";
import { ProblemError, verifyProofs } from "@iaca/ra";
import fc from "fast-check";
import { exportJWK, importJWK, SignJWT } from "jose";
import type { Response } from "./stack.ts";

/** Byte strings: random ones, and a valid sample with bytes flipped, cut or repeated. */
export function mutatedBytes(valid: Uint8Array): fc.Arbitrary<Uint8Array> {
  const flips = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 8 });
  const mutated = fc.tuple(flips, fc.nat(), fc.boolean()).map(([fs, cut, truncate]) => {
    const b = Uint8Array.from(valid);
    for (const [at, x] of fs) b[at % b.length] = (b[at % b.length] ?? 0) ^ x;
    return truncate ? b.subarray(0, cut % (b.length + 1)) : b;
  });
  return fc.oneof(fc.uint8Array({ maxLength: 2048 }), mutated);
}

/** A nested CBOR value with every kind the codec writes, as a valid sample to mutate. */
export const CBOR_SAMPLE = encodeCbor(
  new Map<string, unknown>([
    ["a", [1, -2, "x", new Uint8Array([1, 2, 3]), true, null]],
    ["b", new Map([[1, [new Map([["c", "d"]])]]])],
  ]) as never,
);

export const cborProperty = (sample: Uint8Array = CBOR_SAMPLE) =>
  fc.property(mutatedBytes(sample), (bytes) => {
    try {
      decodeCbor(bytes);
    } catch (e) {
      if (!(e instanceof MdocError)) throw e;
    }
  });

export const derProperty = (sample: Uint8Array) =>
  fc.property(mutatedBytes(sample), (bytes) => {
    try {
      lintArtifact(bytes, { policy: DEFAULT_POLICY });
    } catch (e) {
      if (!(e instanceof IacaError)) throw e;
    }
  });

/** A proof JWT: three base64url parts, random or a valid one with parts swapped, cut or re-encoded. */
export function jwtStrings(valid: string): fc.Arbitrary<string> {
  const [h, p, s] = valid.split(".") as [string, string, string];
  const part = fc.oneof(
    fc.constantFrom(h, p, s),
    fc.string({ maxLength: 200 }),
    fc.json().map((j) => Buffer.from(j).toString("base64url")),
  );
  return fc.oneof(
    fc.string({ maxLength: 400 }),
    fc.tuple(part, part, part).map((xs) => xs.join(".")),
    fc.nat().map((n) => valid.slice(0, n % (valid.length + 1))),
  );
}

export const proofProperty = (valid: string) =>
  fc.asyncProperty(jwtStrings(valid), async (jwt) => {
    try {
      await verifyProofs([jwt]);
    } catch (e) {
      if (!(e instanceof ProblemError)) throw e;
    }
  });
/** A valid proof JWT (ES256, jwk header) to mutate. */
export async function sampleProof(): Promise<string> {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = await exportJWK(publicKey);
  const key = await importJWK(privateKey.export({ format: "jwk" }) as never, "ES256");
  return new SignJWT({ nonce: "n-fuzz" })
    .setProtectedHeader({ alg: "ES256", typ: "openid4vci-proof+jwt", jwk })
    .setIssuedAt()
    .sign(key);
}

/** What the API property needs: a running RA (test/support/stack.ts), a client and a valid request. */
export interface ApiTarget {
  send(path: string, body: unknown, headers: Record<string, string>): Promise<Response>;
  /** Issuance rows in the database (a refused request adds none). */
  rows(): Promise<number>;
  /** A valid issuance body to mutate (holder and proofs). */
  valid: { profile: string; holder: Record<string, unknown>; proofs: { jwt: string[] } };
}

/** Request bodies: random JSON, and the valid one with a field replaced, added, removed or re-typed. */
export function apiBodies(valid: ApiTarget["valid"]): fc.Arbitrary<unknown> {
  const holderKeys = Object.keys(valid.holder);
  const anyJson = fc.jsonValue({ maxDepth: 4 });
  const hostileText = fc.oneof(
    fc.string({ maxLength: 300 }),
    fc.constantFrom("\u0000", "\uD800", "\u202E", "__proto__", "constructor", "0".repeat(12), "99999", "1899-12-31"),
  );
  const holder = fc.oneof(
    fc
      .tuple(fc.constantFrom(...holderKeys), fc.oneof(anyJson, hostileText))
      .map(([k, v]) => ({ ...valid.holder, [k]: v })),
    fc.tuple(fc.string({ maxLength: 20 }), anyJson).map(([k, v]) => ({ ...valid.holder, [k]: v })),
    fc
      .constantFrom(...holderKeys)
      .map((k) => Object.fromEntries(Object.entries(valid.holder).filter(([x]) => x !== k))),
    anyJson,
  );
  const proofs = fc.oneof(
    fc.constant(valid.proofs),
    fc
      .array(fc.oneof(jwtStrings(valid.proofs.jwt[0]!), fc.constant(valid.proofs.jwt[0]!)), { maxLength: 12 })
      .map((jwt) => ({ jwt })),
    anyJson,
  );
  const profile = fc.oneof(fc.constant(valid.profile), fc.constantFrom("seed-2024", "interop"), hostileText);
  return fc.oneof(
    { weight: 1, arbitrary: anyJson },
    { weight: 1, arbitrary: fc.string({ maxLength: 500 }) },
    { weight: 6, arbitrary: fc.record({ profile, holder, proofs }, { requiredKeys: [] }) },
  );
}

/**
 * The RA's JSON API on random and mutated requests: never a 5xx, every refusal RFC 9457
 * problem+json that does not quote the request, and no issuance row left by a refused request.
 */
export const apiProperty = (t: ApiTarget) =>
  fc.asyncProperty(
    apiBodies(t.valid),
    fc.option(fc.oneof(fc.uuid(), fc.string({ maxLength: 300 })), { nil: undefined }),
    fc.constantFrom("/v1/credentials", "/v1/credentials/refresh", "/v1/holders/revoke"),
    async (body, key, path) => {
      const before = await t.rows();
      const r = await t.send(path, body, key === undefined ? {} : { "idempotency-key": key });
      if (r.status >= 500) throw new Error(`${path} answered ${r.status}: ${r.text.slice(0, 200)}`);
      if (r.status >= 400) {
        if (!String(r.headers["content-type"]).startsWith("application/problem+json"))
          throw new Error(`${path} ${r.status} is not problem+json`);
        if (typeof body === "string" && body.length > 12 && r.text.includes(body))
          throw new Error(`${path} ${r.status} quotes the request`);
        const after = await t.rows();
        if (after !== before) throw new Error(`${path} ${r.status} left ${after - before} issuance rows`);
      }
    },
  );

/** A stack (PostgreSQL + SoftHSM, test/support/stack.ts) with a wallet client, as the API property's target. */
export async function startApiTarget(): Promise<{ target: ApiTarget; close: () => Promise<void> }> {
  const { call, issueBody, person, startStack } = await import("./stack.ts");
  const stack = await startStack({ rateLimit: { max: 1_000_000, timeWindowMs: 60_000 } });
  const wallet = await stack.addClient("wallet-fuzz", ["issue", "refresh", "revoke"]);
  const { body } = await issueBody(stack, wallet, person(7), 2);
  const rows = async () => {
    const [r] = await stack.fresh.db.sql.query<{ n: string }>("SELECT count(*)::text AS n FROM issuance");
    return Number(r?.n);
  };
  return {
    target: {
      send: (path, b, headers) => call(stack, wallet, "POST", path, b, headers),
      rows,
      valid: body as unknown as ApiTarget["valid"],
    },
    close: () => stack.close(),
  };
}
