// `iaca rotate`: the unattended key-rotation job. One idempotent pass, under a PostgreSQL advisory
// lock, that does whatever is due at `now` and says what it did: DS activation and retirement,
// destruction of retired DS keys, trust-list re-signing; and warns when a ceremony is needed soon.
import { auditSucceeded, type Database } from "@iaca/db";
import {
  currentTrustListSigner,
  DbSource,
  Publisher,
  parsePublishedSet,
  type TrustListSigner,
  vicalCertificates,
  vicalContentDigest,
  vicalNextUpdate,
} from "@iaca/dts";
import type { KeyStore } from "@iaca/hsm";
import { parseCertificate, usagePeriod } from "@iaca/pki";
import { type AuditSink, addDuration, clause, type Policy, subtractDuration } from "@iaca/policy";
import { CONTROLS } from "./controls.ts";

/** Advisory-lock name of the rotation job (db.withAdvisoryLock hashes it to a bigint). */
export const ROTATE_LOCK = "iaca.lifecycle.rotate";

export type RotationActionKind = "ds.activate" | "ds.retire" | "ds.destroy" | "trust-list.sign";

export interface RotationAction {
  kind: RotationActionKind;
  /** DS serial, key URI or trust-list issue. */
  target: string;
  /** When it became due. */
  due: Date;
  /** "done", "planned" (dry run), or why it waits ("awaiting-confirmation", "no-hsm"). */
  status: "done" | "planned" | "awaiting-confirmation" | "no-hsm";
  detail: string;
}

export type WarningKind =
  | "ds.none-usable"
  | "ds.renewal"
  | "crl.next-update"
  | "arl.next-update"
  | "root.rekey"
  | "tsl-signer.expiry"
  | "ds.destroy-confirmation";

export interface RotationWarning {
  kind: WarningKind;
  /** warning: a ceremony is due soon; critical: something is already late. */
  severity: "warning" | "critical";
  /** The deadline the warning is about. */
  due: Date | undefined;
  message: string;
}

export interface RotationResult {
  at: Date;
  dryRun: boolean;
  actions: RotationAction[];
  warnings: RotationWarning[];
  /** 0 nothing to warn about, 2 a ceremony is due soon, 3 something is late (see docs/operations-rotation.md). */
  exitCode: 0 | 2 | 3;
  /** The next instant at which a run could do or warn something new (without a ceremony in between). */
  nextDue: Date | undefined;
}

export interface RotationDeps {
  db: Database;
  policy: Policy;
  audit: AuditSink;
  /** The operations (DS) HSM: destroys retired DS keys and holds the trust-list signer key. */
  hsm?: KeyStore | undefined;
  /** Trust-list signer; default: the current one on `hsm`; `false`: never re-sign. */
  trustListSigner?: TrustListSigner | false | undefined;
  now?: () => Date;
  actor?: string;
  /** Long-running callers (scheduler, simulation) pass one object to skip unchanged trust-list work. */
  cache?: RotationCache | undefined;
}

/** What the last pass saw of the published set; the trust-list step is skipped while it holds. */
export interface RotationCache {
  publishedKey?: string;
  validUntil?: Date;
}

export interface RotationOptions {
  dryRun?: boolean;
  /** An operator confirms the destruction of due DS keys (policy ds.destroyConfirm). */
  confirmDestroy?: boolean;
}

const DAY = 86_400_000;
const iso = (d: Date) => d.toISOString();
const daysTo = (from: Date, to: Date) => Math.round(((to.getTime() - from.getTime()) / DAY) * 10) / 10;

/** Runs one rotation pass; safe to run concurrently from several hosts (one waits, then finds nothing to do). */
export async function runRotation(deps: RotationDeps, opts: RotationOptions = {}): Promise<RotationResult> {
  void CONTROLS.rotateExclusive;
  return deps.db.withAdvisoryLock(ROTATE_LOCK, () => rotateLocked(deps, opts));
}

