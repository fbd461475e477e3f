import { type CrlInfo, failures, fromPemOrDer, type LintResult, lintArtifact, parseCrl } from "@iaca/pki";
import { type AuditSink, clause, type Policy } from "@iaca/policy";
import { DTS_CRL_INSTALL_VERIFIED } from "./controls.ts";
import { DtsError } from "./paths.ts";
import { type PublishedCertificate, type PublishedSet, parsePublishedSet } from "./published.ts";
import type { DbSource } from "./store.ts";

export interface InstallCrlOptions {
  source: DbSource;
  policy: Policy;
  /** The file as carried from the root room (PEM or DER). */
  data: Uint8Array;
  kind: "crl" | "arl";
  now?: Date;
  audit?: AuditSink;
  actor?: string;
}

export interface InstallCrlResult {
  kind: "crl" | "arl";
  /** Generation of the root key that signed it. */
  rootGen: number;
  number: bigint;
  previous: bigint | undefined;
  thisUpdate: Date;
  nextUpdate: Date;
  sha256: string;
  revoked: number;
  /** Certificates of this room the list revoked that were not marked revoked here before (serials). */
  newlyRevoked: string[];
  lint: LintResult[];
}

/** "ds.arl" -> arl, "x.crl" -> crl; otherwise undefined (the operator says which). */
export function kindFromFileName(name: string): "crl" | "arl" | undefined {
  const n = name.toLowerCase();
  return n.endsWith(".arl") || n.endsWith(".arl.pem")
    ? "arl"
    : n.endsWith(".crl") || n.endsWith(".crl.pem")
      ? "crl"
      : undefined;
}

/**
 * Installs a CRL/ARL signed at a root ceremony (control dts.crl.install-verified): the signature
 * verifies under a published IACA key named by its AKI, the issuer is that IACA, the CRL number is
 * strictly greater than the installed one of that key and kind, the Annex B profile lints clean, and nextUpdate is in
 * the future. Only then is it written to pki_crl, from where every DTS replica publishes it, and
 * the certificates it lists are marked revoked in this (operations) database in the same
 * transaction: the issuer stops signing with a listed DS within its cache time (1 s), and the
 * rotation job retires it.
 */
export async function installCrl(o: InstallCrlOptions): Promise<InstallCrlResult> {
  void DTS_CRL_INSTALL_VERIFIED;
  const now = o.now ?? new Date();
  const refuse = refuser(o);
  const { der, crl } = await readCrl(o.data, refuse);
  const set = parsePublishedSet(await o.source.load());
  const issuer = await crlIssuer(set, crl, refuse);
  const rootGen = await rootGeneration(set, crl, refuse);
  const previous = await o.source.latestCrlNumber(o.kind, rootGen);
  const results = await checkCrl(o, { der, crl, issuer, previous, now }, refuse);
  const number = crl.number!;
  const nextUpdate = crl.nextUpdate!;
  const newlyRevoked = await o.source.insertCrl(
    { kind: o.kind, number, rootGen, thisUpdate: crl.thisUpdate, nextUpdate, der },
    crl.revoked,
  );
  await o.audit?.append({
    actor: o.actor ?? "svc:dts",
    action: "dts.crl.install",
    targets: [`${o.kind}:${number}`, ...newlyRevoked],
    outcome: "success",
    clause: clause("4.9.7"),
    details: {
      sha256: crl.sha256,
      rootGen,
      nextUpdate: nextUpdate.toISOString(),
      revoked: crl.revokedSerials.length,
      newlyRevoked,
    },
  });
  return {
    kind: o.kind,
    number,
    rootGen,
    previous,
    thisUpdate: crl.thisUpdate,
    nextUpdate,
    sha256: crl.sha256,
    revoked: crl.revokedSerials.length,
    newlyRevoked,
    lint: results,
  };
}

type Refuse = (code: string, message: string, details?: Record<string, unknown>) => Promise<DtsError>;

