// Ceremony steps for the two rooms (seed 4(1) ク/ケ). The root room runs root*, the operations room
// runs ds*; they exchange only files (CSR in, certificates and CRLs out). Every step is authorized
// (operators, dual control), lints before it signs, stores what it made and writes audit events.
import { writeFileSync } from "node:fs";
import type { CertificateKind, Database } from "@iaca/db";
import type { KeyStore } from "@iaca/hsm";
import { type AuditSink, addDuration, clause, IacaError, type Policy } from "@iaca/policy";
import { AsnConvert } from "@peculiar/asn1-schema";
import type { Certificate } from "@peculiar/asn1-x509";
import { AuthorityKeyIdentifier } from "@peculiar/asn1-x509";
import { parseCertificate } from "./certificate.ts";
import { CONTROLS } from "./controls.ts";
import { checkCsr, createCsr, csrPem } from "./csr.ts";
import { hex } from "./der.ts";
import { crlNumberOf, detectCertProfile, parseArtifact } from "./lint.ts";
import { OID } from "./oids.ts";
import { CeremonyError } from "./operators.ts";
import { plan } from "./planner.ts";
import {
  crlTbs,
  dsTbs,
  findExtension,
  iacaTbs,
  issuerInfo,
  linkTbs,
  nameText,
  period,
  publicKeyInfo,
  sha256,
  statusSignerTbs,
  tslSignerTbs,
} from "./profiles.ts";
import { actorOf, recordStep as record } from "./record.ts";
import { type Signed, signCertificate, signCrl, verifySigned } from "./sign.ts";
import { assertCanSign, usagePeriod } from "./usage.ts";

/** A witnessed record of one ceremony step: operators, artifacts with SHA-256, fingerprints, audit ids. */
export class Transcript {
  readonly lines: string[] = [];
  readonly step: string;
  readonly policy: Policy;
  constructor(step: string, policy: Policy) {
    this.step = step;
    this.policy = policy;
  }
  add(key: string, value: string): void {
    this.lines.push(`${key.padEnd(22)} ${value}`);
  }
  render(actors: string[]): string {
    const sig = actors.map((a) => `  ${a.padEnd(20)} signature: ______________________  date: __________`);
    return [
      `IACA ceremony transcript: ${this.step}`,
      `policy version         ${this.policy.version}`,
      ...this.lines,
      "",
      "Operators and witnesses (sign on paper; compare the fingerprints above out of band):",
      ...sig,
      "  witness              signature: ______________________  date: __________",
      "",
    ].join("\n");
  }
  write(path: string, actors: string[]): void {
    writeFileSync(path, this.render(actors));
  }
}

export interface Room {
  policy: Policy;
  db: Database;
  hsm: KeyStore;
  audit: AuditSink;
  /** Verified operators ("op:alice"), from authorize(). */
  actors: string[];
  now?: () => Date;
  transcript?: Transcript;
}

const nowOf = (r: Pick<Room, "now">) => (r.now ? r.now() : new Date());

function artifact(r: Room, name: string, s: { sha256: string }) {
  r.transcript?.add(name, `sha256 ${s.sha256}`);
}

async function storeCert(
  r: Room,
  signed: { der: Uint8Array; sha256: string },
  extra: {
    kind: CertificateKind;
    rootGen: number;
    keyRef?: string | null;
    activatesAt?: Date | null;
    installedAt?: Date | null;
  },
) {
  const cert = parseCertificate(signed.der).asn1;
  const t = cert.tbsCertificate;
  const key = publicKeyInfo(new Uint8Array(AsnConvert.serialize(t.subjectPublicKeyInfo)));
  const akiExt = findExtension(t.extensions, OID.aki);
  const aki = akiExt ? AsnConvert.parse(akiExt.extnValue.buffer, AuthorityKeyIdentifier).keyIdentifier : undefined;
  const serial = hex(t.serialNumber);
  // pki.pubkey.archived / pki.serial.random: a stored certificate is never replaced by another one.
  void CONTROLS.publicKeyArchived;
  const existing = await r.db.stores.certificates.get(serial);
  if (existing) {
    if (existing.sha256 !== signed.sha256)
      throw new CeremonyError("SERIAL_COLLISION", `serial ${serial} already used by another certificate`, {
        control: CONTROLS.serialRandom.id,
      });
    return existing;
  }
  return r.db.stores.certificates.add({
    serial,
    kind: extra.kind,
    subject: nameText(t.subject),
    ski: hex(key.ski),
    aki: aki ? hex(aki.buffer) : null,
    spkiSha256: key.fingerprint,
    rootGen: extra.rootGen,
    notBefore: t.validity.notBefore.getTime(),
    notAfter: t.validity.notAfter.getTime(),
    der: signed.der,
    sha256: signed.sha256,
    keyRef: extra.keyRef ?? null,
    activatesAt: extra.activatesAt ?? null,
    installedAt: extra.installedAt ?? null,
  });
}

