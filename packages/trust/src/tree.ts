import { createHash } from "node:crypto";
import { type CrlInfo, toPem } from "@iaca/pki";
import { type Policy, subtractDuration } from "@iaca/policy";
import { DTS_CRL_AT_CDP, DTS_PUBLISH_CA, DTS_PUBLISH_DS_BEFORE_USE } from "./controls.ts";
import { freshness, type ListFreshness } from "./freshness.ts";
import { renderIndexHtml } from "./html.ts";
import { certPath, certSkiPath, PATHS, revocationPaths } from "./paths.ts";
import {
  type CertStatus,
  certificateStatusOf,
  type PublishedCertificate,
  type PublishedSet,
  statusTransitions,
} from "./published.ts";
import { TRUST_SCHEMA } from "./trust-schema.ts";

export const MEDIA = {
  certDer: "application/pkix-cert",
  certPem: "application/pem-certificate-chain",
  crl: "application/pkix-crl",
  json: "application/json",
  schema: "application/schema+json",
  html: "text/html; charset=utf-8",
  cose: 'application/cose; cose-type="cose-sign1"',
} as const;

/** How long a client may cache an entry: immutable (content-addressed) or bounded by a list's nextUpdate. */
export type CacheClass = "immutable" | "crl" | "arl" | "index";

export interface TreeEntry {
  path: string;
  bytes: Buffer;
  contentType: string;
  /** Strong validator: quoted base64url SHA-256 of the bytes. */
  etag: string;
  sha256: string;
  lastModified: Date;
  /** HTTP-date of lastModified (second precision). */
  lastModifiedHttp: string;
  cache: CacheClass;
}

export interface PublishedTree {
  entries: Map<string, TreeEntry>;
  set: PublishedSet;
  /** The instant the tree was computed for. */
  at: Date;
  /** Next instant at which the tree changes with the same input (a status or freshness transition). */
  changesAt: Date | undefined;
  paths: { crl: string; arl: string };
  crl: ListFreshness;
  arl: ListFreshness;
  /** Operational warnings about the trust-list signer certificate (none valid, or expiring within warnBefore). */
  signerWarnings: string[];
}

export interface TrustIndexCertificate {
  kind: PublishedCertificate["kind"];
  status: CertStatus;
  subject: string;
  issuer: string;
  serialNumber: string;
  ski: string;
  aki: string;
  sha256: string;
  notBefore: string;
  notAfter: string;
  activeFrom?: string;
  activeUntil?: string;
  urls: { der: string; pem: string; derBySki: string; pemBySki: string };
}

const floorSecond = (d: Date) => new Date(Math.floor(d.getTime() / 1000) * 1000);

function entry(path: string, bytes: Buffer, contentType: string, lastModified: Date, cache: CacheClass): TreeEntry {
  const digest = createHash("sha256").update(bytes).digest();
  const lm = floorSecond(lastModified);
  return {
    path,
    bytes,
    contentType,
    etag: `"${digest.toString("base64url")}"`,
    sha256: digest.toString("hex"),
    lastModified: lm,
    lastModifiedHttp: lm.toUTCString(),
    cache,
  };
}

const certDate = (c: PublishedCertificate) => c.publishedAt ?? c.info.notBefore;

/**
 * The whole published tree as a pure function of the published set, the policy and an instant.
 * The server serves it from memory and `iaca dts export` writes it to files: same bytes.
 */
export function buildTree(set: PublishedSet, policy: Policy, now: Date): PublishedTree {
  const paths = revocationPaths(policy);
  const entries = new Map<string, TreeEntry>();
  const add = (e: TreeEntry) => entries.set(e.path, e);
  const crlF = freshness(set.crl, policy, now);
  const arlF = freshness(set.arl, policy, now);

  // Past transitions move Last-Modified of the derived documents; the next one schedules a rebuild.
  const transitions = [...statusTransitions(set), crlF.warnAt, crlF.nextUpdate, arlF.warnAt, arlF.nextUpdate]
    .filter((d): d is Date => !!d)
    .map((d) => d.getTime());
  const past = transitions.filter((t) => t <= now.getTime());
  const inputDates = [
    ...set.certificates.map((c) => certDate(c).getTime()),
    ...(set.crl ? [set.crl.thisUpdate.getTime()] : []),
    ...(set.arl ? [set.arl.thisUpdate.getTime()] : []),
    ...(set.trustList ? [set.trustList.date.getTime()] : []),
  ];
  const updated = new Date(Math.max(0, ...inputDates, ...past));

  const index = addCertificates(set, now, add);
  // CRL and ARL at exactly the CRL distribution point paths (control dts.crl.served-at-cdp).
  void DTS_CRL_AT_CDP;
  if (set.crl) add(entry(paths.crl, Buffer.from(set.crl.der), MEDIA.crl, set.crl.thisUpdate, "crl"));
  if (set.arl) add(entry(paths.arl, Buffer.from(set.arl.der), MEDIA.crl, set.arl.thisUpdate, "arl"));
  if (set.trustList)
    add(entry(PATHS.trustList, Buffer.from(set.trustList.cose), MEDIA.cose, set.trustList.date, "index"));
  const trust = trustJson(set, policy, { index, updated, crl: crlF, arl: arlF, entries });
  add(entry(PATHS.trustJson, Buffer.from(`${JSON.stringify(trust, null, 2)}\n`), MEDIA.json, updated, "index"));
  add(
    entry(
      PATHS.trustSchema,
      Buffer.from(`${JSON.stringify(TRUST_SCHEMA, null, 2)}\n`),
      MEDIA.schema,
      new Date("2026-01-01T00:00:00Z"),
      "index",
    ),
  );
  add(
    entry(
      PATHS.index,
      Buffer.from(renderIndexHtml({ policy, trust: trust as never, crl: crlF, arl: arlF })),
      MEDIA.html,
      updated,
      "index",
    ),
  );
  add(manifestEntry(entries, updated));
  const signerWarnings = trustListSignerWarnings(set, policy, now, transitions);
  const futureAll = transitions.filter((t) => t > now.getTime());

  return {
    entries,
    set,
    at: now,
    signerWarnings,
    changesAt: futureAll.length ? new Date(Math.min(...futureAll)) : undefined,
    paths,
    crl: crlF,
    arl: arlF,
  };
}

