import { type CertInput, readDerList } from "@iaca/mdoc";
import { parseCertificate, parseCrl, sha256 } from "@iaca/pki";
import { trustListCertificatesUnverified, verifyTrustList } from "@iaca/trust";
import { VerifierError } from "./errors.ts";
import type { CachingFetcher } from "./fetcher.ts";

/** What a verifier knows out of band: at least one IACA certificate or its SHA-256 fingerprint. */
export interface TrustPins {
  /** SHA-256 fingerprints (hex, any case, colons allowed) of IACA certificates. */
  pins?: string[];
  /** IACA certificates (DER or PEM); their fingerprints act as pins. */
  anchors?: CertInput[];
}

/** Trust material loaded from a DTS and checked: the verifier's whole input besides the mdoc. */
export interface DtsTrust {
  /** DTS base URL, without a trailing slash. */
  base: string;
  loadedAt: Date;
  /** Reload by then: the earliest nextUpdate of the trust list and of every list used, or loadedAt + maxAge. */
  refreshAt: Date;
  /** Every IACA generation the verified trust list names: each is a trust anchor (docs/verifiers.md). */
  anchors: Uint8Array[];
  /** Link certificates (untrusted; they only complete paths). */
  links: Uint8Array[];
  /** Every CRL/ARL signed by one of the anchors and current at load time. */
  crls: Uint8Array[];
  trustListIssue: number;
  /** Status list URI → path on this DTS (trust.json `statusLists`): where the kit fetches a token. */
  statusPaths: Map<string, string>;
  /** Lists left out (not signed by an anchor, or past nextUpdate), one line each. */
  warnings: string[];
}

interface IndexCertificate {
  kind: string;
  sha256: string;
  urls: { der: string };
}
interface IndexList {
  path: string;
}
interface TrustIndex {
  certificates: IndexCertificate[];
  statusLists?: { uri: string; path: string }[];
  lists?: IndexList[];
  crl?: IndexList | null;
  arl?: IndexList | null;
}

const normalise = (fp: string) => fp.replace(/:/g, "").trim().toLowerCase();

/** The fingerprints a verifier pinned, from both forms. */
export function pinnedFingerprints(p: TrustPins): Set<string> {
  const out = new Set((p.pins ?? []).map(normalise));
  for (const a of p.anchors ?? []) for (const der of readDerList(a, "CERTIFICATE")) out.add(sha256(der));
  if (out.size === 0)
    throw new VerifierError("VERIFIER_USAGE", "pin at least one IACA certificate (fingerprint or PEM)");
  return out;
}

/**
 * Loads trust from a DTS as docs/verifiers.md describes: the signed trust list verified against a
 * pinned IACA (through a link certificate when the pin is an older generation), every IACA
 * generation it names as an anchor, and every CRL/ARL in trust.json that an anchor signed and that
 * is current. Files whose bytes do not match their trust.json digest are refused.
 */
export async function loadDtsTrust(
  base: string,
  pins: Set<string>,
  fetcher: CachingFetcher,
  o: { now: Date; maxAgeMs: number },
): Promise<DtsTrust> {
  const url = base.replace(/\/+$/, "");
  const index = readIndex(await fetcher.get(`${url}/trust.json`));
  const cose = await fetcher.get(`${url}/trust-list.cose`);
  const pinned = trustListCertificatesUnverified(cose).filter((der) => pins.has(sha256(der)));
  if (pinned.length === 0)
    throw new VerifierError("VERIFIER_PIN", "the trust list names none of the pinned IACA certificates");
  const links: Uint8Array[] = [];
  for (const c of index.certificates.filter((x) => x.kind === "link")) {
    const der = await fetcher.get(`${url}${c.urls.der}`);
    if (sha256(der) !== c.sha256) throw new VerifierError("VERIFIER_INDEX", `link ${c.sha256}: digest mismatch`);
    links.push(der);
  }
  let verified: Awaited<ReturnType<typeof verifyTrustList>>;
  try {
    verified = await verifyTrustList(cose, pinned, o.now, links);
  } catch (e) {
    throw new VerifierError("VERIFIER_TRUST_LIST", `the signed trust list does not verify: ${(e as Error).message}`);
  }
  const anchors = verified.certificates;
  const { crls, warnings, nextUpdates } = await loadLists(url, index, anchors, fetcher, o.now);
  const tlNext = verified.vical.get("nextUpdate");
  if (tlNext instanceof Date) nextUpdates.push(tlNext.getTime());
  const refreshAt = new Date(Math.min(o.now.getTime() + o.maxAgeMs, ...nextUpdates));
  const statusPaths = new Map((index.statusLists ?? []).map((s) => [s.uri, s.path]));
  return {
    base: url,
    loadedAt: o.now,
    refreshAt,
    anchors,
    links,
    crls,
    trustListIssue: verified.issueId,
    statusPaths,
    warnings,
  };
}

function readIndex(bytes: Uint8Array): TrustIndex {
  try {
    const j = JSON.parse(Buffer.from(bytes).toString("utf8")) as TrustIndex;
    if (!Array.isArray(j.certificates)) throw new Error("no certificates array");
    return j;
  } catch (e) {
    throw new VerifierError("VERIFIER_INDEX", `trust.json is unreadable: ${(e as Error).message}`);
  }
}

/** Every list of every root key (trust.json `lists`; older DTS: `crl` and `arl`), checked against the anchors. */
async function loadLists(url: string, index: TrustIndex, anchors: Uint8Array[], fetcher: CachingFetcher, now: Date) {
  const paths = [
    ...new Set((index.lists ?? [index.crl, index.arl]).filter((l): l is IndexList => !!l).map((l) => l.path)),
  ];
  const keys = anchors.map((der) => parseCertificate(der));
  const crls: Uint8Array[] = [];
  const warnings: string[] = [];
  const nextUpdates: number[] = [];
  for (const path of paths) {
    const der = await fetcher.get(`${url}${path}`);
    const crl = parseCrl(der);
    const signer = keys.find((k) => k.ski === crl.aki && k.subject === crl.issuer);
    const valid = signer && (await crl.x509.verify({ publicKey: signer.x509.publicKey }).catch(() => false));
    if (!valid) warnings.push(`${path}: not signed by a trusted IACA; left out`);
    else if (!crl.nextUpdate || crl.nextUpdate <= now) warnings.push(`${path}: past nextUpdate; left out`);
    else {
      crls.push(der);
      nextUpdates.push(crl.nextUpdate.getTime());
    }
  }
  return { crls, warnings, nextUpdates };
}
