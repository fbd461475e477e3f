// The PKI's public records: every certificate a room issued or installed (with the DS lifecycle
// columns), the CRL/ARL history, and the references to the HSM keys they certify. One store for
// the three tables: destroying a root key clears its certificate's key reference and marks the
// key destroyed in one transaction, and installing a list marks what it revokes in the same one.
import type { Row, Sql } from "../sql.ts";
import { count, record } from "./values.ts";

export type CertificateKind = "iaca" | "link" | "ds" | "tsl-signer" | "status-signer";
export type ListKind = "crl" | "arl";
/** The signers the DTS side uses: of the trust list (VICAL) and of the status lists. */
export type SignerKind = "tsl-signer" | "status-signer";
export type KeyRole = "root" | "ds" | "tsl-signer" | "status-signer";

/** Every kind the IACA signs: the CRL and the ARL each list the revoked ones of all of them (one scope). */
export const LISTED_KINDS: readonly CertificateKind[] = ["iaca", "link", "ds", "tsl-signer", "status-signer"];

export interface NewCertificate {
  /** Lower-case hex. */
  serial: string;
  kind: CertificateKind;
  subject: string;
  /** SHA-1 key identifiers, hex. */
  ski: string;
  aki: string | null;
  spkiSha256: string;
  /** Generation of the root key that signed it (0: not known in this room). */
  rootGen: number;
  notBefore: Date;
  notAfter: Date;
  der: Uint8Array;
  sha256: string;
  /** PKCS#11 URI of the private key where this room holds it. */
  keyRef?: string | null;
  activatesAt?: Date | null;
  installedAt?: Date | null;
}

export interface CertificateRecord extends Required<NewCertificate> {
  retiredAt: Date | null;
  revokedAt: Date | null;
  revocationReason: string | null;
  createdAt: Date;
}

export interface NewList {
  kind: ListKind;
  number: bigint;
  /** Generation of the root key that signed it: the list covers what that key signed. */
  rootGen: number;
  thisUpdate: Date;
  nextUpdate: Date;
  der: Uint8Array;
  sha256: string;
}

export interface ListRecord extends NewList {
  createdAt: Date;
}

export interface NewKeyRecord {
  /** pkcs11: URI. */
  uri: string;
  role: KeyRole;
  label: string;
  spkiSha256: string;
  /** The PKCS#10 request carried to the root room (DS and trust-list signer keys). */
  csr?: Uint8Array | null;
}

export interface KeyRecord extends Required<NewKeyRecord> {
  createdAt: Date;
  destroyedAt: Date | null;
}

/** What the rotation job's trust-list step compares between passes (see publicationState). */
export interface PublicationState {
  /** sha256:revoked_at of every root and link certificate, or null when there is none. */
  certificates: string | null;
  /** kind+number of the latest CRL and ARL, or null when there is none. */
  lists: string | null;
}

const CERT = record<CertificateRecord>({
  serial: "value",
  kind: "value",
  subject: "value",
  ski: "value",
  aki: "value",
  spkiSha256: "value",
  rootGen: "number",
  notBefore: "value",
  notAfter: "value",
  der: "bytes",
  sha256: "value",
  keyRef: "value",
  activatesAt: "value",
  installedAt: "value",
  retiredAt: "value",
  revokedAt: "value",
  revocationReason: "value",
  createdAt: "value",
});
const LIST = record<ListRecord>({
  kind: "value",
  number: "int8",
  rootGen: "number",
  thisUpdate: "value",
  nextUpdate: "value",
  der: "bytes",
  sha256: "value",
  createdAt: "value",
});
const KEY = record<KeyRecord>({
  uri: "value",
  role: "value",
  label: "value",
  spkiSha256: "value",
  csr: "bytes",
  createdAt: "value",
  destroyedAt: "value",
});

const one = <T>(rows: Row[], map: (r: Row) => T): T | undefined => (rows[0] ? map(rows[0]) : undefined);

