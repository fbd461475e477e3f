/**
 * The one algorithm registry: for each supported curve, every name and number the layers above
 * use for it (PKCS#11, X.509, COSE, JOSE, node:crypto). CP/CPS 7.1.3 pairs each curve with one hash.
 */

export type Curve = "P-256" | "P-384" | "P-521";
export type HashAlgorithm = "SHA-256" | "SHA-384" | "SHA-512";
export type JoseAlg = "ES256" | "ES384" | "ES512";
export type CoseAlg = -7 | -35 | -36;
/** Fully-specified COSE ECDSA (RFC 9864 2.1): the curve is part of the algorithm. */
export type CoseFullySpecifiedAlg = -9 | -51 | -52;

export interface Algorithm {
  curve: Curve;
  /** JWS/JWT `alg` (RFC 7518 3.4). */
  jose: JoseAlg;
  /** COSE `alg` (RFC 9053 2.1). */
  cose: CoseAlg;
  /** Fully-specified COSE `alg` (RFC 9864: ESP256, ESP384, ESP512), as OpenID4VCI 1.0 A.2.2 names MSO signing algorithms. */
  coseFullySpecified: CoseFullySpecifiedAlg;
  /** COSE EC2 `crv` (RFC 9053 7.1). */
  coseCurve: 1 | 2 | 3;
  hash: HashAlgorithm;
  /** node:crypto hash name. */
  nodeHash: "sha256" | "sha384" | "sha512";
  /** Digest length in bytes. */
  digestSize: 32 | 48 | 64;
  /** node:crypto (OpenSSL) curve name. */
  nodeCurve: "prime256v1" | "secp384r1" | "secp521r1";
  curveOid: string;
  /** DER of the named-curve OID: CKA_EC_PARAMS and the SPKI algorithm parameters. */
  curveParams: Uint8Array;
  /** ecdsa-with-SHA* signature algorithm OID (RFC 5758 3.2). */
  signatureOid: string;
  /** Bytes of one coordinate, and of r and of s. */
  coordinateSize: 32 | 48 | 66;
  /** Bytes of a raw r||s signature (IEEE P1363, COSE, JWS). */
  signatureSize: 64 | 96 | 132;
}

const hexBytes = (hex: string) => Uint8Array.from(Buffer.from(hex, "hex"));

export const ALGORITHMS: Readonly<Record<Curve, Algorithm>> = {
  "P-256": {
    curve: "P-256",
    jose: "ES256",
    cose: -7,
    coseFullySpecified: -9,
    coseCurve: 1,
    hash: "SHA-256",
    nodeHash: "sha256",
    digestSize: 32,
    nodeCurve: "prime256v1",
    curveOid: "1.2.840.10045.3.1.7",
    curveParams: hexBytes("06082a8648ce3d030107"),
    signatureOid: "1.2.840.10045.4.3.2",
    coordinateSize: 32,
    signatureSize: 64,
  },
  "P-384": {
    curve: "P-384",
    jose: "ES384",
    cose: -35,
    coseFullySpecified: -51,
    coseCurve: 2,
    hash: "SHA-384",
    nodeHash: "sha384",
    digestSize: 48,
    nodeCurve: "secp384r1",
    curveOid: "1.3.132.0.34",
    curveParams: hexBytes("06052b81040022"),
    signatureOid: "1.2.840.10045.4.3.3",
    coordinateSize: 48,
    signatureSize: 96,
  },
  "P-521": {
    curve: "P-521",
    jose: "ES512",
    cose: -36,
    coseFullySpecified: -52,
    coseCurve: 3,
    hash: "SHA-512",
    nodeHash: "sha512",
    digestSize: 64,
    nodeCurve: "secp521r1",
    curveOid: "1.3.132.0.35",
    curveParams: hexBytes("06052b81040023"),
    signatureOid: "1.2.840.10045.4.3.4",
    coordinateSize: 66,
    signatureSize: 132,
  },
};

/** id-ecPublicKey (RFC 5480 2.1.1): the SPKI algorithm of every key in the registry. */
export const EC_PUBLIC_KEY_OID = "1.2.840.10045.2.1";

/** The keys a registry entry can be looked up by (each is unique to one curve). */
export type AlgorithmKey = Exclude<keyof Algorithm, "curveParams">;

/** The entry whose `key` equals `value` (curve, JOSE/COSE alg, hash, OID, node name ...); undefined when none. */
export function algorithmBy<K extends AlgorithmKey>(key: K, value: unknown): Algorithm | undefined {
  for (const a of Object.values(ALGORITHMS)) if (a[key] === value) return a;
  return undefined;
}

/** The entry whose CKA_EC_PARAMS / SPKI parameters are `der`; undefined when none. */
export function algorithmByCurveParams(der: Uint8Array): Algorithm | undefined {
  const hex = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString("hex");
  return Object.values(ALGORITHMS).find((a) => Buffer.from(a.curveParams).toString("hex") === hex);
}
