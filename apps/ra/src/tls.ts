import "reflect-metadata";
import { createHash, X509Certificate as NodeX509, randomBytes, webcrypto } from "node:crypto";

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as x509 from "@peculiar/x509";

/**
 * A small software CA for TLS only (client certificates of wallet backends, server and internal
 * certificates of the RA and the issuer). It is NOT the IACA: its key is a file under var/tls
 * (mode 0600), see docs/operations.md. Keys are P-256, certificates ECDSA-SHA-256.
 */
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

export interface Pem {
  certPem: string;
  keyPem: string;
}

export interface IssuedCert extends Pem {
  serial: string;
  spkiSha256: string;
  notAfter: Date;
}

function pemOf(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der)
    .toString("base64")
    .replace(/(.{64})/g, "$1\n");
  return `-----BEGIN ${label}-----\n${b64.trimEnd()}\n-----END ${label}-----\n`;
}

async function newKeys(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"])) as CryptoKeyPair;
}

async function importKey(keyPem: string): Promise<CryptoKey> {
  const der = Buffer.from(keyPem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""), "base64");
  return (await webcrypto.subtle.importKey("pkcs8", der, ALG, false, ["sign"])) as CryptoKey;
}

function serial(): string {
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f;
  return b.toString("hex");
}

/** SHA-256 (hex) of a certificate's SubjectPublicKeyInfo: what the client registry stores. */
export function spkiSha256(certPem: string | Buffer): string {
  const spki = new NodeX509(certPem).publicKey.export({ type: "spki", format: "der" });
  return createHash("sha256").update(spki).digest("hex");
}

export async function createCa(commonName: string, years = 10): Promise<Pem> {
  const keys = await newKeys();
  const now = new Date();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${commonName}, O=mdoc IACA TLS (not the IACA)`,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + years * 365 * 86_400_000),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey("pkcs8", keys.privateKey as CryptoKey);
  return { certPem: cert.toString("pem"), keyPem: pemOf("PRIVATE KEY", pkcs8) };
}

export interface CertRequest {
  commonName: string;
  usage: "server" | "client" | "both";
  dns?: string[];
  ips?: string[];
  days?: number;
}

export async function issueCert(ca: Pem, req: CertRequest): Promise<IssuedCert> {
  const caCert = new x509.X509Certificate(ca.certPem);
  const signingKey = await importKey(ca.keyPem);
  const keys = await newKeys();
  const now = new Date();
  const notAfter = new Date(now.getTime() + (req.days ?? 397) * 86_400_000);
  const eku: string[] = [];
  if (req.usage !== "client") eku.push(x509.ExtendedKeyUsage.serverAuth);
  if (req.usage !== "server") eku.push(x509.ExtendedKeyUsage.clientAuth);
  const san: x509.JsonGeneralName[] = [
    ...(req.dns ?? []).map((value) => ({ type: "dns" as const, value })),
    ...(req.ips ?? []).map((value) => ({ type: "ip" as const, value })),
  ];
  const sn = serial();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: sn,
    subject: `CN=${req.commonName}`,
    issuer: caCert.subject,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter,
    signingKey,
    publicKey: keys.publicKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension(eku, false),
      ...(san.length ? [new x509.SubjectAlternativeNameExtension(san, false)] : []),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey("pkcs8", keys.privateKey as CryptoKey);
  const certPem = cert.toString("pem");
  return { certPem, keyPem: pemOf("PRIVATE KEY", pkcs8), serial: sn, spkiSha256: spkiSha256(certPem), notAfter };
}

function writePrivate(path: string, text: string): void {
  writeFileSync(path, text, { mode: 0o600 });
  chmodSync(path, 0o600);
}

/** Loads `<dir>/<name>.crt|.key`, creating the CA on first use. */
export async function ensureCa(dir: string, name: string, commonName: string): Promise<Pem> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const crt = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  if (existsSync(crt) && existsSync(key))
    return { certPem: readFileSync(crt, "utf8"), keyPem: readFileSync(key, "utf8") };
  const ca = await createCa(commonName);
  writePrivate(key, ca.keyPem);
  writeFileSync(crt, ca.certPem);
  return ca;
}

/** Loads `<dir>/<name>.crt|.key`, issuing it from `ca` on first use (or when it expires within 30 days). */
export async function ensureCert(dir: string, name: string, ca: Pem, req: CertRequest): Promise<Pem> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const crt = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  if (existsSync(crt) && existsSync(key)) {
    const certPem = readFileSync(crt, "utf8");
    const c = new NodeX509(certPem);
    const issuedByCa = c.checkIssued(new NodeX509(ca.certPem));
    if (issuedByCa && new Date(c.validTo).getTime() > Date.now() + 30 * 86_400_000)
      return { certPem, keyPem: readFileSync(key, "utf8") };
  }
  const issued = await issueCert(ca, req);
  writePrivate(key, issued.keyPem);
  writeFileSync(crt, issued.certPem);
  return issued;
}