/** pki_certificate, pki_crl and pki_key (owner: packages/pki's ceremonies; read by the issuer, DTS and jobs). */
export class CertificateStore {
  private readonly sql: Sql;
  constructor(sql: Sql) {
    this.sql = sql;
  }

  // ---------------------------------------------------------------- certificates

  async get(serial: string): Promise<CertificateRecord | undefined> {
    return one(
      await this.sql.query(`SELECT ${CERT.select} FROM pki_certificate WHERE serial = $1`, [serial]),
      CERT.read,
    );
  }

  /** Stores a new certificate (a serial is never stored twice: the caller checks `get` first). */
  async add(c: NewCertificate): Promise<CertificateRecord> {
    const rows = await this.sql.query(
      `INSERT INTO pki_certificate (serial, kind, subject, ski, aki, spki_sha256, root_gen, not_before, not_after, der,
         sha256, key_ref, activates_at, installed_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING ${CERT.select}`,
      [
        c.serial,
        c.kind,
        c.subject,
        c.ski,
        c.aki,
        c.spkiSha256,
        c.rootGen,
        c.notBefore,
        c.notAfter,
        Buffer.from(c.der),
        c.sha256,
        c.keyRef ?? null,
        c.activatesAt ?? null,
        c.installedAt ?? null,
      ],
    );
    return CERT.read(rows[0]!);
  }

  async count(kind?: CertificateKind): Promise<number> {
    return count(
      kind
        ? await this.sql.query<{ n: unknown }>("SELECT count(*)::int AS n FROM pki_certificate WHERE kind = $1", [kind])
        : await this.sql.query<{ n: unknown }>("SELECT count(*)::int AS n FROM pki_certificate"),
    );
  }

  /** Certificates of these kinds, oldest notBefore first. */
  async ofKinds(kinds: readonly CertificateKind[]): Promise<CertificateRecord[]> {
    const rows = await this.sql.query(
      `SELECT ${CERT.select} FROM pki_certificate WHERE kind = ANY($1::text[]) ORDER BY not_before, serial`,
      [kinds],
    );
    return rows.map(CERT.read);
  }

  /** Every certificate, the latest activation first (the issuer's view of keys, anchors and links). */
  async byActivation(): Promise<CertificateRecord[]> {
    const rows = await this.sql.query(
      `SELECT ${CERT.select} FROM pki_certificate ORDER BY activates_at DESC NULLS LAST, not_before DESC`,
    );
    return rows.map(CERT.read);
  }

  /** A certificate of this public key (SPKI SHA-256), if any. */
  async forKey(spkiSha256: string): Promise<CertificateRecord | undefined> {
    return one(
      await this.sql.query(`SELECT ${CERT.select} FROM pki_certificate WHERE spki_sha256 = $1 LIMIT 1`, [spkiSha256]),
      CERT.read,
    );
  }

  /** Roots and link certificates with this subject key identifier (the possible issuers of a certificate). */
  async caCertificatesWithKeyId(ski: string): Promise<CertificateRecord[]> {
    const rows = await this.sql.query(
      `SELECT ${CERT.select} FROM pki_certificate WHERE kind IN ('iaca', 'link') AND ski = $1`,
      [ski],
    );
    return rows.map(CERT.read);
  }

  /** The newest root whose key this room holds. */
  async newestRootWithKey(): Promise<CertificateRecord | undefined> {
    return one(
      await this.sql.query(
        `SELECT ${CERT.select} FROM pki_certificate WHERE kind = 'iaca' AND key_ref IS NOT NULL ORDER BY root_gen DESC LIMIT 1`,
      ),
      CERT.read,
    );
  }

  /** The first root (lowest generation) this room knows. */
  async firstRoot(): Promise<CertificateRecord | undefined> {
    return one(
      await this.sql.query(
        `SELECT ${CERT.select} FROM pki_certificate WHERE kind = 'iaca' ORDER BY root_gen ASC LIMIT 1`,
      ),
      CERT.read,
    );
  }

  async rootOfGeneration(gen: number): Promise<CertificateRecord | undefined> {
    return one(
      await this.sql.query(`SELECT ${CERT.select} FROM pki_certificate WHERE kind = 'iaca' AND root_gen = $1 LIMIT 1`, [
        gen,
      ]),
      CERT.read,
    );
  }