/** The newest root whose key this room holds. */
export async function currentRoot(db: Database) {
  const row = await db.stores.certificates.newestRootWithKey();
  if (!row) throw new CeremonyError("ROOT_MISSING", "no IACA root in this room's database: run `iaca root init`");
  return { row, cert: parseCertificate(row.der).asn1, keyRef: row.keyRef! };
}

async function freshSerialCheck(db: Database, tbsSerial: ArrayBuffer) {
  void CONTROLS.serialRandom;
  if (await db.stores.certificates.get(hex(tbsSerial)))
    throw new CeremonyError("SERIAL_COLLISION", "random serial collided; run the step again", {
      control: CONTROLS.serialRandom.id,
    });
}

// ---------------------------------------------------------------- root room

export async function rootInit(r: Room, opts: { at?: Date } = {}) {
  if (await r.db.stores.certificates.firstRoot())
    throw new CeremonyError("ROOT_EXISTS", "this room already has a root: use `iaca root rekey`");
  const at = opts.at ?? nowOf(r);
  const label = "iaca-root-1";
  const key = await r.hsm.generateEcKey(label, { curve: r.policy.iaca.key.curve, actor: r.actors[0] });
  const info = publicKeyInfo((await r.hsm.getPublicKey(key.uri)).spki);
  await r.db.stores.certificates.addKey({ uri: key.uri, role: "root", label, spkiSha256: info.fingerprint });
  const tbs = iacaTbs({ policy: r.policy, key: info, period: period(at, addDuration(at, r.policy.iaca.validity)) });
  const signed = await signCertificate(tbs, await r.hsm.signer(key.uri), { profile: "iaca", policy: r.policy });
  const row = await storeCert(r, signed, { kind: "iaca", rootGen: 1, keyRef: key.uri });
  r.transcript?.add("root key", key.uri);
  r.transcript?.add("root key fingerprint", `sha256 ${info.fingerprint}`);
  artifact(r, "iaca.pem", signed);
  await record(r, "root.init", clause("6.1.1"), [row.serial, key.uri], {
    certSha256: signed.sha256,
    keyFingerprint: info.fingerprint,
    lint: signed.lint.filter((x) => x.status === "PASS").length,
  });
  return { cert: signed, serial: row.serial, keyUri: key.uri };
}

/**
 * Signs a DS certificate from a CSR (proof of possession checked); notBefore may be in the future (pre-signing).
 * With `profile: "tsl-signer"` it signs the DTS's trust-list signer instead (EKU 1.0.18013.5.1.8, CN `commonName`),
 * with `profile: "status-signer"` the status-list signer (no EKU, 18013-5 Table B.9, CN `commonName`).
 */
