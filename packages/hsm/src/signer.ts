import { KeyObject, sign as nodeSign, hash as oneShotHash, type webcrypto } from "node:crypto";
import { ALGORITHMS, type Algorithm, algorithmBy, type HashAlgorithm } from "@iaca/policy";
import { HsmError } from "./errors.ts";

/**
 * The one signer type: an ECDSA key that knows its curve, hence (from the algorithm registry) its
 * JOSE/COSE alg, hash and signature OID. Certificates, CRLs, CSRs, MSOs and trust lists all sign
 * through it; production signers come from `KeyStore.signer(uri)` / `ClusterKeyStore.signer(uri)`.
 */
export interface Signer {
  readonly algorithm: Algorithm;
  /** Hashes `data` with `algorithm.hash` and signs the digest; raw r||s (`algorithm.signatureSize` bytes). */
  sign(data: Uint8Array): Promise<Uint8Array>;
  /** Signs a digest the caller made with `algorithm.hash`; raw r||s. */
  signDigest(digest: Uint8Array): Promise<Uint8Array>;
}

/** The registry by hash (each hash belongs to one curve), for the per-item digests of an MSO. */
const BY_HASH = new Map<HashAlgorithm, Algorithm>(Object.values(ALGORITHMS).map((a) => [a.hash, a]));

/** SHA-256/384/512 of `data`. */
export function digest(hash: HashAlgorithm, data: Uint8Array): Buffer {
  // One-shot crypto.hash as a binary (latin1) string written into Buffer's shared pool: a Buffer that
  // crypto.hash allocates is an off-heap buffer of its own (~1.5 us per item vs ~0.5 us this way).
  const a = BY_HASH.get(hash);
  if (!a) throw new HsmError("HSM_INVALID_INPUT", `unsupported hash ${hash}`);
  const size = a.digestSize;
  const out = Buffer.allocUnsafe(size);
  if (out.write(oneShotHash(a.nodeHash, data, "binary"), 0, size, "binary") !== size)
    throw new HsmError("HSM_INVALID_INPUT", `${hash} digest of unexpected length`);
  return out;
}

/** A Signer from its algorithm and a digest signer: `sign` hashes with the algorithm's hash. */
export function signerOver(algorithm: Algorithm, signDigest: (digest: Uint8Array) => Promise<Uint8Array>): Signer {
  return { algorithm, signDigest, sign: (data) => signDigest(digest(algorithm.hash, data)) };
}

/**
 * A Signer over an in-memory node:crypto / WebCrypto private key, for tests and benchmarks only:
 * CA, DS and trust-list keys live in an HSM (a test in packages/hsm keeps it out of every src/).
 * node:crypto cannot sign a precomputed digest, so `signDigest` is refused.
 */
export function softwareSigner(privateKey: KeyObject | webcrypto.CryptoKey): Signer {
  const key = privateKey instanceof KeyObject ? privateKey : KeyObject.from(privateKey);
  const curve = key.asymmetricKeyDetails?.namedCurve;
  const algorithm = algorithmBy("nodeCurve", curve);
  if (!algorithm) throw new HsmError("HSM_MECHANISM_UNSUPPORTED", `unsupported software key curve ${curve}`);
  return {
    algorithm,
    sign: async (data) => new Uint8Array(nodeSign(algorithm.nodeHash, data, { key, dsaEncoding: "ieee-p1363" })),
    signDigest: () =>
      Promise.reject(new HsmError("HSM_MECHANISM_UNSUPPORTED", "a software signer signs data, not digests")),
  };
}