  async unrevokedRoots(): Promise<CertificateRecord[]> {
    const rows = await this.sql.query(
      `SELECT ${CERT.select} FROM pki_certificate WHERE kind = 'iaca' AND revoked_at IS NULL`,
    );
    return rows.map(CERT.read);
  }

  /** Gives a stored certificate the key this room holds for it. */
  async attachKey(serial: string, keyRef: string): Promise<void> {
    await this.sql.query("UPDATE pki_certificate SET key_ref = $2 WHERE serial = $1", [serial, keyRef]);
  }

  async markRevoked(serial: string, revokedAt: Date, reason: string): Promise<void> {
    await this.sql.query("UPDATE pki_certificate SET revoked_at = $2, revocation_reason = $3 WHERE serial = $1", [
      serial,
      revokedAt,
      reason,
    ]);
  }

  /**
   * Revoked certificates a new list names, whichever root key signs it: every listed kind that
   * expires after `expiresAfter`, in revocation order. Every list is complete for the IACA's name,
   * so verifiers that keep one CRL per issuer name (GnuTLS) and those that pick the list by the
   * signing key (openssl) reach the same answer.
   */
  async revokedForList(expiresAfter: Date): Promise<CertificateRecord[]> {
    const rows = await this.sql.query(
      `SELECT ${CERT.select} FROM pki_certificate
        WHERE kind = ANY($1::text[]) AND revoked_at IS NOT NULL AND not_after > $2 ORDER BY revoked_at ASC`,
      [LISTED_KINDS, expiresAfter],
    );
    return rows.map(CERT.read);
  }

  /**
   * Per root key generation, when the last certificate it signed expires: a key's CRL and ARL must
   * stay current until then (pki.crl.per-key). Ascending by generation.
   */
  async signedUntilByGeneration(): Promise<{ rootGen: number; until: Date }[]> {
    const rows = await this.sql.query<{ root_gen: number; until: Date | string }>(
      `SELECT root_gen, max(not_after) AS until FROM pki_certificate
        WHERE kind = ANY($1::text[]) AND root_gen > 0 GROUP BY root_gen ORDER BY root_gen`,
      [LISTED_KINDS],
    );
    return rows.map((r) => ({ rootGen: Number(r.root_gen), until: new Date(r.until) }));
  }

  /** Test and simulation aid: a room that never publishes link certificates. */
  async forgetLinkCertificates(): Promise<void> {
    await this.sql.query("DELETE FROM pki_certificate WHERE kind = 'link'");
  }

  /** What the published trust material is derived from, to tell whether it changed (see PublicationState). */
  async publicationState(): Promise<PublicationState> {
    const [r] = await this.sql.query<{ certificates: string | null; lists: string | null }>(
      `SELECT (SELECT string_agg(sha256 || ':' || coalesce(revoked_at::text, ''), ',' ORDER BY sha256)
                 FROM pki_certificate WHERE kind IN ('iaca', 'link')) AS certificates,
              (SELECT string_agg(kind || root_gen::text || ':' || number::text, ',' ORDER BY kind, root_gen) FROM pki_crl
                WHERE (kind, root_gen, number) IN (SELECT kind, root_gen, max(number) FROM pki_crl GROUP BY kind, root_gen))
                AS lists`,
    );
    return { certificates: r?.certificates ?? null, lists: r?.lists ?? null };
  }

  // ---------------------------------------------------------------- Document Signer lifecycle

  /** Installed DS certificates with a key in this room (revoked ones too), in activation order. */
  async installedDocumentSigners(): Promise<CertificateRecord[]> {
    const rows = await this.sql.query(
      `SELECT ${CERT.select} FROM pki_certificate WHERE kind = 'ds' AND key_ref IS NOT NULL AND installed_at IS NOT NULL
        ORDER BY activates_at ASC, not_before ASC`,
    );
    return rows.map(CERT.read);
  }