export async function rootSignCsr(
  r: Room,
  csrData: Uint8Array,
  opts: {
    notBefore?: Date;
    seq?: number;
    profile?: "ds" | "tsl-signer" | "status-signer";
    commonName?: string;
    /** SHA-256 (hex) of the CSR's DER as recorded in the operations room (CP/CPS 4.3.1 step 1). */
    expectSha256?: string;
  } = {},
) {
  const profile = opts.profile ?? "ds";
  // pki.csr.key-delivery: the certified key is the key inside the checked PKCS#10 request, nothing else.
  void CONTROLS.csrKeyDelivery;
  const csr = checkCsr(csrData);
  if (opts.expectSha256 !== undefined && sha256(csr.der) !== opts.expectSha256.trim().toLowerCase())
    throw new CeremonyError(
      "CSR_DIGEST_MISMATCH",
      `the CSR's SHA-256 is ${sha256(csr.der)}, not the ${opts.expectSha256} recorded in the operations room: do not sign`,
      { control: CONTROLS.csrKeyDelivery.id },
    );
  // pki.profile.algorithms: a DS key on the policy's curve only (the linter accepts any of the three)
  if (profile === "ds" && csr.key.curve !== r.policy.ds.key.curve)
    throw new CeremonyError(
      "CSR_KEY_POLICY",
      `the CSR's key is on ${csr.key.curve}; policy ds.key.curve is ${r.policy.ds.key.curve}`,
      { control: CONTROLS.algorithms.id },
    );
  const root = await currentRoot(r.db);
  if (root.row.revokedAt)
    throw new CeremonyError(
      "ROOT_REVOKED",
      `the current root ${root.row.serial} is revoked (${root.row.revocationReason}): re-key before signing`,
      { control: CONTROLS.compromiseNoFurtherUse.id },
    );
  const certified = await r.db.stores.certificates.forKey(csr.key.fingerprint);
  if (certified)
    throw new CeremonyError(
      "KEY_ALREADY_CERTIFIED",
      `the CSR's key already has certificate ${certified.serial}: generate a new key (re-key, never renewal)`,
      { control: CONTROLS.rekeyNewKey.id },
    );
  const issuer = issuerInfo(root.cert);
  const nb = opts.notBefore ?? nowOf(r);
  // never past the root's notAfter (asn1 Time.getTime() gives a Date)
  const rootEnd = root.cert.tbsCertificate.validity.notAfter.getTime();
  const natural = addDuration(nb, r.policy.ds.validity);
  const na = new Date(Math.min(natural.getTime(), rootEnd.getTime()));
  const seq = opts.seq ?? (await r.db.stores.certificates.count("ds")) + 1;
  const signerOf = { policy: r.policy, issuer, key: csr.key, period: period(nb, na), gen: root.row.rootGen };
  const tbs =
    profile === "tsl-signer"
      ? tslSignerTbs({ ...signerOf, commonName: opts.commonName ?? "Japan mdoc Trust List Signer" })
      : profile === "status-signer"
        ? statusSignerTbs({ ...signerOf, commonName: opts.commonName ?? "Japan mdoc Status List Signer" })
        : dsTbs({ ...signerOf, seq });
  await freshSerialCheck(r.db, tbs.serialNumber);
  const signed = await signCertificate(tbs, await r.hsm.signer(root.keyRef), { profile, policy: r.policy, issuer });
  const row = await storeCert(r, signed, {
    kind: profile,
    rootGen: root.row.rootGen,
    activatesAt: profile === "ds" ? nb : null,
  });
  r.transcript?.add("CSR", `sha256 ${sha256(csr.der)}`);
  r.transcript?.add("DS key fingerprint", `sha256 ${csr.key.fingerprint}  (compare with the operations room)`);
  artifact(r, `ds ${row.serial}`, signed);
  const action = profile === "ds" ? "ds.certificate.issue" : `${profile}.certificate.issue`;
  await record(r, action, clause("4.3.1"), [row.serial], {
    csrSha256: sha256(csr.der),
    keyFingerprint: csr.key.fingerprint,
    certSha256: signed.sha256,
    notBefore: nb.toISOString(),
    notAfter: na.toISOString(),
    rootGen: root.row.rootGen,
    capped: natural > rootEnd,
  });
  return { cert: signed, serial: row.serial, fingerprint: csr.key.fingerprint };
}

/**
 * New root key and self-signed certificate with the same name, plus both link certificates.
 * After a compromise (the current root is revoked) no link is made: the old key must not vouch
 * for the new one, nor the new key for the old; verifiers re-anchor on the new root out of band.
 */
