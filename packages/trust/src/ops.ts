// Operations-room steps of the DTS: the trust-list signer key (generated in the online HSM, its
// certificate issued by the IACA at a root ceremony: `rootSignCsr(..., { profile: "tsl-signer" })`)
// and the import of IACA/link certificates carried from the root room. The status-list signer
// (`role: "status-signer"`, profile status-signer: no EKU) goes through the same three steps.
import type { CertificateKind, Database, SignerKind } from "@iaca/db";
import type { KeyStore } from "@iaca/hsm";
import {
  type CertificateInfo,
  createCsr,
  csrPem,
  failures,
  fromPemOrDer,
  lintArtifact,
  type PublicKeyInfo,
  parseArtifact,
  parseCertificate,
  publicKeyInfo,
  sha256,
  verifySigned,
} from "@iaca/pki";
import { type AuditSink, clause, type Policy } from "@iaca/policy";
import { DTS_TRUST_LIST_SIGNED } from "./controls.ts";
import { DtsError } from "./paths.ts";
import { EKU_VICAL_SIGNER, type TrustListSigner } from "./vical.ts";

/** The current signer of `role` in this room: newest valid, unrevoked certificate of that kind whose key is here. */
export async function currentDtsSigner(
  db: Database,
  /** A token, or a cluster of nodes holding cloned keys (the key may be on any of them). */
  hsm: Pick<KeyStore, "signer">,
  now = new Date(),
  role: SignerKind = "tsl-signer",
): Promise<{ signer: TrustListSigner; serial: string } | undefined> {
  const row = await db.stores.certificates.dtsSignerAt(now, role);
  if (!row) return undefined;
  return { signer: { certificate: new Uint8Array(row.der), key: await hsm.signer(row.keyRef!) }, serial: row.serial };
}

/** Generates the trust-list signer key in the online HSM and the CSR to carry to the root ceremony. */
export async function signerKeygen(o: {
  db: Database;
  hsm: KeyStore;
  policy: Policy;
  audit: AuditSink;
  actor: string;
  role?: SignerKind;
}) {
  void DTS_TRUST_LIST_SIGNED;
  const role = o.role ?? "tsl-signer";
  const seq = (await o.db.stores.certificates.countKeys(role)) + 1;
  const label = `dts-${role === "tsl-signer" ? "tsl" : "status"}-${seq}-${Date.now().toString(36)}`;
  const key = await o.hsm.generateEcKey(label, { curve: "P-256", actor: o.actor });
  const info: PublicKeyInfo = publicKeyInfo((await o.hsm.getPublicKey(key.uri)).spki);
  const n = o.policy.iaca.name;
  const csr = await createCsr({
    subject: {
      C: n.C,
      ST: n.ST,
      O: o.policy.ds.organization ?? n.O,
      CN: `Japan mdoc ${role === "tsl-signer" ? "Trust" : "Status"} List Signer ${seq}`,
    },
    key: info,
    signer: await o.hsm.signer(key.uri),
  });
  await o.db.stores.certificates.addKey({ uri: key.uri, role, label, spkiSha256: info.fingerprint, csr });
  await o.audit.append({
    actor: o.actor,
    action: "dts.signer.key.generate",
    targets: [key.uri],
    outcome: "success",
    clause: clause("6.1.1"),
    details: { keyFingerprint: info.fingerprint, role },
  });
  return { keyUri: key.uri, csr, csrPem: csrPem(csr), csrSha256: sha256(csr), fingerprint: info.fingerprint };
}

/** Verifies `der` was signed by one of the published IACA keys (roots, or link certificates' subject keys). */
async function issuedByPublishedIaca(db: Database, cert: CertificateInfo): Promise<CertificateInfo | undefined> {
  const rows = await db.stores.certificates.caCertificatesWithKeyId(cert.aki);
  for (const r of rows) {
    const ca = parseCertificate(new Uint8Array(r.der));
    if (ca.subject === cert.issuer && verifySigned(cert.der, ca.spki)) return ca;
  }
  return undefined;
}

/** Installs the trust-list signer certificate from the root ceremony: key in this HSM, EKU, chain, lint. */
export async function signerInstall(o: {
  db: Database;
  hsm: KeyStore;
  policy: Policy;
  audit: AuditSink;
  actor: string;
  data: Uint8Array;
  role?: SignerKind;
}) {
  const role = o.role ?? "tsl-signer";
  const der = fromPemOrDer(o.data)[0];
  if (!der) throw new DtsError("DTS_SIGNER_UNREADABLE", "not a certificate");
  const info = parseCertificate(der);
  if (role === "tsl-signer" && !info.ekus.includes(EKU_VICAL_SIGNER))
    throw new DtsError("DTS_SIGNER_EKU", "the certificate lacks EKU 1.0.18013.5.1.8 (trust-list signer)");
  if (role === "status-signer" && info.ekus.length)
    throw new DtsError("DTS_SIGNER_EKU", "a status-list signer certificate carries no EKU (profile status-signer)");
  const fp = publicKeyInfo(info.spki).fingerprint;
  const key = await o.db.stores.certificates.keyByFingerprint(fp);
  if (key?.role !== role || key.destroyedAt)
    throw new DtsError("DTS_SIGNER_KEY_UNKNOWN", `no ${role} key with fingerprint ${fp} in this room`);
  const issuer = await issuedByPublishedIaca(o.db, info);
  if (!issuer) throw new DtsError("DTS_SIGNER_CHAIN", "the certificate is not signed by a published IACA key");
  const bad = failures(
    lintArtifact(der, { policy: o.policy, issuer: parseCertificate(issuer.der).asn1, profile: role }).results,
  );
  if (bad.length)
    throw new DtsError("DTS_SIGNER_PROFILE", `profile check failed: ${bad.map((b) => b.rule).join(", ")}`);
  await upsertCertificate(o.db, info, role, key.uri);
  await o.audit.append({
    actor: o.actor,
    action: "dts.signer.install",
    targets: [info.serial, key.uri],
    outcome: "success",
    clause: clause("6.1.4"),
    details: { certSha256: info.sha256, role },
  });
  return { serial: info.serial, sha256: info.sha256 };
}