  /** Installed, unrevoked DS certificates with a key here, the latest activation first: who may sign now. */
  async signerCandidates(): Promise<CertificateRecord[]> {
    const rows = await this.sql.query(
      `SELECT ${CERT.select} FROM pki_certificate
        WHERE kind = 'ds' AND key_ref IS NOT NULL AND installed_at IS NOT NULL AND revoked_at IS NULL
        ORDER BY activates_at DESC`,
    );
    return rows.map(CERT.read);
  }

  /** Records a DS certificate installed here: its key, when, and when it activates. */
  async recordInstalled(serial: string, o: { keyRef: string; installedAt: Date; activatesAt: Date }): Promise<void> {
    await this.sql.query(
      "UPDATE pki_certificate SET key_ref = $2, installed_at = $3, activates_at = $4 WHERE serial = $1",
      [serial, o.keyRef, o.installedAt, o.activatesAt],
    );
  }

  /** Retires, as of `activatesAt`, every other installed DS that activated before it and is not retired yet. */
  async retirePredecessors(serial: string, activatesAt: Date): Promise<void> {
    await this.sql.query(
      `UPDATE pki_certificate SET retired_at = $2
        WHERE kind = 'ds' AND serial <> $1 AND retired_at IS NULL AND activates_at < $2 AND key_ref IS NOT NULL`,
      [serial, activatesAt],
    );
  }

  /** Un-retires the other DS certificates retired as of `retiredAt` (a successor stopped before it took over); returns how many. */
  async restorePredecessors(serial: string, retiredAt: Date): Promise<number> {
    const rows = await this.sql.query(
      `UPDATE pki_certificate SET retired_at = NULL WHERE kind = 'ds' AND serial <> $1 AND retired_at = $2
        RETURNING serial`,
      [serial, retiredAt],
    );
    return rows.length;
  }

  /** The DS stops signing at `stoppedAt`, whatever retirement was planned for it. */
  async markStopped(serial: string, stoppedAt: Date): Promise<void> {
    await this.sql.query("UPDATE pki_certificate SET retired_at = $2 WHERE serial = $1", [serial, stoppedAt]);
  }

  /** Retires a DS as of `retiredAt` unless it is retired already. */
  async markRetired(serial: string, retiredAt: Date): Promise<void> {
    await this.sql.query("UPDATE pki_certificate SET retired_at = $2 WHERE serial = $1 AND retired_at IS NULL", [
      serial,
      retiredAt,
    ]);
  }

  // ---------------------------------------------------------------- DTS signers (trust list, status lists)

  /** The newest valid, unrevoked signer certificate of `kind` whose key is here. */
  async dtsSignerAt(now: Date, kind: SignerKind = "tsl-signer"): Promise<CertificateRecord | undefined> {
    return one(
      await this.sql.query(
        `SELECT ${CERT.select} FROM pki_certificate
          WHERE kind = $2 AND key_ref IS NOT NULL AND revoked_at IS NULL AND not_before <= $1 AND not_after > $1
          ORDER BY not_before DESC LIMIT 1`,
        [now, kind],
      ),
      CERT.read,
    );
  }

  /** The unrevoked signer certificate of `kind` with a key here that is valid the longest. */
  async lastExpiringDtsSigner(kind: SignerKind = "tsl-signer"): Promise<CertificateRecord | undefined> {
    return one(
      await this.sql.query(
        `SELECT ${CERT.select} FROM pki_certificate
          WHERE kind = $1 AND key_ref IS NOT NULL AND revoked_at IS NULL ORDER BY not_after DESC LIMIT 1`,
        [kind],
      ),
      CERT.read,
    );
  }

  // ---------------------------------------------------------------- CRL and ARL

  /**
   * The list with the highest number: of one kind and root key generation when given, else of all
   * (every list of the IACA draws its number from one sequence).
   */
  async latestList(kind?: ListKind, rootGen?: number): Promise<ListRecord | undefined> {
    const rows = await this.sql.query(
      `SELECT ${LIST.select} FROM pki_crl
        WHERE ($1::text IS NULL OR kind = $1) AND ($2::int IS NULL OR root_gen = $2) ORDER BY number DESC LIMIT 1`,
      [kind ?? null, rootGen ?? null],
    );
    return one(rows, LIST.read);
  }