export async function rootRekey(r: Room, opts: { at?: Date } = {}) {
  void CONTROLS.linkOnRekey;
  const old = await currentRoot(r.db);
  const at = opts.at ?? nowOf(r);
  const gen = old.row.rootGen + 1;
  const label = `iaca-root-${gen}`;
  const key = await r.hsm.generateEcKey(label, { curve: r.policy.iaca.key.curve, actor: r.actors[0] });
  const info = publicKeyInfo((await r.hsm.getPublicKey(key.uri)).spki);
  await r.db.stores.certificates.addKey({ uri: key.uri, role: "root", label, spkiSha256: info.fingerprint });
  const oldIssuer = issuerInfo(old.cert);
  const name = old.cert.tbsCertificate.subject;
  const root = await signCertificate(
    iacaTbs({ policy: r.policy, key: info, name, period: period(at, addDuration(at, r.policy.iaca.validity)), gen }),
    await r.hsm.signer(key.uri),
    { profile: "iaca", policy: r.policy },
  );
  const newIssuer = issuerInfo(parseCertificate(root.der).asn1);
  const oldEnd = old.cert.tbsCertificate.validity.notAfter.getTime();
  const linkPeriod = period(at, oldEnd);
  const compromised = old.row.revokedAt != null;
  const oldToNew = compromised
    ? undefined
    : await signCertificate(
        linkTbs({
          policy: r.policy,
          rootName: name,
          subjectKey: info,
          issuerSki: oldIssuer.key.ski,
          issuerCurve: oldIssuer.key.curve,
          issuerGen: old.row.rootGen,
          period: linkPeriod,
        }),
        await r.hsm.signer(old.keyRef),
        { profile: "link", policy: r.policy, issuer: oldIssuer },
      );
  const newToOld = compromised
    ? undefined
    : await signCertificate(
        linkTbs({
          policy: r.policy,
          rootName: name,
          subjectKey: oldIssuer.key,
          issuerSki: info.ski,
          issuerCurve: info.curve,
          issuerGen: gen,
          period: linkPeriod,
        }),
        await r.hsm.signer(key.uri),
        { profile: "link", policy: r.policy, issuer: newIssuer },
      );
  // pki.rekey.recorded: what is handed to the DTS must verify against the keys that certify it.
  const checks: [string, Signed, Uint8Array][] = [["new root", root, info.spkiDer]];
  if (oldToNew && newToOld)
    checks.push(["link old->new", oldToNew, oldIssuer.key.spkiDer], ["link new->old", newToOld, info.spkiDer]);
  const bad = checks.filter(([, s, spki]) => !verifySigned(s.der, spki)).map(([n]) => n);
  if (bad.length)
    throw new CeremonyError("REKEY_UNVERIFIED", `re-key output does not verify: ${bad.join(", ")}; nothing stored`, {
      control: CONTROLS.rekeyRecorded.id,
    });
  const rootRow = await storeCert(r, root, { kind: "iaca", rootGen: gen, keyRef: key.uri });
  const l1 = oldToNew && (await storeCert(r, oldToNew, { kind: "link", rootGen: old.row.rootGen }));
  const l2 = newToOld && (await storeCert(r, newToOld, { kind: "link", rootGen: gen }));
  r.transcript?.add("new root key", key.uri);
  r.transcript?.add("new key fingerprint", `sha256 ${info.fingerprint}`);
  artifact(r, "iaca.pem (new)", root);
  if (oldToNew) artifact(r, "link-old-to-new.pem", oldToNew);
  if (newToOld) artifact(r, "link-new-to-old.pem", newToOld);
  if (compromised) r.transcript?.add("link certificates", "none: the old root is revoked (compromise re-key)");
  const targets = [rootRow.serial, ...(l1 ? [l1.serial] : []), ...(l2 ? [l2.serial] : []), key.uri];
  await record(r, "root.rekey", clause("5.6"), targets, {
    rootGen: gen,
    rootSha256: root.sha256,
    linkOldToNewSha256: oldToNew?.sha256 ?? null,
    linkNewToOldSha256: newToOld?.sha256 ?? null,
    compromised,
    keyFingerprint: info.fingerprint,
  });
  return {
    root,
    serial: rootRow.serial,
    oldRoot: { der: new Uint8Array(old.row.der), sha256: old.row.sha256 },
    linkOldToNew: oldToNew,
    linkNewToOld: newToOld,
    gen,
  };
}

/** RFC 5280 CRLReason names a revocation may give; certificateHold and removeFromCRL are absent (no suspension). */
export const CRL_REVOCATION_REASONS = [
  "unspecified",
  "keyCompromise",
  "cACompromise",
  "affiliationChanged",
  "superseded",
  "cessationOfOperation",
  "privilegeWithdrawn",
  "aACompromise",
] as const;

/**
 * Destroys the private key of a superseded root (CP/CPS 5.6, 6.2.10): after a re-key the old key
 * signs nothing more, and it is destroyed once its certificate has expired (at once when the root
 * was revoked: a compromised key is not kept). The current root's key is never destroyed here.
 */
export async function rootDestroyKey(r: Room, serial: string): Promise<{ serial: string; keyUri: string }> {
  const control = CONTROLS.compromiseNoFurtherUse.id;
  const s = serial.toLowerCase();
  const row = await r.db.stores.certificates.get(s);
  if (row?.kind !== "iaca" || !row.keyRef)
    throw new CeremonyError("ROOT_KEY_UNKNOWN", `no IACA root ${serial} with a key in this room`, { control });
  const current = await currentRoot(r.db);
  if (current.row.serial === s)
    throw new CeremonyError("ROOT_KEY_IN_USE", `root ${s} is the current root; re-key first`, { control });
  const at = nowOf(r);
  if (!row.revokedAt && row.notAfter > at)
    throw new CeremonyError(
      "ROOT_KEY_STILL_VALID",
      `root ${s} is valid until ${row.notAfter.toISOString()}: its key is kept until then (CP/CPS 5.6)`,
      { control },
    );
  const keyUri = row.keyRef;
  // destroy, audit, then clear the records: each step can be repeated, so a run interrupted
  // anywhere is finished by running it again (a key already gone counts as destroyed)
  await r.hsm
    .destroy(keyUri, {
      actor: actorOf(r.actors),
      reason: row.revokedAt ? `root ${s} revoked` : `root ${s} expired after re-key`,
    })
    .catch((e: { code?: string }) => {
      if (e.code !== "HSM_KEY_NOT_FOUND") throw e;
    });
  await record(r, "root.key.destroy", clause("6.2.10"), [s, keyUri], {
    why: row.revokedAt ? "revoked" : "expired",
    notAfter: row.notAfter.toISOString(),
  });
  await r.db.stores.certificates.recordKeyDestroyed(keyUri, at, s);
  r.transcript?.add("destroyed", `root key ${keyUri}`);
  return { serial: s, keyUri };
}