async function rotateLocked(deps: RotationDeps, opts: RotationOptions): Promise<RotationResult> {
  const { db, policy } = deps;
  const now = deps.now ? deps.now() : new Date();
  const dry = !!opts.dryRun;
  const actor = deps.actor ?? "svc:rotate";
  const actions: RotationAction[] = [];
  const warnings: RotationWarning[] = [];
  const upcoming: Date[] = [];
  const later = (d: Date | null | undefined) => {
    if (d && d > now) upcoming.push(d);
  };
  const audited = (action: string, target: string) => auditSucceeded(db.sql, action, target);
  const record = (action: string, c: string, targets: string[], details: Record<string, unknown>) =>
    deps.audit.append({
      actor,
      action,
      targets,
      outcome: "success",
      clause: clause(c),
      details: { ...details, at: iso(now) },
    });

  // Certificates whose key is destroyed are finished: nothing is ever due for them again.
  const keys = new Map(
    (await db.prisma.pkiKey.findMany({ where: { role: "ds", destroyedAt: null } })).map((k) => [k.uri, k] as const),
  );
  const rows = (
    await db.prisma.pkiCertificate.findMany({
      where: { kind: "ds", keyRef: { not: null }, installedAt: { not: null } },
      orderBy: [{ activatesAt: "asc" }, { notBefore: "asc" }],
    })
  ).filter((r) => keys.has(r.keyRef!));

  // 1. Activation: the planned activation time has come (the issuer's key choice follows the
  //    records; this step makes the hand-over explicit, audited, and retires the predecessors).
  void CONTROLS.dsActivate;
  for (const row of rows) {
    const at = row.activatesAt ?? row.notBefore;
    const u = usagePeriod(row, policy);
    later(at);
    later(u.end);
    later(row.retiredAt);
    later(addDuration(row.notAfter, policy.ds.destroyGrace));
    // revoked, or stopped (`iaca ds stop`) before its activation or before this run saw it: it
    // never takes over
    if (row.revokedAt || (row.retiredAt && row.retiredAt <= at) || at > now || now > u.end) continue;
    if (await audited("ds.activate", row.serial)) continue;
    if (await audited("ds.stop", row.serial)) continue;
    const older = rows.filter(
      (o) => o.serial !== row.serial && !o.retiredAt && (o.activatesAt ?? o.notBefore) < at && !o.revokedAt,
    );
    actions.push({
      kind: "ds.activate",
      target: row.serial,
      due: at,
      status: dry ? "planned" : "done",
      detail: `DS ${row.serial} signs from ${iso(at)} to ${iso(u.end)}${older.length ? `; retires ${older.map((o) => o.serial).join(", ")}` : ""}`,
    });
    if (dry) continue;
    for (const o of older) {
      await db.prisma.pkiCertificate.updateMany({
        where: { serial: o.serial, retiredAt: null },
        data: { retiredAt: at },
      });
      o.retiredAt = at;
    }
    await record("ds.activate", "6.3.2", [row.serial, row.keyRef!], {
      activatesAt: iso(at),
      usageEnd: iso(u.end),
      retires: older.map((o) => o.serial),
    });
  }

  // 2. Retirement: superseded, revoked, or at the end of the private-key usage period.
  void CONTROLS.dsUsageEnd;
  for (const row of rows) {
    const u = usagePeriod(row, policy);
    const ends = [row.retiredAt, row.revokedAt, u.end].filter((d): d is Date => !!d);
    const retiredAt = new Date(Math.min(...ends.map((d) => d.getTime())));
    if (retiredAt > now) continue;
    if (await audited("ds.retire", row.serial)) continue;
    const why =
      row.revokedAt && row.revokedAt <= retiredAt
        ? "revoked"
        : row.retiredAt
          ? (await audited("ds.stop", row.serial))
            ? "stopped"
            : "superseded"
          : "usage-end";
    actions.push({
      kind: "ds.retire",
      target: row.serial,
      due: retiredAt,
      status: dry ? "planned" : "done",
      detail: `DS ${row.serial} stops signing (${why} ${iso(retiredAt)})`,
    });
    if (dry) continue;
    if (!row.retiredAt)
      await db.prisma.pkiCertificate.updateMany({
        where: { serial: row.serial, retiredAt: null },
        data: { retiredAt },
      });
    row.retiredAt ??= retiredAt;
    await record("ds.retire", "6.3.2", [row.serial, row.keyRef!], { retiredAt: iso(retiredAt), why });
  }

  // 3. Destruction: retired keys whose certificate expired at least destroyGrace ago.
  void CONTROLS.dsDestroy;
  for (const row of rows) {
    const key = keys.get(row.keyRef!);
    if (!key || key.destroyedAt) continue;
    const retired = row.retiredAt || row.revokedAt || usagePeriod(row, policy).end <= now;
    const due = addDuration(row.notAfter, policy.ds.destroyGrace);
    if (!retired || due > now) continue;
    // Never destroy a key another (still live) certificate of this room names.
    if (rows.some((o) => o.keyRef === row.keyRef && o.serial !== row.serial && o.notAfter > now)) continue;
    const base = { kind: "ds.destroy" as const, target: key.uri, due };
    const detail = `DS key of ${row.serial} (certificate expired ${iso(row.notAfter)}, grace ${policy.ds.destroyGrace})`;
    if (policy.ds.destroyConfirm && !opts.confirmDestroy) {
      actions.push({ ...base, status: "awaiting-confirmation", detail });
      warnings.push({
        kind: "ds.destroy-confirmation",
        severity: "warning",
        due,
        message: `${detail}: destruction waits for an operator (policy ds.destroyConfirm): run \`iaca rotate --confirm-destroy\``,
      });
      continue;
    }
    if (dry) {
      actions.push({ ...base, status: "planned", detail });
      continue;
    }
    if (!deps.hsm) {
      actions.push({ ...base, status: "no-hsm", detail: `${detail}: the DS HSM is not open` });
      continue;
    }
    try {
      await deps.hsm.destroy(key.uri, { actor, reason: `retired DS ${row.serial}: certificate expired + grace` });
    } catch (e) {
      if ((e as { code?: string }).code !== "HSM_KEY_NOT_FOUND") throw e;
    }
    await db.prisma.pkiKey.update({ where: { uri: key.uri }, data: { destroyedAt: now } });
    key.destroyedAt = now;
    await record("ds.key.destroy", "6.2.10", [key.uri, row.serial], {
      certificateNotAfter: iso(row.notAfter),
      grace: policy.ds.destroyGrace,
      confirmedByOperator: !!opts.confirmDestroy,
    });
    actions.push({ ...base, status: "done", detail });
  }

  // 4. Trust list: re-sign when the published set (roots, CRL/ARL nextUpdate, signer) changed.
  void CONTROLS.trustListResign;
  const signer =
    deps.trustListSigner === false
      ? undefined
      : (deps.trustListSigner ?? (deps.hsm ? (await currentTrustListSigner(db, deps.hsm, now))?.signer : undefined));
  const publishedKey = signer ? await publishedFingerprint(db, parseCertificate(signer.certificate).sha256) : "";
  const cache = deps.cache;
  if (signer && cache?.publishedKey === publishedKey && cache.validUntil && now < cache.validUntil && !dry) {
    // unchanged since the last pass, and no root expires before validUntil: the issue still holds
  } else if (signer) {
    const source = new DbSource(db.sql);
    const set = parsePublishedSet(await source.load());
    const digest = vicalContentDigest(
      vicalCertificates(set, now),
      ["org.iso.23220.1.jp.mnc"],
      vicalNextUpdate(set, now),
      parseCertificate(signer.certificate).sha256,
    );
    if (!set.trustList || set.trustList.contentDigest !== digest) {
      const before = set.trustList?.issueId ?? 0;
      if (dry)
        actions.push({
          kind: "trust-list.sign",
          target: `issue ${before + 1}`,
          due: now,
          status: "planned",
          detail: "the published set changed: a new trust-list issue would be signed",
        });
      else {
        const publisher = new Publisher({ source, policy, signer, clock: () => now });
        const tree = await publisher.refresh();
        const issue = tree.set.trustList?.issueId ?? before;
        if (issue > before) {
          await record("dts.trust-list.sign", "6.3.2", [`trust-list:${issue}`], {
            roots: vicalCertificates(tree.set, now).map((c) => c.info.serial),
          });
          actions.push({
            kind: "trust-list.sign",
            target: `issue ${issue}`,
            due: now,
            status: "done",
            detail: `trust list issue ${issue} signed (${vicalCertificates(tree.set, now).length} IACA certificates)`,
          });
        }
      }
    }
    if (cache && !dry) {
      cache.publishedKey = await publishedFingerprint(db, parseCertificate(signer.certificate).sha256);
      const ends = set.certificates
        .filter((c) => c.kind === "iaca" && c.info.notAfter > now)
        .map((c) => c.info.notAfter);
      cache.validUntil = new Date(Math.min(addDuration(now, "P1D").getTime(), ...ends.map((d) => d.getTime() + 1)));
    }
  }

  warnings.push(...(await ceremonyWarnings(db, policy, now, later)));
  const exitCode = warnings.some((w) => w.severity === "critical") ? 3 : warnings.length ? 2 : 0;
  const nextDue = upcoming.length ? new Date(Math.min(...upcoming.map((d) => d.getTime()))) : undefined;
  return { at: now, dryRun: dry, actions, warnings, exitCode, nextDue };
}