  /** The latest CRL and the latest ARL of every root key generation (those there are), by generation. */
  async latestLists(): Promise<ListRecord[]> {
    const rows = await this.sql.query(
      `SELECT DISTINCT ON (root_gen, kind) ${LIST.select} FROM pki_crl WHERE kind IN ('crl', 'arl')
        ORDER BY root_gen, kind, number DESC`,
    );
    return rows.map(LIST.read);
  }

  /** Stores a list this room signed. */
  async addList(l: NewList): Promise<void> {
    await insertList(this.sql, l);
  }

  /**
   * Stores a verified list carried from the root room and, in the same transaction, marks the
   * certificates it revokes (every list names every revoked certificate of the IACA). Returns the
   * serials newly marked, sorted.
   */
  async installList(l: NewList, revoked: readonly { serial: string; at: Date }[] = []): Promise<string[]> {
    return this.sql.transaction(async (tx) => {
      await insertList(tx, l);
      if (revoked.length === 0) return [];
      const rows = await tx.query<{ serial: string }>(
        `UPDATE pki_certificate AS c SET revoked_at = v.at
           FROM unnest($1::text[], $2::timestamptz[]) AS v (serial, at)
          WHERE c.serial = v.serial AND c.revoked_at IS NULL AND c.kind = ANY($3::text[])
          RETURNING c.serial`,
        [revoked.map((r) => r.serial), revoked.map((r) => r.at), LISTED_KINDS],
      );
      return rows.map((r) => r.serial).sort();
    });
  }

  // ---------------------------------------------------------------- HSM key records

  async addKey(k: NewKeyRecord): Promise<void> {
    await this.sql.query("INSERT INTO pki_key (uri, role, label, spki_sha256, csr) VALUES ($1, $2, $3, $4, $5)", [
      k.uri,
      k.role,
      k.label,
      k.spkiSha256,
      k.csr ? Buffer.from(k.csr) : null,
    ]);
  }

  async countKeys(role: KeyRole): Promise<number> {
    return count(
      await this.sql.query<{ n: unknown }>("SELECT count(*)::int AS n FROM pki_key WHERE role = $1", [role]),
    );
  }

  async keyByFingerprint(spkiSha256: string): Promise<KeyRecord | undefined> {
    return one(
      await this.sql.query(`SELECT ${KEY.select} FROM pki_key WHERE spki_sha256 = $1`, [spkiSha256]),
      KEY.read,
    );
  }

  /** Keys of a role not destroyed yet. */
  async liveKeys(role: KeyRole): Promise<KeyRecord[]> {
    const rows = await this.sql.query(`SELECT ${KEY.select} FROM pki_key WHERE role = $1 AND destroyed_at IS NULL`, [
      role,
    ]);
    return rows.map(KEY.read);
  }

  /**
   * Records a key destroyed in the HSM (the first time counts). With `certificate`, that
   * certificate no longer names the key, in the same transaction.
   */
  async recordKeyDestroyed(uri: string, destroyedAt: Date, certificate?: string): Promise<void> {
    const mark = (sql: Sql) =>
      sql.query("UPDATE pki_key SET destroyed_at = $2 WHERE uri = $1 AND destroyed_at IS NULL", [uri, destroyedAt]);
    if (certificate === undefined) {
      await mark(this.sql);
      return;
    }
    await this.sql.transaction(async (tx) => {
      await mark(tx);
      await tx.query("UPDATE pki_certificate SET key_ref = NULL WHERE serial = $1", [certificate]);
    });
  }
}

async function insertList(sql: Sql, l: NewList): Promise<void> {
  await sql.query(
    `INSERT INTO pki_crl (kind, number, root_gen, this_update, next_update, der, sha256)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [l.kind, l.number.toString(), l.rootGen, l.thisUpdate, l.nextUpdate, Buffer.from(l.der), l.sha256],
  );
}