/** A refusal: audited as denied, returned as the error to throw. */
function refuser(o: InstallCrlOptions): Refuse {
  return async (code, message, details) => {
    await o.audit?.append({
      actor: o.actor ?? "svc:dts",
      action: "dts.crl.install",
      targets: [o.kind],
      outcome: "denied",
      clause: clause("4.9.7"),
      details: { code, ...details },
    });
    return new DtsError(code, message, details);
  };
}

async function readCrl(data: Uint8Array, refuse: Refuse): Promise<{ der: Uint8Array; crl: CrlInfo }> {
  const der = fromPemOrDer(data)[0];
  try {
    if (!der) throw new Error("empty");
    return { der, crl: parseCrl(der) };
  } catch {
    throw await refuse("DTS_CRL_UNREADABLE", "not a DER or PEM X.509 CRL");
  }
}

/** The published IACA (or link) certificate whose name, key id and key match the list's signature. */
async function crlIssuer(set: PublishedSet, crl: CrlInfo, refuse: Refuse) {
  const candidates = set.certificates.filter(
    (c) =>
      (c.kind === "iaca" || c.kind === "link") && c.info.subject === crl.issuer && (!crl.aki || c.info.ski === crl.aki),
  );
  if (candidates.length === 0)
    throw await refuse(
      "DTS_CRL_ISSUER_UNKNOWN",
      `no published IACA certificate matches issuer "${crl.issuer}" with key id ${crl.aki || "(none)"}`,
    );
  for (const c of candidates) if (await crl.x509.verify({ publicKey: c.info.x509 }).catch(() => false)) return c;
  throw await refuse("DTS_CRL_SIGNATURE", "the CRL signature does not verify under the IACA key it names");
}

/**
 * The generation of the root key that signed the list (roots numbered by notBefore, as the DTS
 * publishes them): the list is that key's (pki.crl.per-key), published at that key's URL.
 */
async function rootGeneration(set: PublishedSet, crl: CrlInfo, refuse: Refuse): Promise<number> {
  const roots = set.certificates.filter((c) => c.kind === "iaca");
  const gen = roots.findIndex((r) => r.info.ski === crl.aki && r.info.subject === crl.issuer) + 1;
  if (gen === 0)
    throw await refuse(
      "DTS_CRL_ISSUER_UNKNOWN",
      `no published IACA root has key id ${crl.aki || "(none)"}: install the root's certificates first`,
    );
  return gen;
}

/** CRL number increase, the Annex B profile (linter) and the list's dates. */
async function checkCrl(
  o: InstallCrlOptions,
  c: { der: Uint8Array; crl: CrlInfo; issuer: PublishedCertificate; previous: bigint | undefined; now: Date },
  refuse: Refuse,
): Promise<LintResult[]> {
  const { crl, previous, now } = c;
  if (crl.number === undefined) throw await refuse("DTS_CRL_PROFILE", "CRL number missing");
  if (previous !== undefined && crl.number <= previous)
    throw await refuse(
      "DTS_CRL_NUMBER_NOT_INCREASING",
      `${o.kind.toUpperCase()} number ${crl.number} is not greater than the installed ${previous}`,
      { number: crl.number.toString(), previous: previous.toString() },
    );
  const { results } = lintArtifact(c.der, {
    policy: o.policy,
    issuer: c.issuer.info.asn1,
    profile: o.kind,
    ...(previous !== undefined ? { previousCrlNumber: previous } : {}),
  });
  const bad = failures(results);
  if (bad.length)
    throw await refuse(
      "DTS_CRL_PROFILE",
      `profile check failed: ${bad.map((r) => `${r.rule} (${r.detail})`).join("; ")}`,
      { rules: bad.map((r) => r.rule) },
    );
  if (!crl.nextUpdate || crl.nextUpdate.getTime() <= now.getTime())
    throw await refuse("DTS_CRL_EXPIRED", "the list's nextUpdate has already passed; sign a new one");
  if (crl.thisUpdate.getTime() > now.getTime() + 5 * 60_000)
    throw await refuse("DTS_CRL_NOT_YET_VALID", "thisUpdate is in the future (check the root room clock)");
  return results;
}