export async function rootRevoke(r: Room, serial: string, reason: string, opts: { at?: Date } = {}) {
  if (!(CRL_REVOCATION_REASONS as readonly string[]).includes(reason))
    throw new CeremonyError(
      "REVOCATION_REASON_INVALID",
      `reason must be one of ${CRL_REVOCATION_REASONS.join(", ")} (no suspension)`,
      { control: CONTROLS.compromiseListed.id },
    );
  const s = serial.toLowerCase().replace(/:/g, "");
  const row = await r.db.stores.certificates.get(s);
  if (!row) throw new CeremonyError("CERT_NOT_FOUND", `no certificate with serial ${s}`);
  if (row.revokedAt) throw new CeremonyError("ALREADY_REVOKED", `${s} was revoked ${row.revokedAt.toISOString()}`);
  const at = opts.at ?? nowOf(r);
  await r.db.stores.certificates.markRevoked(s, at, reason);
  r.transcript?.add("revoked", `${s} (${row.kind}, ${reason})`);
  await record(r, "certificate.revoke", clause("4.9.1"), [s], { kind: row.kind, reason, at: at.toISOString() });
  return { serial: s, kind: row.kind, list: row.kind === "iaca" || row.kind === "link" ? "arl" : "crl" };
}

/**
 * Issues the next CRL or ARL of one root key (default: the current one), signed by that key. Each
 * key has its own lists at its own URL (pki.crl.per-key), so a verifier checks them with the key
 * that signed the certificate (RFC 5280 6.3.3, as openssl -crl_check does) also after a re-key.
 * Every list, of every key, is complete for the IACA's name (every revoked certificate the IACA
 * signed, whichever key signed it) and draws its number from one sequence (RFC 5280 5.2.3): a
 * verifier that picks the list by the signing key (openssl, Java) and one that keeps the newest
 * list per issuer name (GnuTLS) reach the same answer, and Annex B Table B.10 needs no
 * issuingDistributionPoint to tell scopes apart. nextUpdate: policy.revocation.nextUpdate,
 * checked against the plan so it covers the next planned root ceremony plus warnBefore.
 */
export async function rootCrl(r: Room, kind: "crl" | "arl", opts: { nextUpdate?: Date; gen?: number } = {}) {
  void CONTROLS.crlNumberIncreasing;
  void CONTROLS.crlPerKey;
  const root = await listSigner(r, opts.gen);
  const gen = root.row.rootGen;
  const issuer = issuerInfo(root.cert);
  const now = nowOf(r);
  // pki.revoke.compromise-listed: every revoked certificate of the list's kinds is listed while it
  // is valid and on the first list issued after it expired (CP/CPS 4.10.1): those that expired
  // since the previous list of this key are still listed, once.
  void CONTROLS.compromiseListed;
  const last = await r.db.stores.certificates.latestList(undefined, gen);
  const cutoff = last && last.thisUpdate < now ? last.thisUpdate : now;
  const revoked = await r.db.stores.certificates.revokedForList(cutoff);
  const previousNumber = (await r.db.stores.certificates.latestList())?.number;
  const number = (previousNumber ?? 0n) + 1n;
  const nextUpdate = opts.nextUpdate ?? addDuration(now, r.policy.revocation.nextUpdate);
  const warning = await coverageWarning(r, now, nextUpdate);
  const tbs = crlTbs({
    issuer,
    number,
    thisUpdate: now,
    nextUpdate,
    revoked: revoked.map((x) => ({ serial: Uint8Array.from(Buffer.from(x.serial, "hex")), revokedAt: x.revokedAt! })),
  });
  const signed = await signCrl(tbs, await r.hsm.signer(root.keyRef), {
    profile: kind,
    policy: r.policy,
    issuer,
    previousCrlNumber: previousNumber,
  });
  await r.db.stores.certificates.addList({
    kind,
    number,
    rootGen: gen,
    thisUpdate: tbs.thisUpdate.getTime(),
    nextUpdate: tbs.nextUpdate!.getTime(),
    der: signed.der,
    sha256: signed.sha256,
  });
  artifact(r, `${kind}-g${gen}.der #${number}`, signed);
  await record(r, `${kind}.issue`, clause("4.9.7"), [`${kind}:${number}`], {
    sha256: signed.sha256,
    number: number.toString(),
    rootGen: gen,
    entries: revoked.map((x) => x.serial),
    nextUpdate: nextUpdate.toISOString(),
    ...(warning ? { warning } : {}),
  });
  return { crl: signed, number, gen, entries: revoked.length, nextUpdate, warning };
}

