import type { Sql } from "@iaca/db";
import { parseCertificate, sha256 } from "@iaca/pki";
import type { PublishedCertificateInput } from "@iaca/trust";

const KIND = {
  iaca: "iaca",
  link: "link",
  ds: "ds",
  "trust-list-signer": "tsl-signer",
  "status-list-signer": "status-signer",
} as const;

/** Writes certificates into packages/pki's pki_certificate table the way the ceremonies record them. */
export async function insertCertificates(
  sql: Sql,
  certs: PublishedCertificateInput[],
  keyRefs: Record<string, string> = {},
) {
  for (const c of certs) {
    const i = parseCertificate(c.der);
    await sql.query(
      `INSERT INTO pki_certificate (serial, kind, subject, ski, aki, spki_sha256, root_gen, not_before, not_after, der, sha256,
                                    key_ref, activates_at, installed_at, retired_at, revoked_at)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16)`,
      [
        i.serial,
        KIND[c.kind],
        i.subject,
        i.ski,
        i.aki || null,
        sha256(i.spki),
        1,
        i.notBefore,
        i.notAfter,
        Buffer.from(c.der),
        i.sha256,
        keyRefs[i.sha256] ?? null,
        c.activeFrom ?? null,
        c.publishedAt ?? null,
        c.activeUntil ?? null,
        c.revokedAt ?? null,
      ],
    );
  }
}
