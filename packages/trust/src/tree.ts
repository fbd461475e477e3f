import { createHash } from "node:crypto";
import { type CrlInfo, toPem } from "@iaca/pki";
import { durationMs, type Policy, revocationUrl, statusListUrl, subtractDuration } from "@iaca/policy";
import { DTS_CRL_AT_CDP, DTS_PUBLISH_CA, DTS_PUBLISH_DS_BEFORE_USE } from "./controls.ts";
import { freshness, type ListFreshness } from "./freshness.ts";
import { renderIndexHtml } from "./html.ts";
import { certPath, certSkiPath, PATHS, revocationPaths } from "./paths.ts";
import {
  type CertStatus,
  certificateStatusOf,
  type PublishedCertificate,
  type PublishedSet,
  signerKeyId,
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
  statusList: "application/statuslist+cwt",
} as const;

/** How long a client may cache an entry: immutable (content-addressed) or bounded by a list's nextUpdate. */
export type CacheClass = "immutable" | "crl" | "arl" | "index" | "status";

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
  /** CRL/ARL entries: that list's freshness (its nextUpdate bounds caching). */
  freshness?: ListFreshness;
  /** Status list tokens: cached at most ttl seconds and never past the token's exp. */
  statusCache?: { ttl: number; expiresAt: Date };
}

/**
 * One root key's CRL or ARL as published (pki.crl.per-key): at the URL the certificates it covers
 * name, with its freshness and until when it must stay current.
 */
export interface TreeList {
  kind: "crl" | "arl";
  /** Root key generation (roots numbered by notBefore). */
  gen: number;
  url: string;
  path: string;
  /** Undefined: none installed yet although a valid certificate names it. */
  info: CrlInfo | undefined;
  freshness: ListFreshness;
  /** When the last certificate naming this list expires (undefined: none). */
  neededUntil: Date | undefined;
}

export interface PublishedTree {
  entries: Map<string, TreeEntry>;
  set: PublishedSet;
  /** The instant the tree was computed for. */
  at: Date;
  /** Next instant at which the tree changes with the same input (a status or freshness transition). */
  changesAt: Date | undefined;
  /** Generation 1's CRL and ARL paths (the policy URLs as written). */
  paths: { crl: string; arl: string };
  /** Every root key's lists; a verifier checks a certificate against the list its CRL distribution point names. */
  lists: TreeList[];
  /** Freshness of the newest root key's CRL (trust.json `crl`). */
  crl: ListFreshness;
  /** Freshness of the newest root key's ARL (trust.json `arl`). */
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

function entry(
  path: string,
  bytes: Buffer,
  contentType: string,
  lastModified: Date,
  cache: CacheClass,
  freshnessOf?: ListFreshness,
): TreeEntry {
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
    ...(freshnessOf ? { freshness: freshnessOf } : {}),
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
  const lists = treeLists(set, policy, now);
  const newest = (kind: "crl" | "arl") => lists.filter((l) => l.kind === kind).at(-1)?.freshness;
  const missing = freshness(undefined, policy, now);
  const crlF = newest("crl") ?? missing;
  const arlF = newest("arl") ?? missing;

  // Past transitions move Last-Modified of the derived documents; the next one schedules a rebuild.
  const transitions = [
    ...statusTransitions(set),
    ...lists.flatMap((l) => [
      l.freshness.warnAt,
      l.freshness.nextUpdate,
      l.neededUntil && new Date(l.neededUntil.getTime() + 1),
    ]),
  ]
    .filter((d): d is Date => !!d)
    .map((d) => d.getTime());
  const past = transitions.filter((t) => t <= now.getTime());
  const inputDates = [
    ...set.certificates.map((c) => certDate(c).getTime()),
    ...set.lists.map((l) => l.info.thisUpdate.getTime()),
    ...(set.trustList ? [set.trustList.date.getTime()] : []),
    ...set.statusLists.map((s) => s.signedAt.getTime()),
  ];
  const updated = new Date(Math.max(0, ...inputDates, ...past));

  const index = addCertificates(set, now, add);
  // Each key's CRL and ARL at exactly the CRL distribution point paths (control dts.crl.served-at-cdp).
  void DTS_CRL_AT_CDP;
  for (const l of lists)
    if (l.info) add(entry(l.path, Buffer.from(l.info.der), MEDIA.crl, l.info.thisUpdate, l.kind, l.freshness));
  if (set.trustList)
    add(entry(PATHS.trustList, Buffer.from(set.trustList.cose), MEDIA.cose, set.trustList.date, "index"));
  const statusLists = addStatusLists(set, policy, add);
  const trust = { ...trustJson(set, policy, { index, updated, lists, entries }), statusLists };
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
      Buffer.from(renderIndexHtml({ policy, trust: trust as never, lists })),
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
    lists,
    crl: crlF,
    arl: arlF,
  };
}