/** One root ceremony step: the lists of `kind` for every generation that needs one (see listGenerations). */
export async function rootCrls(r: Room, kind: "crl" | "arl", opts: { nextUpdate?: Date } = {}) {
  const out: Awaited<ReturnType<typeof rootCrl>>[] = [];
  for (const gen of await listGenerations(r.db, nowOf(r))) out.push(await rootCrl(r, kind, { ...opts, gen }));
  return out;
}

/** The root of generation `gen` (default: the current one) with its key, which must still be in this room. */
async function listSigner(r: Room, gen: number | undefined) {
  if (gen === undefined) return currentRoot(r.db);
  const row = await r.db.stores.certificates.rootOfGeneration(gen);
  if (!row?.keyRef)
    throw new CeremonyError(
      "ROOT_KEY_UNKNOWN",
      row ? `the key of root generation ${gen} was destroyed` : `no root of generation ${gen} in this room`,
      { control: CONTROLS.crlPerKey.id },
    );
  return { row, cert: parseCertificate(row.der).asn1, keyRef: row.keyRef };
}

/** A warning when nextUpdate does not reach the next planned root ceremony plus warnBefore. */
async function coverageWarning(r: Room, now: Date, nextUpdate: Date): Promise<string | undefined> {
  const first = await r.db.stores.certificates.firstRoot();
  const p = plan(r.policy, first?.notBefore ?? now, 11, { propose: false });
  const nextVisit = p.ceremonies.find((c) => c.at > now)?.at;
  return nextVisit && nextUpdate < addDuration(nextVisit, r.policy.revocation.warnBefore)
    ? `nextUpdate ${nextUpdate.toISOString()} does not cover the next planned root ceremony (${nextVisit.toISOString()}) plus ${r.policy.revocation.warnBefore}`
    : undefined;
}

/**
 * Root key generations whose lists a root ceremony at `at` must sign (pki.crl.per-key): the current
 * key, and every older key that signed a certificate still valid at `at` and whose key is here.
 */
export async function listGenerations(db: Database, at: Date): Promise<number[]> {
  const current = (await currentRoot(db)).row.rootGen;
  const live = (await db.stores.certificates.signedUntilByGeneration())
    .filter((g) => g.rootGen !== current && g.until > at)
    .map((g) => g.rootGen);
  const withKey: number[] = [];
  for (const gen of live) if ((await db.stores.certificates.rootOfGeneration(gen))?.keyRef) withKey.push(gen);
  return [...withKey, current];
}

// ---------------------------------------------------------------- operations room

/** Generates a DS key in the DS HSM and the CSR to carry to the root room. */
export async function dsKeygen(r: Room, opts: { seq?: number } = {}) {
  const seq = opts.seq ?? (await r.db.stores.certificates.countKeys("ds")) + 1;
  const label = `ds-${seq}-${Date.now().toString(36)}`;
  const key = await r.hsm.generateEcKey(label, { curve: r.policy.ds.key.curve, actor: r.actors[0] });
  const info = publicKeyInfo((await r.hsm.getPublicKey(key.uri)).spki);
  const n = r.policy.iaca.name;
  const csr = await createCsr({
    subject: {
      C: n.C,
      ST: n.ST,
      O: r.policy.ds.organization,
      CN: r.policy.ds.commonName.replace("{seq}", String(seq)),
    },
    key: info,
    signer: await r.hsm.signer(key.uri),
  });
  await r.db.stores.certificates.addKey({ uri: key.uri, role: "ds", label, spkiSha256: info.fingerprint, csr });
  r.transcript?.add("DS key", key.uri);
  r.transcript?.add("DS key fingerprint", `sha256 ${info.fingerprint}`);
  r.transcript?.add("CSR", `sha256 ${sha256(csr)}`);
  await record(r, "ds.key.generate", clause("6.1.1"), [key.uri], {
    keyFingerprint: info.fingerprint,
    csrSha256: sha256(csr),
  });
  return { keyUri: key.uri, csr, csrPem: csrPem(csr), csrSha256: sha256(csr), fingerprint: info.fingerprint, seq };
}

