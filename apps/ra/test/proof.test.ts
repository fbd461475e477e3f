// verifyProofs checks the signature with node:crypto and makes around it the checks jose's
// EmbeddedJWK + jwtVerify made. This compares it with the jose-based verifier it replaced (kept
// here as the reference) on valid proofs and on every malformation we could think of: the same
// result, or the same problem type and detail.
import { generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { decodeProtectedHeader, EmbeddedJWK, errors as joseErrors, jwtVerify } from "jose";
import { afterAll, describe, expect, it } from "vitest";
import { ProblemError } from "../src/problem.ts";
import { PROOF_TYP, type ProofOptions, verifyProofs } from "../src/proof.ts";
import { ProofWorkers } from "../src/proof-workers.ts";

const ALGS: Record<string, string> = { "P-256": "ES256", "P-384": "ES384", "P-521": "ES512" };
const HASH: Record<string, string> = { ES256: "sha256", ES384: "sha384", ES512: "sha512" };

/** The verifier before node:crypto took over the signature (jose jwtVerify + EmbeddedJWK). */
async function reference(jwts: string[], opts: ProofOptions = {}) {
  const now = opts.now?.() ?? new Date();
  const maxAge = opts.maxAgeSeconds ?? 300;
  const skew = opts.clockToleranceSeconds ?? 60;
  const results = await Promise.all(
    jwts.map(async (jwt, index) => {
      let header: ReturnType<typeof decodeProtectedHeader>;
      try {
        header = decodeProtectedHeader(jwt);
      } catch {
        throw new ProblemError("invalid-proof", `proof ${index}: the JWT header is malformed`, { index });
      }
      if (header.typ !== PROOF_TYP)
        throw new ProblemError("invalid-proof", `proof ${index}: typ must be ${PROOF_TYP}`, { index });
      const jwk = header.jwk as Record<string, unknown> | undefined;
      const bad = (d: string) => new ProblemError("invalid-device-key", `proof ${index}: ${d}`, { index });
      if (!jwk || typeof jwk !== "object") throw bad("the jwk header is missing");
      if ("d" in jwk) throw bad("the jwk header holds a private key");
      if (jwk.kty !== "EC") throw bad("the device key must be an EC key");
      if (typeof jwk.crv !== "string" || !ALGS[jwk.crv])
        throw bad("the device key curve must be P-256, P-384 or P-521");
      if (typeof jwk.x !== "string" || typeof jwk.y !== "string") throw bad("the device key lacks x or y");
      // the one rule added since (issue 16 item 1): one spelling per key
      const size = { "P-256": 32, "P-384": 48, "P-521": 66 }[jwk.crv]!;
      for (const c of ["x", "y"] as const) {
        const v = jwk[c] as string;
        const bytes = Buffer.from(v, "base64url");
        if (!/^[A-Za-z0-9_-]+$/.test(v) || bytes.length !== size || bytes.toString("base64url") !== v)
          throw bad(`${c} must be the unpadded base64url of exactly ${size} bytes (RFC 7518 6.2.1.2)`);
      }
      if (header.alg !== ALGS[jwk.crv]) throw bad(`alg must be ${ALGS[jwk.crv]} for ${jwk.crv}`);
      let payload: Record<string, unknown>;
      try {
        const r = await jwtVerify(jwt, EmbeddedJWK, {
          typ: PROOF_TYP,
          algorithms: [ALGS[jwk.crv]!],
          requiredClaims: ["iat", "nonce"],
          clockTolerance: skew,
          currentDate: now,
          maxTokenAge: maxAge + skew,
          ...(opts.audience ? { audience: opts.audience } : {}),
        });
        payload = r.payload as Record<string, unknown>;
      } catch (e) {
        if (e instanceof joseErrors.JOSEError && (e.code === "ERR_JWK_INVALID" || e.code === "ERR_JOSE_NOT_SUPPORTED"))
          throw new ProblemError("invalid-device-key", `proof ${index}: the device key is not usable`, { index });
        const reason =
          e instanceof joseErrors.JWTClaimValidationFailed || e instanceof joseErrors.JWTExpired
            ? `claim ${(e as joseErrors.JWTClaimValidationFailed).claim}: ${(e as Error).message}`
            : "signature or structure invalid";
        throw new ProblemError("invalid-proof", `proof ${index}: ${reason}`, { index });
      }
      if (typeof payload.nonce !== "string")
        throw new ProblemError("invalid-proof", `proof ${index}: nonce must be a string`, { index });
      return { nonce: payload.nonce, jwk: { kty: "EC", crv: jwk.crv, x: jwk.x, y: jwk.y } };
    }),
  );
  const nonce = results[0]!.nonce;
  if (results.some((r) => r.nonce !== nonce))
    throw new ProblemError("invalid-proof", "all proofs of a request must carry the same nonce");
  return { nonce, jwks: results.map((r) => r.jwk) };
}

async function outcome(p: Promise<unknown>) {
  try {
    return { ok: await p };
  } catch (e) {
    if (e instanceof ProblemError) return { problem: e.problem, detail: e.message, index: e.extra.index };
    return { thrown: String(e) };
  }
}

interface Key {
  priv: KeyObject;
  jwk: Record<string, unknown>;
  alg: string;
}
function key(crv: "P-256" | "P-384" | "P-521" = "P-256"): Key {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: crv });
  return { priv: privateKey, jwk: publicKey.export({ format: "jwk" }) as Record<string, unknown>, alg: ALGS[crv]! };
}
const b64 = (s: string | Buffer) => Buffer.from(s).toString("base64url");
const NOW = 1_750_000_000;

