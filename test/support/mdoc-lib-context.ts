// Contexts the mdoc libraries (@animo-id/mdoc, @owf/mdoc) need, over node:crypto and
// @peculiar/x509. Both leave chain building to the caller: here the DS must be signed by one of the
// trusted certificates (what the interop tests need; a verifier's backend would build the path).
import {
  createHash,
  createPublicKey,
  X509Certificate as NodeX509,
  verify as nodeVerify,
  randomBytes,
} from "node:crypto";
import { type CborValue, decodeCbor, encodeCbor } from "@iaca/mdoc";
import { CoseKey } from "@owf/mdoc";
import * as x509 from "@peculiar/x509";

const NODE_HASH: Record<string, string> = { ES256: "sha256", ES384: "sha384", ES512: "sha512" };
const digest = ({ digestAlgorithm, bytes }: { digestAlgorithm: string; bytes: Uint8Array }) =>
  new Uint8Array(createHash(digestAlgorithm.replace("-", "").toLowerCase()).update(bytes).digest());

/** The DS must be signed by one of the trusted certificates (the libraries leave path building to the caller). */
async function signedByTrusted(trusted: Uint8Array[], chain: Uint8Array[]): Promise<void> {
  const leaf = new x509.X509Certificate(chain[0]!);
  for (const t of trusted)
    if (await leaf.verify({ publicKey: new x509.X509Certificate(t).publicKey, signatureOnly: false })) return;
  throw new Error("DS not signed by a trusted certificate");
}

const certificateData = ({ certificate }: { certificate: Uint8Array }) => {
  const c = new x509.X509Certificate(certificate);
  return {
    issuerName: c.issuer,
    subjectName: c.subject,
    serialNumber: c.serialNumber,
    thumbprint: createHash("sha1").update(certificate).digest("hex"),
    notBefore: c.notBefore,
    notAfter: c.notAfter,
    pem: c.toString("pem"),
  };
};
const issuerNameField = ({ certificate, field }: { certificate: Uint8Array; field: string }) =>
  new x509.X509Certificate(certificate).issuerName.getField(field);
const nodeJwk = (certificate: Uint8Array) => new NodeX509(certificate).publicKey.export({ format: "jwk" });
const verifyEs = (alg: string, jwk: unknown, data: Uint8Array, signature: Uint8Array) =>
  nodeVerify(
    NODE_HASH[alg] as string,
    data,
    { key: createPublicKey({ key: jwk as never, format: "jwk" }), dsaEncoding: "ieee-p1363" },
    signature,
  );

export const animoContext = {
  crypto: {
    digest,
    random: (n: number) => new Uint8Array(randomBytes(n)),
    calculateEphemeralMacKeyJwk: () => {
      throw new Error("device MAC not used");
    },
  },
  cose: {
    sign1: {
      verify: ({
        sign1,
        jwk,
      }: {
        sign1: { getRawVerificationData(): { alg: string; signature: Uint8Array; data: Uint8Array } };
        jwk: unknown;
      }) => {
        const { alg, signature, data } = sign1.getRawVerificationData();
        return verifyEs(alg, jwk, data, signature);
      },
    },
  },
  x509: {
    getIssuerNameField: issuerNameField,
    getPublicKey: ({ certificate }: { certificate: Uint8Array }) => nodeJwk(certificate),
    validateCertificateChain: ({
      trustedCertificates,
      x5chain,
    }: {
      trustedCertificates: Uint8Array[];
      x5chain: Uint8Array[];
    }) => signedByTrusted(trustedCertificates, x5chain),
    getCertificateData: certificateData,
  },
};

export const owfContext = {
  crypto: { digest, random: () => new Uint8Array(0) },
  cose: {
    sign1: {
      verify: ({
        key,
        sign1,
      }: {
        key: CoseKey;
        sign1: { signatureAlgorithmName: string; toBeSigned: Uint8Array; signature: Uint8Array };
      }) => verifyEs(sign1.signatureAlgorithmName, key.jwk, sign1.toBeSigned, sign1.signature),
    },
  },
  x509: {
    getIssuerNameField: issuerNameField,
    getPublicKey: ({ certificate }: { certificate: Uint8Array }) => CoseKey.fromJwk(nodeJwk(certificate) as never),
    verifyCertificateChain: ({
      trustedCertificates,
      x5chain,
    }: {
      trustedCertificates: Uint8Array[];
      x5chain: Uint8Array[];
    }) => signedByTrusted(trustedCertificates, x5chain),
    getCertificateData: certificateData,
  },
};

/** DeviceResponse with one Document and no deviceSigned (issuer data authentication only). */
export function deviceResponse(issuerSigned: Uint8Array, docType: string): Uint8Array {
  const doc = new Map<CborValue, CborValue>([
    ["docType", docType],
    ["issuerSigned", decodeCbor(issuerSigned)],
  ]);
  return encodeCbor(
    new Map<CborValue, CborValue>([
      ["version", "1.0"],
      ["documents", [doc]],
      ["status", 0],
    ]),
  );
}
