/**
 * Test-only PKI: an IACA and DS certificates made with @peculiar/x509 and node WebCrypto keys,
 * plus a software Signer over the DS key. Production signs with the HSM KeyStore.
 */
import "reflect-metadata";
import { webcrypto } from "node:crypto";
import { type Signer, softwareSigner } from "@iaca/hsm";
import * as x509 from "@peculiar/x509";

type CryptoKeyPair = webcrypto.CryptoKeyPair;
type EcKeyAlgorithm = webcrypto.EcKeyAlgorithm;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const subtle = webcrypto.subtle;
const HASH: Record<string, string> = { "P-256": "SHA-256", "P-384": "SHA-384", "P-521": "SHA-512" };

export interface TestCa {
  cert: x509.X509Certificate;
  keys: CryptoKeyPair;
  pem: string;
}

export async function ecKeys(curve: "P-256" | "P-384" | "P-521" = "P-256"): Promise<CryptoKeyPair> {
  return (await subtle.generateKey({ name: "ECDSA", namedCurve: curve }, true, ["sign", "verify"])) as CryptoKeyPair;
}

let serial = 0x1000;
const nextSerial = () => (serial++).toString(16).padStart(8, "0").replace(/^0/, "1");

export async function makeIaca(
  o: { name?: string; notBefore?: Date; notAfter?: Date; curve?: "P-256" | "P-384" } = {},
): Promise<TestCa> {
  const curve = o.curve ?? "P-384";
  const keys = await ecKeys(curve);
  const notBefore = o.notBefore ?? new Date(Date.now() - 86_400_000);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: nextSerial(),
    name: o.name ?? "C=JP, O=Test Agency, CN=Test mdoc IACA",
    notBefore,
    notAfter: o.notAfter ?? new Date(notBefore.getTime() + 5 * 365 * 86_400_000),
    keys,
    signingAlgorithm: { name: "ECDSA", hash: HASH[curve] },
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert, keys, pem: cert.toString("pem") };
}

export interface TestDs {
  cert: x509.X509Certificate;
  keys: CryptoKeyPair;
  der: Uint8Array;
  signer: Signer;
}

/** issueMdoc's signer and DS certificate from a test DS. */
export const issuing = (ds: TestDs) => ({ signer: ds.signer, dsCertificate: ds.der });

export async function makeDs(
  iaca: TestCa,
  o: { notBefore?: Date; notAfter?: Date; curve?: "P-256" | "P-384"; eku?: boolean; name?: string } = {},
): Promise<TestDs> {
  const curve = o.curve ?? "P-256";
  const keys = await ecKeys(curve);
  const notBefore = o.notBefore ?? new Date(Date.now() - 3600_000);
  const iacaCurve = (iaca.keys.privateKey.algorithm as EcKeyAlgorithm).namedCurve;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: nextSerial(),
    subject: o.name ?? "C=JP, O=Test Agency, CN=Test Document Signer",
    issuer: iaca.cert.subject,
    notBefore,
    notAfter: o.notAfter ?? new Date(notBefore.getTime() + 90 * 86_400_000),
    publicKey: keys.publicKey,
    signingKey: iaca.keys.privateKey,
    signingAlgorithm: { name: "ECDSA", hash: HASH[iacaCurve] },
    extensions: [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      ...(o.eku === false ? [] : [new x509.ExtendedKeyUsageExtension(["1.0.18013.5.1.2"], true)]),
      await x509.AuthorityKeyIdentifierExtension.create(iaca.keys.publicKey),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const der = new Uint8Array(cert.rawData);
  return { cert, keys, der, signer: softwareSigner(keys.privateKey) };
}

/** A DS certificate for a public key held elsewhere (e.g. an HSM key's SPKI). */
export async function makeDsCertFor(iaca: TestCa, spki: Uint8Array, curve: "P-256" | "P-384" = "P-256") {
  const publicKey = await subtle.importKey("spki", spki, { name: "ECDSA", namedCurve: curve }, true, ["verify"]);
  const iacaCurve = (iaca.keys.privateKey.algorithm as EcKeyAlgorithm).namedCurve;
  const notBefore = new Date(Date.now() - 3600_000);
  return x509.X509CertificateGenerator.create({
    serialNumber: nextSerial(),
    subject: "C=JP, O=Test Agency, CN=Test HSM Document Signer",
    issuer: iaca.cert.subject,
    notBefore,
    notAfter: new Date(notBefore.getTime() + 90 * 86_400_000),
    publicKey,
    signingKey: iaca.keys.privateKey,
    signingAlgorithm: { name: "ECDSA", hash: HASH[iacaCurve] },
    extensions: [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension(["1.0.18013.5.1.2"], true),
      await x509.AuthorityKeyIdentifierExtension.create(iaca.keys.publicKey),
    ],
  });
}

export async function makeCrl(
  iaca: TestCa,
  revokedSerials: string[],
  o: { thisUpdate?: Date; nextUpdate?: Date } = {},
) {
  const iacaCurve = (iaca.keys.privateKey.algorithm as EcKeyAlgorithm).namedCurve;
  const thisUpdate = o.thisUpdate ?? new Date(Date.now() - 60_000);
  return x509.X509CrlGenerator.create({
    issuer: iaca.cert.subject,
    thisUpdate,
    nextUpdate: o.nextUpdate ?? new Date(thisUpdate.getTime() + 100 * 86_400_000),
    signingKey: iaca.keys.privateKey,
    signingAlgorithm: { name: "ECDSA", hash: HASH[iacaCurve] },
    entries: revokedSerials.map((s) => ({ serialNumber: s, revocationDate: thisUpdate })),
  });
}

/** A device key pair (the holder's) as public JWK. */
export async function deviceJwk(): Promise<Record<string, unknown>> {
  const k = await ecKeys("P-256");
  const jwk = await subtle.exportKey("jwk", k.publicKey);
  return { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y };
}

/** A tiny fake JPEG 2000 (JP2 signature box + filler) of `size` bytes. */
export function fakeJp2(size = 2000): Uint8Array {
  const b = new Uint8Array(size);
  b.set([0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50, 0x20, 0x20, 0x0d, 0x0a, 0x87, 0x0a]);
  for (let i = 12; i < size; i++) b[i] = (i * 31) & 0xff;
  return b;
}

/** Fictional sample person (山田 太郎, My Number 123456789018). */
export function samplePerson(portrait = fakeJp2()): Record<string, unknown> {
  return {
    familyName: "山田",
    givenName: "太郎",
    birthDate: "2000-03-31",
    address: "東京都千代田区霞が関一丁目1番1号",
    sex: "male",
    localGovCode: "011002",
    individualNumber: "123456789018",
    portrait: Buffer.from(portrait).toString("base64"),
  };
}
