// Certification paths of the reference verifier: a leaf up to a trusted IACA (link certificates included).
import "reflect-metadata";
import type { CertificateInfo } from "@iaca/pki";
import { KeyUsageFlags, KeyUsagesExtension } from "@peculiar/x509";

/**
 * Path from a leaf (a DS, a status-list signer) to a trust anchor through untrusted CA/link
 * certificates (signature, validity, CA rules). `what` names the leaf in the error.
 */
export async function buildPath(
  leaf: CertificateInfo,
  anchors: CertificateInfo[],
  pool: CertificateInfo[],
  at: Date,
  what = "DS",
): Promise<{ path: CertificateInfo[] } | { error: string }> {
  const within = (x: CertificateInfo) => at >= x.notBefore && at <= x.notAfter;
  if (!within(leaf))
    return {
      error: `${what} certificate not valid at ${at.toISOString()} (${leaf.notBefore.toISOString()} .. ${leaf.notAfter.toISOString()})`,
    };
  if (anchors.length === 0) return { error: "no trust anchor given" };
  const notes: string[] = [];
  const signs = async (issuer: CertificateInfo, child: CertificateInfo) => {
    try {
      return await child.x509.verify({ publicKey: issuer.x509.publicKey, signatureOnly: true });
    } catch {
      return false;
    }
  };
  const isCa = (x: CertificateInfo) => {
    const ku = x.x509.getExtension(KeyUsagesExtension);
    return x.isCa && (!ku || (ku.usages & KeyUsageFlags.keyCertSign) !== 0);
  };
  const walk = async (cur: CertificateInfo, path: CertificateInfo[]): Promise<CertificateInfo[] | undefined> => {
    for (const a of anchors) {
      if (a.subject !== cur.issuer) continue;
      if (!(await signs(a, cur))) {
        notes.push(`trust anchor "${a.subject}" has the issuer's name but its key did not sign "${cur.subject}"`);
        continue;
      }
      if (!within(a)) {
        notes.push(`trust anchor "${a.subject}" not valid at ${at.toISOString()}`);
        continue;
      }
      if (!isCa(a)) {
        notes.push(`trust anchor "${a.subject}" is not a CA (basicConstraints/keyUsage)`);
        continue;
      }
      return [...path, a];
    }
    if (path.length >= 5) return undefined;
    for (const p of pool) {
      if (p.subject !== cur.issuer || path.some((x) => x.sha256 === p.sha256)) continue;
      if (!(await signs(p, cur))) continue;
      if (!within(p) || !isCa(p)) {
        notes.push(`intermediate/link "${p.subject}" not valid at the time or not a CA`);
        continue;
      }
      const r = await walk(p, [...path, p]);
      if (r) return r;
    }
    return undefined;
  };
  const path = await walk(leaf, [leaf]);
  if (path) return { path };
  return {
    error: `no path from the ${what} to a trusted IACA${notes.length ? `: ${[...new Set(notes)].join("; ")}` : ` (issuer "${leaf.issuer}" unknown)`}`,
  };
}