/** What the operators must prepare soon (control lifecycle.ceremony.reminder, lifecycle.crl.fresh). */
export async function ceremonyWarnings(
  db: Database,
  policy: Policy,
  now: Date,
  /** Receives the future instants at which a warning would change. */
  later: (d: Date) => void = () => undefined,
): Promise<RotationWarning[]> {
  void CONTROLS.ceremonyReminder;
  const out: RotationWarning[] = [];
  const certs = await db.prisma.pkiCertificate.findMany({
    where: { kind: { in: ["iaca", "ds", "tsl-signer"] } },
    orderBy: { notBefore: "asc" },
    select: {
      serial: true,
      kind: true,
      keyRef: true,
      notBefore: true,
      notAfter: true,
      activatesAt: true,
      installedAt: true,
      retiredAt: true,
      revokedAt: true,
    },
  });
  const roots = certs.filter((c) => c.kind === "iaca");
  if (roots.length === 0) return out;

  // DS: the key signing now, and whether its successor is installed renewalLead before the usage period ends.
  const ds = certs
    .filter((c) => c.kind === "ds" && c.keyRef && c.installedAt && !c.revokedAt)
    .map((c) => ({ c, u: usagePeriod(c, policy) }));
  const current = ds.filter(({ c, u }) => u.start <= now && now <= u.end && !(c.retiredAt && c.retiredAt <= now));
  if (current.length === 0)
    out.push({
      kind: "ds.none-usable",
      severity: "critical",
      due: now,
      message: "no installed DS key may sign now: issuance is refused until a DS certificate is installed",
    });
  else {
    const cur = current[current.length - 1]!;
    const next = ds.filter(({ u }) => u.start > now && u.start <= cur.u.end);
    const warnAt = subtractDuration(cur.u.end, policy.ds.renewalLead);
    later(warnAt);
    later(cur.u.end);
    if (next.length === 0 && now >= warnAt)
      out.push({
        kind: "ds.renewal",
        severity: "warning",
        due: cur.u.end,
        message: `DS ${cur.c.serial} may sign until ${iso(cur.u.end)} (${daysTo(now, cur.u.end)} days) and no successor is installed: hold a DS ceremony (policy ds.renewalLead ${policy.ds.renewalLead})`,
      });
  }

  // CRL / ARL freshness.
  void CONTROLS.crlFresh;
  for (const kind of ["crl", "arl"] as const) {
    const last = await db.prisma.pkiCrl.findFirst({ where: { kind }, orderBy: { number: "desc" } });
    const label = kind.toUpperCase();
    if (!last) {
      out.push({ kind: `${kind}.next-update`, severity: "critical", due: undefined, message: `no ${label} installed` });
      continue;
    }
    const warnAt = subtractDuration(last.nextUpdate, policy.revocation.warnBefore);
    later(warnAt);
    later(last.nextUpdate);
    if (now >= last.nextUpdate)
      out.push({
        kind: `${kind}.next-update`,
        severity: "critical",
        due: last.nextUpdate,
        message: `${label} #${last.number} is stale since ${iso(last.nextUpdate)}: verifiers reject DS/IACA certificates; hold a root ceremony now`,
      });
    else if (now >= warnAt)
      out.push({
        kind: `${kind}.next-update`,
        severity: "warning",
        due: last.nextUpdate,
        message: `${label} #${last.number} nextUpdate ${iso(last.nextUpdate)} in ${daysTo(now, last.nextUpdate)} days: a root ceremony must issue the next one (policy revocation.warnBefore ${policy.revocation.warnBefore})`,
      });
  }

  // Root re-key: firstRekeyAfter after the first root, then every rekeyInterval; start rekeyLead ahead.
  for (const r of roots) later(r.notAfter);
  const first = roots[0]!;
  const latest = roots[roots.length - 1]!;
  const due =
    roots.length === 1
      ? addDuration(first.notBefore, policy.iaca.firstRekeyAfter)
      : addDuration(latest.notBefore, policy.iaca.rekeyInterval);
  const rekeyAt = new Date(Math.min(due.getTime(), subtractDuration(latest.notAfter, policy.iaca.rekeyLead).getTime()));
  later(subtractDuration(rekeyAt, policy.iaca.rekeyLead));
  later(latest.notAfter);
  if (now >= subtractDuration(rekeyAt, policy.iaca.rekeyLead))
    out.push({
      kind: "root.rekey",
      severity: now >= latest.notAfter ? "critical" : "warning",
      due: rekeyAt,
      message: `root re-key due ${iso(rekeyAt)} (${daysTo(now, rekeyAt)} days; root valid to ${iso(latest.notAfter)}): prepare the key ceremony with link certificates (policy iaca.rekeyLead ${policy.iaca.rekeyLead})`,
    });

  // Trust-list signer.
  const tsl = certs.filter((c) => c.kind === "tsl-signer" && !c.revokedAt && c.notBefore <= now);
  const signer = tsl[tsl.length - 1];
  if (signer) {
    const newer = certs.some((c) => c.kind === "tsl-signer" && !c.revokedAt && c.notBefore > now);
    later(subtractDuration(signer.notAfter, policy.ds.renewalLead));
    later(signer.notAfter);
    for (const c of tsl) later(c.notBefore);
    for (const c of certs) if (c.kind === "tsl-signer" && c.notBefore > now) later(c.notBefore);
    if (now >= signer.notAfter && !newer)
      out.push({
        kind: "tsl-signer.expiry",
        severity: "critical",
        due: signer.notAfter,
        message: `the trust-list signer certificate expired ${iso(signer.notAfter)}: the trust list can no longer be re-signed`,
      });
    else if (now >= subtractDuration(signer.notAfter, policy.ds.renewalLead) && !newer)
      out.push({
        kind: "tsl-signer.expiry",
        severity: "warning",
        due: signer.notAfter,
        message: `the trust-list signer certificate expires ${iso(signer.notAfter)} (${daysTo(now, signer.notAfter)} days): have the next one issued at a root ceremony`,
      });
  }
  return out;
}