/**
 * Every root key's CRL and ARL: those installed, and those a valid certificate names although none
 * is installed (freshness "missing"). The CRL covers the end-entity certificates a key signed (DS,
 * trust-list signer), the ARL its CA certificates (its own root, the links it signed).
 */
function treeLists(set: PublishedSet, policy: Policy, now: Date): TreeList[] {
  const roots = set.certificates.filter((c) => c.kind === "iaca");
  const out: TreeList[] = [];
  roots.forEach((root, i) => {
    const gen = i + 1;
    const paths = revocationPaths(policy, gen);
    for (const kind of ["arl", "crl"] as const) {
      const covered = set.certificates.filter(
        (c) =>
          signerKeyId(c.info) === root.info.ski &&
          c.info.issuer === root.info.subject &&
          (kind === "arl") === (c.kind === "iaca" || c.kind === "link"),
      );
      const until = covered.length ? Math.max(...covered.map((c) => c.info.notAfter.getTime())) : undefined;
      const info = set.lists.find((l) => l.gen === gen && l.kind === kind)?.info;
      if (!info && (until === undefined || until <= now.getTime())) continue;
      out.push({
        kind,
        gen,
        url: revocationUrl(policy, kind, gen),
        path: paths[kind],
        info,
        freshness: freshness(info, policy, now),
        neededUntil: until === undefined ? undefined : new Date(until),
      });
    }
  });
  return out;
}

/** True while a certificate that names the list is valid: its freshness matters. */
export const listNeeded = (l: TreeList, now: Date): boolean => !!l.neededUntil && l.neededUntil > now;

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

function listJson(l: TreeList | undefined) {
  return l?.info
    ? {
        url: l.url,
        path: l.path,
        number: l.info.number === undefined ? null : l.info.number.toString(),
        issuer: l.info.issuer,
        thisUpdate: l.info.thisUpdate.toISOString(),
        nextUpdate: l.info.nextUpdate ? l.info.nextUpdate.toISOString() : null,
        sha256: l.info.sha256,
        revoked: l.info.revokedSerials,
        freshness: l.freshness.state,
      }
    : null;
}

/** trust.json: the certificates with their status, the lists and the signed trust list. */
function trustJson(
  set: PublishedSet,
  policy: Policy,
  t: { index: TrustIndexCertificate[]; updated: Date; lists: TreeList[]; entries: Map<string, TreeEntry> },
) {
  const { index, updated, entries, lists } = t;
  const newest = (kind: "crl" | "arl") => lists.filter((l) => l.kind === kind && l.info).at(-1);
  return {
    $schema: PATHS.trustSchema,
    version: 1,
    provider: policy.iaca.name.O ?? policy.iaca.name.CN,
    updated: updated.toISOString(),
    certificates: index,
    crl: listJson(newest("crl")),
    arl: listJson(newest("arl")),
    lists: lists
      .filter((l) => l.info)
      .map((l) => ({
        kind: l.kind,
        rootGeneration: l.gen,
        aki: l.info!.aki,
        neededUntil: l.neededUntil ? l.neededUntil.toISOString() : null,
        ...listJson(l)!,
      })),
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

/**
 * Each status list token at the path of its URI (the `uri` in the MSOs, the token's `sub`), as
 * trust.json lists them. Cache-Control: the token's ttl, never past its exp.
 */
function addStatusLists(set: PublishedSet, policy: Policy, add: (e: TreeEntry) => void) {
  const ttl = durationMs(policy.status.ttl, new Date(0)) / 1000;
  return set.statusLists.map((s) => {
    const uri = statusListUrl(policy, s.listNo);
    const e = entry(new URL(uri).pathname, Buffer.from(s.token), MEDIA.statusList, s.signedAt, "status");
    e.statusCache = { ttl, expiresAt: s.expiresAt };
    add(e);
    return {
      uri,
      path: e.path,
      signedAt: s.signedAt.toISOString(),
      expiresAt: s.expiresAt.toISOString(),
      sha256: e.sha256,
      mediaType: MEDIA.statusList,
    };
  });
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