/** A compact JWS over arbitrary header and payload text, signed by `k` (raw r||s). */
function jws(
  k: Key,
  o: { header?: Record<string, unknown>; payload?: Record<string, unknown> | string; signWith?: Key } = {},
): string {
  const header = { alg: k.alg, typ: PROOF_TYP, jwk: k.jwk, ...(o.header ?? {}) };
  const payload = o.payload ?? { nonce: "n-1", iat: NOW - 10 };
  const h = b64(JSON.stringify(header));
  const p = typeof payload === "string" ? payload : b64(JSON.stringify(payload));
  const signer = o.signWith ?? k;
  const sig = sign(HASH[signer.alg]!, Buffer.from(`${h}.${p}`), { key: signer.priv, dsaEncoding: "ieee-p1363" });
  return `${h}.${p}.${b64(sig)}`;
}

describe("verifyProofs (node:crypto signature) behaves as the jose verifier", () => {
  const a = key();
  const b = key();
  const k384 = key("P-384");
  const k521 = key("P-521");
  const opts: ProofOptions = { now: () => new Date(NOW * 1000) };
  const swap = (s: string, i: number, c: string) => s.slice(0, i) + c + s.slice(i + 1);
  const valid = jws(a);
  const [vh, vp, vs] = valid.split(".") as [string, string, string];
  // the last character of a 64-byte signature carries 2 bits and 4 zero bits: a non-canonical twin
  const lastSig = vs.at(-1)!;
  const twin = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const nonCanonical = swap(
    vs,
    vs.length - 1,
    twin[(twin.indexOf(lastSig) & ~15) | ((twin.indexOf(lastSig) + 1) & 15)]!,
  );
  const offCurve = { ...a.jwk, x: a.jwk.y };

  const cases: Record<string, { jwts: string[]; opts?: ProofOptions }> = {
    "valid ES256": { jwts: [valid] },
    "valid ES384 and ES512": { jwts: [jws(k384), jws(k521)] },
    "valid batch of three": { jwts: [jws(a), jws(b), jws(k384)] },
    "signed by another key": { jwts: [jws(a, { signWith: b })] },
    "second proof bad": { jwts: [jws(a), jws(b, { signWith: a })] },
    "typ JWT": { jwts: [jws(a, { header: { typ: "JWT" } })] },
    "typ with application/ prefix": { jwts: [jws(a, { header: { typ: `application/${PROOF_TYP}` } })] },
    "alg ES384 on P-256": { jwts: [jws(a, { header: { alg: "ES384" } })] },
    "alg none": { jwts: [jws(a, { header: { alg: "none" } })] },
    "private key in jwk": { jwts: [jws(a, { header: { jwk: { ...a.jwk, d: "AAAA" } } })] },
    "RSA kty": { jwts: [jws(a, { header: { jwk: { ...a.jwk, kty: "RSA" } } })] },
    secp256k1: { jwts: [jws(a, { header: { jwk: { ...a.jwk, crv: "secp256k1" } } })] },
    "no jwk": { jwts: [jws(a, { header: { jwk: undefined } })] },
    "jwk is a string": { jwts: [jws(a, { header: { jwk: "key" } })] },
    "jwk is an array": { jwts: [jws(a, { header: { jwk: [1] } })] },
    "x missing": { jwts: [jws(a, { header: { jwk: { ...a.jwk, x: undefined } } })] },
    "point not on the curve": { jwts: [jws(a, { header: { jwk: offCurve } })] },
    "x too short": { jwts: [jws(a, { header: { jwk: { ...a.jwk, x: (a.jwk.x as string).slice(2) } } })] },
    "x with a leading zero byte": {
      jwts: [
        jws(a, {
          header: {
            jwk: { ...a.jwk, x: b64(Buffer.concat([Buffer.alloc(1), Buffer.from(a.jwk.x as string, "base64url")])) },
          },
        }),
      ],
    },
    "x in base64 with padding": {
      jwts: [
        jws(a, { header: { jwk: { ...a.jwk, x: Buffer.from(a.jwk.x as string, "base64url").toString("base64") } } }),
      ],
    },
    "x not base64": { jwts: [jws(a, { header: { jwk: { ...a.jwk, x: "!!!!" } } })] },
    "jwk use sig": { jwts: [jws(a, { header: { jwk: { ...a.jwk, use: "sig" } } })] },
    "jwk use enc": { jwts: [jws(a, { header: { jwk: { ...a.jwk, use: "enc" } } })] },
    "jwk alg ES256": { jwts: [jws(a, { header: { jwk: { ...a.jwk, alg: "ES256" } } })] },
    "jwk alg ES384": { jwts: [jws(a, { header: { jwk: { ...a.jwk, alg: "ES384" } } })] },
    "jwk key_ops verify": { jwts: [jws(a, { header: { jwk: { ...a.jwk, key_ops: ["verify"] } } })] },
    "jwk key_ops sign": { jwts: [jws(a, { header: { jwk: { ...a.jwk, key_ops: ["sign"] } } })] },
    "jwk key_ops sign+verify": { jwts: [jws(a, { header: { jwk: { ...a.jwk, key_ops: ["sign", "verify"] } } })] },
    "jwk key_ops empty": { jwts: [jws(a, { header: { jwk: { ...a.jwk, key_ops: [] } } })] },
    "jwk key_ops duplicate": { jwts: [jws(a, { header: { jwk: { ...a.jwk, key_ops: ["verify", "verify"] } } })] },
    "jwk key_ops string": { jwts: [jws(a, { header: { jwk: { ...a.jwk, key_ops: "verify" } } })] },
    "jwk ext false": { jwts: [jws(a, { header: { jwk: { ...a.jwk, ext: false } } })] },
    "jwk ext string": { jwts: [jws(a, { header: { jwk: { ...a.jwk, ext: "yes" } } })] },
    "jwk with kid": { jwts: [jws(a, { header: { jwk: { ...a.jwk, kid: "k1" } } })] },
    "crit b64 true": { jwts: [jws(a, { header: { crit: ["b64"], b64: true } })] },
    "crit b64 false": { jwts: [jws(a, { header: { crit: ["b64"], b64: false } })] },
    "crit b64 missing": { jwts: [jws(a, { header: { crit: ["b64"] } })] },
    "crit b64 string": { jwts: [jws(a, { header: { crit: ["b64"], b64: "true" } })] },
    "crit b64 twice": { jwts: [jws(a, { header: { crit: ["b64", "b64"], b64: true } })] },
    "crit unknown": { jwts: [jws(a, { header: { crit: ["exp"], exp: 1 } })] },
    "crit b64 missing then unknown": { jwts: [jws(a, { header: { crit: ["b64", "x"], x: 1 } })] },
    "crit unknown then b64": { jwts: [jws(a, { header: { crit: ["x", "b64"], b64: true } })] },
    "crit empty": { jwts: [jws(a, { header: { crit: [] } })] },
    "crit string": { jwts: [jws(a, { header: { crit: "b64", b64: true } })] },
    "crit with empty name": { jwts: [jws(a, { header: { crit: [""] } })] },
    "b64 false without crit": { jwts: [jws(a, { header: { b64: false } })] },
    "iat too old": { jwts: [jws(a, { payload: { nonce: "n", iat: NOW - 421 } })] },
    "iat at the age limit": { jwts: [jws(a, { payload: { nonce: "n", iat: NOW - 420 } })] },
    "iat in the future": { jwts: [jws(a, { payload: { nonce: "n", iat: NOW + 61 } })] },
    "iat within skew": { jwts: [jws(a, { payload: { nonce: "n", iat: NOW + 60 } })] },
    "iat fractional": { jwts: [jws(a, { payload: { nonce: "n", iat: NOW - 0.5 } })] },
    "iat string": { jwts: [jws(a, { payload: { nonce: "n", iat: String(NOW) } })] },
    "iat missing": { jwts: [jws(a, { payload: { nonce: "n" } })] },
    "nonce missing": { jwts: [jws(a, { payload: { iat: NOW } })] },
    "nonce and iat missing": { jwts: [jws(a, { payload: {} })] },
    "nonce a number": { jwts: [jws(a, { payload: { nonce: 7, iat: NOW } })] },
    "nonce null": { jwts: [jws(a, { payload: { nonce: null, iat: NOW } })] },
    "nbf in the future": { jwts: [jws(a, { payload: { nonce: "n", iat: NOW, nbf: NOW + 61 } })] },
    "nbf string": { jwts: [jws(a, { payload: { nonce: "n", iat: NOW, nbf: "x" } })] },
    "exp past": { jwts: [jws(a, { payload: { nonce: "n", iat: NOW, exp: NOW - 60 } })] },
    "exp within skew": { jwts: [jws(a, { payload: { nonce: "n", iat: NOW, exp: NOW - 59 } })] },
    "exp string": { jwts: [jws(a, { payload: { nonce: "n", iat: NOW, exp: "soon" } })] },
    "aud expected, missing": { jwts: [jws(a)], opts: { audience: "https://ra" } },
    "aud expected, wrong": {
      jwts: [jws(a, { payload: { nonce: "n", iat: NOW, aud: "x" } })],
      opts: { audience: "https://ra" },
    },
    "aud expected, right": {
      jwts: [jws(a, { payload: { nonce: "n", iat: NOW, aud: "https://ra" } })],
      opts: { audience: "https://ra" },
    },
    "aud expected, in array": {
      jwts: [jws(a, { payload: { nonce: "n", iat: NOW, aud: ["x", "https://ra"] } })],
      opts: { audience: "https://ra" },
    },
    "aud expected, iat missing too": { jwts: [jws(a, { payload: { nonce: "n" } })], opts: { audience: "https://ra" } },
    "aud not expected but present": { jwts: [jws(a, { payload: { nonce: "n", iat: NOW, aud: 5 } })] },
    "custom max age": {
      jwts: [jws(a, { payload: { nonce: "n", iat: NOW - 100 } })],
      opts: { maxAgeSeconds: 30, clockToleranceSeconds: 10 },
    },
    "payload not JSON": { jwts: [jws(a, { payload: b64("{nonce") })] },
    "payload an array": { jwts: [jws(a, { payload: b64("[1]") })] },
    "payload empty": { jwts: [jws(a, { payload: "" })] },
    "payload invalid UTF-8": { jwts: [jws(a, { payload: b64(Buffer.from([0x7b, 0xff, 0x7d])) })] },
    "header not JSON": { jwts: [`${b64("{alg")}.${vp}.${vs}`] },
    "header an array": { jwts: [`${b64("[]")}.${vp}.${vs}`] },
    "two parts": { jwts: [`${vh}.${vp}`] },
    "four parts": { jwts: [`${valid}.x`] },
    "five parts": { jwts: [`${valid}.x.y`] },
    "signature truncated": { jwts: [`${vh}.${vp}.${vs.slice(0, -4)}`] },
    "signature one char longer": { jwts: [`${valid}A`] },
    "signature four chars longer": { jwts: [`${valid}AAAA`] },
    "signature with padding": { jwts: [`${valid}==`] },
    "signature in base64": { jwts: [`${vh}.${vp}.${Buffer.from(vs, "base64url").toString("base64")}`] },
    "signature non-canonical last char": { jwts: [`${vh}.${vp}.${nonCanonical}`] },
    "signature empty": { jwts: [`${vh}.${vp}.`] },
    "signature zeros": { jwts: [`${vh}.${vp}.${b64(Buffer.alloc(64))}`] },
    "signature DER": {
      jwts: [`${vh}.${vp}.${b64(sign("sha256", Buffer.from(`${vh}.${vp}`), { key: a.priv, dsaEncoding: "der" }))}`],
    },
    "payload swapped": { jwts: [`${vh}.${b64(JSON.stringify({ nonce: "other", iat: NOW }))}.${vs}`] },
    "mixed nonces": { jwts: [jws(a), jws(b, { payload: { nonce: "n-2", iat: NOW } })] },
  };

  // the same outcomes with the signatures checked on the event loop and on the proof workers
  const workers = new ProofWorkers(1);
  afterAll(() => workers.close());
  for (const [where, signatures] of [
    ["event loop", undefined],
    ["proof workers", workers.check],
  ] as const)
    for (const [name, c] of Object.entries(cases))
      it(`${name} (${where})`, async () => {
        const o = { ...opts, ...(c.opts ?? {}), signatures };
        const want = await outcome(reference(c.jwts, o));
        const got = await outcome(
          verifyProofs(c.jwts, o).then((r) => ({ nonce: r.nonce, jwks: r.devices.map((d) => d.jwk) })),
        );
        expect(got).toEqual(want);
      });

  it("proofs are still checked when the proof workers are gone", async () => {
    const gone = new ProofWorkers(1);
    await gone.close();
    const o = { ...opts, signatures: gone.check };
    await expect(verifyProofs([valid], o)).resolves.toMatchObject({ devices: [{ jwk: { crv: "P-256" } }] });
    const forged = `${vh}.${vp}.${b64(Buffer.alloc(64, 1))}`;
    expect(await outcome(verifyProofs([forged], o))).toMatchObject({ problem: "invalid-proof", index: 0 });
  });

  it("ra.proof.device-key: a device key is accepted in its one canonical spelling only (padding, unused bits)", async () => {
    const x = a.jwk.x as string;
    const padded = { ...a.jwk, x: `${Buffer.from(x, "base64url").toString("base64")}` };
    // the last base64url character of a 32-byte value carries 2 unused bits: set one
    const last = x.at(-1)!;
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const bits = { ...a.jwk, x: x.slice(0, -1) + alphabet[alphabet.indexOf(last) ^ 1] };
    for (const jwk of [padded, bits]) {
      const r = await outcome(verifyProofs([jws({ ...a, jwk })], opts));
      expect(r).toMatchObject({ problem: "invalid-device-key", index: 0 });
      expect((r as { detail: string }).detail).toContain("unpadded base64url of exactly 32 bytes");
    }
    await expect(verifyProofs([jws(a)], opts)).resolves.toMatchObject({ devices: [{ jwk: { x } }] });
  });

  it("a device key repeated in a batch is refused", async () => {
    const r = await outcome(verifyProofs([jws(a), jws(a)], opts));
    expect(r).toMatchObject({ problem: "invalid-device-key", index: 1 });
  });
});
