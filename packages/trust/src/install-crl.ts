import { type CrlInfo, failures, fromPemOrDer, type LintResult, lintArtifact, parseCrl } from "@iaca/pki";
import { type AuditSink, clause, type Policy } from "@iaca/policy";
import { DTS_CRL_INSTALL_VERIFIED } from "./controls.ts";
import { DtsError } from "./paths.ts";
import { parsePublishedSet } from "./published.ts";
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
 * strictly greater than the installed one, the Annex B profile lints clean, and nextUpdate is in
 * the future. Only then is it written to pki_crl, from where every DTS replica publishes it, and
 * the certificates it lists are marked revoked in this (operations) database in the same
 * transaction: the issuer stops signing with a listed DS within its cache time (1 s), and the
 * rotation job retires it.
 */
export async function installCrl(o: InstallCrlOptions): Promise<InstallCrlResult> {
  void DTS_CRL_INSTALL_VERIFIED;
  const now = o.now ?? new Date();
  const refuse = async (code: string, message: string, details?: Record<string, unknown>) => {
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
  const der = fromPemOrDer(o.data)[0];
  let crl: CrlInfo;
  try {
    if (!der) throw new Error("empty");
    crl = parseCrl(der);
  } catch {
    throw await refuse("DTS_CRL_UNREADABLE", "not a DER or PEM X.509 CRL");
  }
  const set = parsePublishedSet(await o.source.load());
  const candidates = set.certificates.filter(
    (c) =>
      (c.kind === "iaca" || c.kind === "link") && c.info.subject === crl.issuer && (!crl.aki || c.info.ski === crl.aki),
  );
  if (candidates.length === 0)
    throw await refuse(
      "DTS_CRL_ISSUER_UNKNOWN",
      `no published IACA certificate matches issuer "${crl.issuer}" with key id ${crl.aki || "(none)"}`,
    );
  let issuer: (typeof candidates)[number] | undefined;
  for (const c of candidates) {
    if (await crl.x509.verify({ publicKey: c.info.x509 }).catch(() => false)) {
      issuer = c;
      break;
    }
  }
  if (!issuer) throw await refuse("DTS_CRL_SIGNATURE", "the CRL signature does not verify under the IACA key it names");
  const previous = await o.source.latestCrlNumber(o.kind);
  if (crl.number === undefined) throw await refuse("DTS_CRL_PROFILE", "CRL number missing");
  if (previous !== undefined && crl.number <= previous)
    throw await refuse(
      "DTS_CRL_NUMBER_NOT_INCREASING",
      `${o.kind.toUpperCase()} number ${crl.number} is not greater than the installed ${previous}`,
      { number: crl.number.toString(), previous: previous.toString() },
    );
  const { results } = lintArtifact(der!, {
    policy: o.policy,
    issuer: issuer.info.asn1,
    profile: o.kind,
    ...(previous !== undefined ? { previousCrlNumber: previous } : {}),
  });
  const bad = failures(results);
  if (bad.length)
    throw await refuse(
      "DTS_CRL_PROFILE",
      `profile check failed: ${bad.map((r) => `${r.rule} (${r.detail})`).join("; ")}`,
      {
        rules: bad.map((r) => r.rule),
      },
    );
  if (!crl.nextUpdate || crl.nextUpdate.getTime() <= now.getTime())
    throw await refuse("DTS_CRL_EXPIRED", "the list's nextUpdate has already passed; sign a new one");
  if (crl.thisUpdate.getTime() > now.getTime() + 5 * 60_000)
    throw await refuse("DTS_CRL_NOT_YET_VALID", "thisUpdate is in the future (check the root room clock)");
  const newlyRevoked = await o.source.insertCrl(
    { kind: o.kind, number: crl.number, thisUpdate: crl.thisUpdate, nextUpdate: crl.nextUpdate, der: der! },
    crl.revoked,
  );
  await o.audit?.append({
    actor: o.actor ?? "svc:dts",
    action: "dts.crl.install",
    targets: [`${o.kind}:${crl.number}`, ...newlyRevoked],
    outcome: "success",
    clause: clause("4.9.7"),
    details: {
      sha256: crl.sha256,
      nextUpdate: crl.nextUpdate.toISOString(),
      revoked: crl.revokedSerials.length,
      newlyRevoked,
    },
  });
  return {
    kind: o.kind,
    number: crl.number,
    previous,
    thisUpdate: crl.thisUpdate,
    nextUpdate: crl.nextUpdate,
    sha256: crl.sha256,
    revoked: crl.revokedSerials.length,
    newlyRevoked,
    lint: results,
  };
}