/** The result for people: one line per action and warning. */
export function formatRotation(r: RotationResult): string {
  const out = [`rotate at ${iso(r.at)}${r.dryRun ? " (dry run: nothing changed)" : ""}`];
  if (r.actions.length === 0) out.push("  nothing due");
  for (const a of r.actions) out.push(`  ${a.status.padEnd(21)} ${a.kind.padEnd(15)} ${a.detail}`);
  for (const w of r.warnings) out.push(`  ${w.severity.toUpperCase().padEnd(21)} ${w.kind.padEnd(15)} ${w.message}`);
  return `${out.join("\n")}\n`;
}

/** Prometheus text exposition (node_exporter textfile collector or the server's /metrics). */
export function rotationMetrics(r: RotationResult): string {
  const lines = [
    "# HELP iaca_rotation_last_run_timestamp_seconds When the rotation job last ran.",
    "# TYPE iaca_rotation_last_run_timestamp_seconds gauge",
    `iaca_rotation_last_run_timestamp_seconds ${Math.floor(r.at.getTime() / 1000)}`,
    "# HELP iaca_rotation_status 0 ok, 2 a ceremony is due soon, 3 something is late.",
    "# TYPE iaca_rotation_status gauge",
    `iaca_rotation_status ${r.exitCode}`,
    "# HELP iaca_rotation_actions Actions of the last run by kind and status.",
    "# TYPE iaca_rotation_actions gauge",
  ];
  const counts = new Map<string, number>();
  for (const a of r.actions) {
    const k = `kind="${a.kind}",status="${a.status}"`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  for (const [k, n] of counts) lines.push(`iaca_rotation_actions{${k}} ${n}`);
  lines.push(
    "# HELP iaca_rotation_warning A ceremony or list needs attention (1 warning, 2 critical).",
    "# TYPE iaca_rotation_warning gauge",
  );
  for (const w of r.warnings)
    lines.push(`iaca_rotation_warning{kind="${w.kind}"} ${w.severity === "critical" ? 2 : 1}`);
  lines.push(
    "# HELP iaca_rotation_due_seconds Seconds until the deadline a warning is about (negative when late).",
    "# TYPE iaca_rotation_due_seconds gauge",
  );
  for (const w of r.warnings)
    if (w.due)
      lines.push(
        `iaca_rotation_due_seconds{kind="${w.kind}"} ${Math.round((w.due.getTime() - r.at.getTime()) / 1000)}`,
      );
  return `${lines.join("\n")}\n`;
}

/** Changes whenever anything the trust list is derived from changes (certificates, lists, issues, signer). */
async function publishedFingerprint(db: Database, signerSha256: string): Promise<string> {
  const [r] = await db.sql.query<{ k: string | null }>(
    `SELECT concat_ws('|',
       (SELECT string_agg(sha256 || ':' || coalesce(revoked_at::text, ''), ',' ORDER BY sha256) FROM pki_certificate WHERE kind IN ('iaca', 'link')),
       (SELECT string_agg(kind || number::text, ',' ORDER BY kind, number) FROM pki_crl WHERE (kind, number) IN (SELECT kind, max(number) FROM pki_crl GROUP BY kind)),
       (SELECT max(issue_id)::text FROM dts_trust_list)) AS k`,
  );
  return `${r?.k ?? ""}|${signerSha256}`;
}