function certsFrom(files: Uint8Array[]): Certificate[] {
  const out: Certificate[] = [];
  for (const f of files) {
    const text = Buffer.from(f).toString("latin1");
    const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g);
    for (const b of blocks ?? [f]) {
      const a = parseArtifact(typeof b === "string" ? Buffer.from(b) : b);
      if (a.kind === "certificate") out.push(a.cert);
    }
  }
  return out;
}

const derOf = (c: Certificate) => new Uint8Array(AsnConvert.serialize(c));
const spkiOf = (c: Certificate) => new Uint8Array(AsnConvert.serialize(c.tbsCertificate.subjectPublicKeyInfo));
const akiOf = (c: Certificate) => {
  const e = findExtension(c.tbsCertificate.extensions, OID.aki);
  const id = e ? AsnConvert.parse(e.extnValue.buffer, AuthorityKeyIdentifier).keyIdentifier : undefined;
  return id ? hex(id.buffer) : undefined;
};

/**
 * Installs a DS certificate carried from the root room: its key must be a DS key of this room's HSM,
 * it must chain (directly or through a link certificate) to a trusted root among `trust`, and pass the
 * linter. Records its activation time (default: its notBefore, as planned) and retires the previous DS then.
 */
export async function dsInstall(r: Room, certData: Uint8Array, trust: Uint8Array[], opts: { activatesAt?: Date } = {}) {
  void CONTROLS.dsInstallVerified;
  const a = parseArtifact(certData);
  if (a.kind !== "certificate") throw new CeremonyError("NOT_A_CERTIFICATE", "expected a DS certificate");
  const cert = a.cert;
  if (detectCertProfile(cert.tbsCertificate) !== "ds")
    throw new CeremonyError("NOT_A_DS", "not a Document Signer certificate");
  const info = publicKeyInfo(spkiOf(cert));
  const key = await r.db.stores.certificates.keyByFingerprint(info.fingerprint);
  if (key?.role !== "ds" || key.destroyedAt)
    throw new CeremonyError("DS_KEY_UNKNOWN", `no DS key with fingerprint ${info.fingerprint} in this room`, {
      control: CONTROLS.csrKeyDelivery.id,
    });
  const hsmSpki = publicKeyInfo((await r.hsm.getPublicKey(key.uri)).spki);
  if (hsmSpki.fingerprint !== info.fingerprint)
    throw new CeremonyError("DS_KEY_MISMATCH", "the certificate's key is not the HSM key recorded for it", {
      control: CONTROLS.csrKeyDelivery.id,
    });
  // Chain: DS <- (root with the DS's AKI) or DS <- link <- trusted root.
  const pool = certsFrom(trust);
  const roots = pool.filter((c) => detectCertProfile(c.tbsCertificate) === "iaca" && verifySigned(derOf(c), spkiOf(c)));
  const bySki = (ski: string | undefined, from: Certificate[]) =>
    from.filter((c) => hex(issuerInfo(c).key.ski) === ski);
  const dsAki = akiOf(cert);
  let issuer = bySki(dsAki, roots)[0];
  let chain = "root";
  if (!issuer) {
    const link = bySki(dsAki, pool).find((l) => detectCertProfile(l.tbsCertificate) === "link");
    const anchor = link && bySki(akiOf(link), roots)[0];
    if (link && anchor && verifySigned(derOf(link), spkiOf(anchor))) {
      issuer = link;
      chain = "link";
    }
  }
  if (!issuer || !verifySigned(a.der, spkiOf(issuer)))
    throw new CeremonyError("DS_CHAIN_INVALID", "the DS certificate does not chain to a trusted IACA root", {
      control: CONTROLS.dsInstallVerified.id,
    });
  const { lintArtifact, failures } = await import("./lint.ts");
  const lint = lintArtifact(a.der, { policy: r.policy, issuer, profile: "ds" });
  const bad = failures(lint.results);
  if (bad.length)
    throw new CeremonyError("LINT_FAILED", `DS certificate fails ${bad.map((x) => x.rule).join(", ")}`, {
      control: CONTROLS.dsInstallVerified.id,
    });
  for (const c of roots) await storeCert(r, { der: derOf(c), sha256: sha256(derOf(c)) }, { kind: "iaca", rootGen: 0 });
  const activatesAt = opts.activatesAt ?? cert.tbsCertificate.validity.notBefore.getTime();
  const row = await storeCert(
    r,
    { der: a.der, sha256: sha256(a.der) },
    { kind: "ds", rootGen: 0, keyRef: key.uri, activatesAt, installedAt: nowOf(r) },
  );
  await r.db.stores.certificates.recordInstalled(row.serial, { keyRef: key.uri, installedAt: nowOf(r), activatesAt });
  await r.db.stores.certificates.retirePredecessors(row.serial, activatesAt);
  artifact(r, `ds ${row.serial}`, { sha256: row.sha256 });
  await record(r, "ds.certificate.install", clause("6.3.2"), [row.serial, key.uri], {
    certSha256: row.sha256,
    chain,
    activatesAt: activatesAt.toISOString(),
    usageEnd: usagePeriod({ ...row, activatesAt }, r.policy).end.toISOString(),
  });
  return { serial: row.serial, activatesAt, chain };
}