/** Certificates: DER and PEM, by fingerprint and by SKI/serial (controls dts.publish.*); their trust.json entries. */
function addCertificates(set: PublishedSet, now: Date, add: (e: TreeEntry) => void): TrustIndexCertificate[] {
  void DTS_PUBLISH_CA;
  void DTS_PUBLISH_DS_BEFORE_USE;
  const index: TrustIndexCertificate[] = [];
  for (const c of set.certificates) {
    const i = c.info;
    const der = Buffer.from(i.der);
    const pem = Buffer.from(toPem(i.der, "CERTIFICATE"));
    const ski = i.ski || "none";
    const urls = {
      der: certPath(i.sha256, "der"),
      pem: certPath(i.sha256, "pem"),
      derBySki: certSkiPath(ski, i.serial, "der"),
      pemBySki: certSkiPath(ski, i.serial, "pem"),
    };
    add(entry(urls.der, der, MEDIA.certDer, certDate(c), "immutable"));
    add(entry(urls.pem, pem, MEDIA.certPem, certDate(c), "immutable"));
    add(entry(urls.derBySki, der, MEDIA.certDer, certDate(c), "immutable"));
    add(entry(urls.pemBySki, pem, MEDIA.certPem, certDate(c), "immutable"));
    index.push({
      kind: c.kind,
      status: certificateStatusOf(set, c, now),
      subject: i.subject,
      issuer: i.issuer,
      serialNumber: i.serial,
      ski: i.ski,
      aki: i.aki,
      sha256: i.sha256,
      notBefore: i.notBefore.toISOString(),
      notAfter: i.notAfter.toISOString(),
      ...(c.activeFrom ? { activeFrom: c.activeFrom.toISOString() } : {}),
      ...(c.activeUntil ? { activeUntil: c.activeUntil.toISOString() } : {}),
      urls,
    });
  }

  return index;
}

function listJson(l: CrlInfo | undefined, url: string, path: string, f: ListFreshness) {
  return l
    ? {
        url,
        path,
        number: l.number === undefined ? null : l.number.toString(),
        issuer: l.issuer,
        thisUpdate: l.thisUpdate.toISOString(),
        nextUpdate: l.nextUpdate ? l.nextUpdate.toISOString() : null,
        sha256: l.sha256,
        revoked: l.revokedSerials,
        freshness: f.state,
      }
    : null;
}

/** trust.json: the certificates with their status, the lists and the signed trust list. */
function trustJson(
  set: PublishedSet,
  policy: Policy,
  t: {
    index: TrustIndexCertificate[];
    updated: Date;
    crl: ListFreshness;
    arl: ListFreshness;
    entries: Map<string, TreeEntry>;
  },
) {
  const paths = revocationPaths(policy);
  const { index, updated, entries } = t;
  const crlF = t.crl;
  const arlF = t.arl;
  return {
    $schema: PATHS.trustSchema,
    version: 1,
    provider: policy.iaca.name.O ?? policy.iaca.name.CN,
    updated: updated.toISOString(),
    certificates: index,
    crl: listJson(set.crl, policy.revocation.crlUrl, paths.crl, crlF),
    arl: listJson(set.arl, policy.revocation.arlUrl, paths.arl, arlF),
    trustList: set.trustList
      ? {
          path: PATHS.trustList,
          issueId: set.trustList.issueId,
          date: set.trustList.date.toISOString(),
          nextUpdate: set.trustList.nextUpdate ? set.trustList.nextUpdate.toISOString() : null,
          sha256: entries.get(PATHS.trustList)!.sha256,
          mediaType: MEDIA.cose,
        }
      : null,
  };
}

/** The manifest lists every other file with its SHA-256 (the static export's integrity list). */
function manifestEntry(entries: Map<string, TreeEntry>, updated: Date): TreeEntry {
  const manifest = {
    version: 1,
    updated: updated.toISOString(),
    files: [...entries.values()]
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
      .map((e) => ({
        path: e.path,
        sha256: e.sha256,
        size: e.bytes.length,
        contentType: e.contentType,
        lastModified: e.lastModified.toISOString(),
      })),
  };
  return entry(PATHS.manifest, Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`), MEDIA.json, updated, "index");
}

/**
 * The trust-list signer certificate comes from a root ceremony too: warn as early as for the
 * lists. Adds the warning instant to `transitions` while it lies ahead.
 */
function trustListSignerWarnings(set: PublishedSet, policy: Policy, now: Date, transitions: number[]): string[] {
  const signerWarnings: string[] = [];
  const signers = set.certificates.filter(
    (c) => c.kind === "trust-list-signer" && certificateStatusOf(set, c, now) === "active",
  );
  const latest = signers.sort((a, b) => b.info.notAfter.getTime() - a.info.notAfter.getTime())[0];
  if (!latest) signerWarnings.push("trust-list signer: no valid certificate installed");
  else {
    const warnAt = subtractDuration(latest.info.notAfter, policy.revocation.warnBefore);
    if (now >= warnAt)
      signerWarnings.push(
        `trust-list signer: certificate expires ${latest.info.notAfter.toISOString()}; a root ceremony is due`,
      );
    else transitions.push(warnAt.getTime());
  }
  return signerWarnings;
}