async function upsertCertificate(
  db: Database,
  info: CertificateInfo,
  kind: CertificateKind,
  keyRef: string | null = null,
) {
  const certificates = db.stores.certificates;
  const existing = await certificates.get(info.serial);
  if (existing) {
    if (existing.sha256 !== info.sha256)
      throw new DtsError("DTS_SERIAL_COLLISION", `serial ${info.serial} is already used by another certificate`);
    if (keyRef && !existing.keyRef) await certificates.attachKey(info.serial, keyRef);
    return false;
  }
  await certificates.add({
    serial: info.serial,
    kind,
    subject: info.subject,
    ski: info.ski,
    aki: info.aki || null,
    spkiSha256: publicKeyInfo(info.spki).fingerprint,
    rootGen: 0,
    notBefore: info.notBefore,
    notAfter: info.notAfter,
    der: info.der,
    sha256: info.sha256,
    keyRef,
    installedAt: new Date(),
  });
  return true;
}

/**
 * Publishes IACA roots and link certificates carried from the root room. A link certificate must
 * verify under a root already trusted here; a new root is accepted when a link from a trusted root
 * certifies its key; the very first root only with `bootstrapFingerprint` (its SHA-256, read out at
 * the ceremony).
 */
export async function installCaCertificates(o: {
  db: Database;
  audit: AuditSink;
  actor: string;
  files: Uint8Array[];
  bootstrapFingerprint?: string;
}) {
  const certs = o.files.flatMap((f) => fromPemOrDer(f)).map((d) => parseCertificate(d));
  for (const c of certs) {
    const a = parseArtifact(c.der);
    if (a.kind !== "certificate") throw new DtsError("DTS_CERT_UNREADABLE", "not a certificate");
    const p = c.kind;
    if (p !== "iaca" && p !== "link")
      throw new DtsError("DTS_CERT_KIND", `${c.sha256} is a ${p} certificate, not a root or link`);
  }
  const trusted = (await o.db.stores.certificates.unrevokedRoots()).map((r) => parseCertificate(new Uint8Array(r.der)));
  const installed: string[] = [];
  const isRoot = (c: CertificateInfo) => c.isCa && (!c.aki || c.aki === c.ski);
  // Bootstrap: the first root, pinned by fingerprint.
  if (trusted.length === 0) {
    const first = certs.find((c) => isRoot(c) && c.sha256 === o.bootstrapFingerprint?.toLowerCase());
    if (!first)
      throw new DtsError(
        "DTS_ROOT_UNPINNED",
        "no root is trusted yet: pass the first root's SHA-256 fingerprint to bootstrap",
      );
    if (!verifySigned(first.der, first.spki)) throw new DtsError("DTS_CERT_SIGNATURE", "root self-signature invalid");
    if (await upsertCertificate(o.db, first, "iaca")) installed.push(first.sha256);
    trusted.push(first);
  }
  let progress = true;
  const pending = certs.filter((c) => !trusted.some((t) => t.sha256 === c.sha256));
  while (progress && pending.length) {
    progress = false;
    for (const c of [...pending]) {
      let ok = false;
      if (isRoot(c)) {
        // a root whose key a trusted root certified through a link in this batch (or already published)
        const links = [...certs.filter((l) => !isRoot(l))];
        ok =
          verifySigned(c.der, c.spki) &&
          links.some((l) => l.ski === c.ski && trusted.some((t) => t.ski === l.aki && verifySigned(l.der, t.spki)));
      } else {
        ok = trusted.some((t) => t.ski === c.aki && t.subject === c.issuer && verifySigned(c.der, t.spki));
      }
      if (!ok) continue;
      if (await upsertCertificate(o.db, c, isRoot(c) ? "iaca" : "link")) installed.push(c.sha256);
      if (isRoot(c)) trusted.push(c);
      pending.splice(pending.indexOf(c), 1);
      progress = true;
    }
  }
  // Links whose issuer is the new root (new key certifies old key) become installable once it is trusted.
  if (pending.length)
    throw new DtsError(
      "DTS_CERT_UNTRUSTED",
      `not installed (no path from a trusted root): ${pending.map((p) => p.sha256.slice(0, 16)).join(", ")}`,
    );
  await o.audit.append({
    actor: o.actor,
    action: "dts.ca-certificates.install",
    targets: installed,
    outcome: "success",
    clause: clause("6.1.4"),
    details: { installed: installed.length, offered: certs.length },
  });
  return { installed };
}