/**
 * Stops a DS key signing now, ahead of the root room's CRL (CP/CPS 4.9.5: on a suspected
 * compromise the operations room stops the key at once; the revocation follows at the next root
 * visit, and `iaca dts install-crl` records it here). The DS is retired as of now, so the issuer
 * refuses it within its cache time (1 s) and a pending one never activates. Needs no HSM.
 */
export async function dsStop(
  r: Omit<Room, "hsm">,
  serial: string,
  reason: string,
): Promise<{ serial: string; stoppedAt: Date; signer: string | undefined }> {
  const control = CONTROLS.compromiseNoFurtherUse.id;
  const s = serial.toLowerCase();
  const row = await r.db.stores.certificates.get(s);
  if (row?.kind !== "ds")
    throw new CeremonyError("DS_UNKNOWN", `no DS certificate ${serial} in this room`, { control });
  const at = nowOf(r);
  if (row.retiredAt && row.retiredAt <= at)
    throw new CeremonyError("DS_ALREADY_STOPPED", `DS ${s} stopped signing on ${row.retiredAt.toISOString()}`, {
      control,
    });
  // a DS stopped before it took over hands nothing over: its predecessors, retired by dsInstall
  // as of its activation, keep signing (otherwise nothing could sign from that moment on)
  const restored =
    row.activatesAt && row.activatesAt > at
      ? await r.db.stores.certificates.restorePredecessors(s, row.activatesAt)
      : 0;
  await r.db.stores.certificates.markStopped(s, at);
  await record(r, "ds.stop", clause("4.9.5"), [s, ...(row.keyRef ? [row.keyRef] : [])], {
    predecessorsKept: restored,
    reason,
    stoppedAt: at.toISOString(),
  });
  r.transcript?.add("stopped", `ds ${s}`);
  const signer = await currentSigner(r.db, r.policy, at).then(
    (c) => c.serial,
    () => undefined,
  );
  return { serial: s, stoppedAt: at, signer };
}

export type DsLifecycleState = "pending" | "active" | "retired" | "usage-over" | "expired" | "revoked";

/** DS certificates of this room with state, usage period and days left of signing. */
export async function dsList(db: Database, policy: Policy, at: Date = new Date()) {
  const rows = await db.stores.certificates.ofKinds(["ds"]);
  return rows.map((row) => {
    const u = usagePeriod(row, policy);
    let state: DsLifecycleState = "active";
    if (row.revokedAt && row.revokedAt <= at) state = "revoked";
    else if (row.notAfter <= at) state = "expired";
    else if (row.retiredAt && row.retiredAt <= at) state = "retired";
    else if (u.start > at) state = "pending";
    else if (u.end < at) state = "usage-over";
    return {
      serial: row.serial,
      subject: row.subject,
      state,
      installed: !!row.installedAt,
      keyRef: row.keyRef,
      notBefore: row.notBefore,
      notAfter: row.notAfter,
      usageStart: u.start,
      usageEnd: u.end,
      daysLeft: Math.max(0, Math.floor((u.end.getTime() - at.getTime()) / 86_400_000)),
    };
  });
}

/** The installed DS the issuer must use at `at` (pki.ds.usage-period checked); throws when none may sign. */
export async function currentSigner(db: Database, policy: Policy, at: Date = new Date()) {
  // pki.compromise.no-further-use: a revoked DS is never selected.
  void CONTROLS.compromiseNoFurtherUse;
  const rows = await db.stores.certificates.signerCandidates();
  for (const row of rows) {
    try {
      assertCanSign(row, at, policy);
      return { serial: row.serial, keyRef: row.keyRef!, der: new Uint8Array(row.der), record: row };
    } catch {
      // try the next one
    }
  }
  throw new IacaError("DS_NONE_USABLE", "no installed DS certificate may sign now (usage periods / revocation)");
}

export { crlNumberOf };
