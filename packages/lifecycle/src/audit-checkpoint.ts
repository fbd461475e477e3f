// Audit checkpoints: the head of the hash-chained audit log, signed in the HSM and appended to a
// file outside the database (CP/CPS 5.4.4, control audit.checkpoint.anchored). Whoever owns the
// database can recompute the hashes of a suffix or cut the tail, and the table alone would still
// verify; a checkpoint they cannot sign (the key stays in the HSM) and cannot rewrite (it is not
// in the database) exposes both. `iaca audit verify` reads the file by default.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { type AuditChainHead, type AuditVerifyResult, type Database, verifyAuditChain } from "@iaca/db";
import type { KeyStore } from "@iaca/hsm";
import { type CborValue, decodeCbor, encodeCbor, parseSign1, signSign1, verifySign1 } from "@iaca/mdoc";
import { sha256 } from "@iaca/pki";
import { IacaError } from "@iaca/policy";
import { CONTROLS } from "./controls.ts";

/** HSM label of the checkpoint key (operations token, beside the DS keys). */
export const AUDIT_CHECKPOINT_KEY_LABEL = "iaca-audit-checkpoint";
/** Advisory lock: one replica writes a checkpoint at a time. */
export const AUDIT_CHECKPOINT_LOCK = "iaca.audit.checkpoint";
const HEADER_KID = 4;

export class AuditCheckpointError extends IacaError {}

/** One verified checkpoint line. */
export interface AuditCheckpoint extends AuditChainHead {
  at: Date;
  /** SHA-256 of the signing key's SubjectPublicKeyInfo (hex). */
  kid: string;
}

export interface CheckpointKey {
  uri: string;
  spki: Uint8Array;
  kid: string;
}

/** The checkpoint key in this HSM, created (and audited) when `create` is set and it is missing. */
export async function auditCheckpointKey(
  hsm: KeyStore,
  o: { create?: boolean; actor?: string } = {},
): Promise<CheckpointKey | undefined> {
  let key = (await hsm.listKeys()).find((k) => k.label === AUDIT_CHECKPOINT_KEY_LABEL && k.kind === "ec");
  if (!key && o.create)
    key = await hsm.generateEcKey(AUDIT_CHECKPOINT_KEY_LABEL, { curve: "P-256", actor: o.actor ?? "svc:audit" });
  if (!key) return undefined;
  const spki = (await hsm.getPublicKey(key.uri)).spki;
  return { uri: key.uri, spki, kid: sha256(spki) };
}

/**
 * Reads and verifies a checkpoint file: every line signed by one key (`expectKid` when given),
 * payload and outer fields agreeing, seq strictly increasing. A line that fails is reported, not
 * skipped: an edited checkpoint file is itself a finding.
 */
export function readAuditCheckpoints(
  file: string,
  o: { expectKid?: string } = {},
): { checkpoints: AuditCheckpoint[]; kid: string | undefined; problems: string[] } {
  const checkpoints: AuditCheckpoint[] = [];
  const problems: string[] = [];
  let kid = o.expectKid;
  const lines = existsSync(file)
    ? readFileSync(file, "utf8")
        .split("\n")
        .filter((l) => l.trim())
    : [];
  for (const [i, line] of lines.entries()) {
    const c = parseCheckpointLine(line);
    if (typeof c === "string") {
      problems.push(`line ${i + 1}: ${c}`);
      continue;
    }
    kid ??= c.kid;
    const last = checkpoints.at(-1);
    if (c.kid !== kid) problems.push(`line ${i + 1}: signed by key ${c.kid}, not ${kid}`);
    else if (last && c.seq <= last.seq) problems.push(`line ${i + 1}: seq ${c.seq} after ${last.seq}`);
    else checkpoints.push(c);
  }
  return { checkpoints, kid, problems };
}

function parseCheckpointLine(line: string): AuditCheckpoint | string {
  try {
    const j = JSON.parse(line) as { seq: number; hash: string; at: string; kid: string; spki: string; cose: string };
    const spki = new Uint8Array(Buffer.from(j.spki, "base64"));
    const s = parseSign1(decodeCbor(new Uint8Array(Buffer.from(j.cose, "base64url"))));
    if (sha256(spki) !== j.kid || !verifySign1(s, { spki })) return "signature does not verify";
    const p = decodeCbor(s.payload!) as Map<string, CborValue>;
    const c = { seq: Number(p.get("seq")), hash: String(p.get("hash")), at: new Date(String(p.get("at"))), kid: j.kid };
    if (c.seq !== j.seq || c.hash !== j.hash || c.at.toISOString() !== j.at)
      return "fields differ from the signed payload";
    if (!Number.isInteger(c.seq) || c.seq < 1 || !/^[0-9a-f]{64}$/.test(c.hash)) return "malformed head";
    return c;
  } catch (e) {
    return `unreadable (${(e as Error).message})`;
  }
}

export interface WriteCheckpointOptions {
  db: Database;
  hsm: KeyStore;
  file: string;
  now?: Date;
  actor?: string;
}

/**
 * Verifies the rows written since the last checkpoint (and that the last checkpoint is still in
 * the table), signs the current head and appends it to `file` (0600, fsync). Nothing is signed
 * over a chain that does not verify: the error names the first bad row.
 */
export async function writeAuditCheckpoint(
  o: WriteCheckpointOptions,
): Promise<{ written: boolean; head: AuditChainHead | null }> {
  void CONTROLS.auditCheckpointAnchored;
  const key = await auditCheckpointKey(o.hsm);
  if (!key)
    throw new AuditCheckpointError(
      "AUDIT_CHECKPOINT_NO_KEY",
      "no audit checkpoint key in the HSM: run `iaca audit keygen`",
    );
  return o.db.withAdvisoryLock(AUDIT_CHECKPOINT_LOCK, async () => {
    const { checkpoints, problems } = readAuditCheckpoints(o.file, { expectKid: key.kid });
    if (problems.length)
      throw new AuditCheckpointError("AUDIT_CHECKPOINT_FILE", `checkpoint file ${o.file}: ${problems[0]}`);
    const last = checkpoints.at(-1);
    const r = await verifyAuditChain(o.db, last ? { from: last, checkpoints: [last] } : {});
    if (!r.ok) throw chainBroken(r);
    if (!r.head || r.head.seq === last?.seq) return { written: false, head: r.head };
    await appendCheckpoint(o, key, r.head);
    return { written: true, head: r.head };
  });
}

function chainBroken(r: AuditVerifyResult): AuditCheckpointError {
  return new AuditCheckpointError(
    "AUDIT_CHAIN_BROKEN",
    `audit chain broken at seq ${r.failure!.seq} (${r.failure!.kind}): ${r.failure!.message}; no checkpoint signed`,
    { seq: r.failure!.seq, kind: r.failure!.kind },
  );
}

async function appendCheckpoint(o: WriteCheckpointOptions, key: CheckpointKey, head: AuditChainHead): Promise<void> {
  const at = (o.now ?? new Date()).toISOString();
  const payload = encodeCbor(
    new Map<CborValue, CborValue>([
      ["seq", head.seq],
      ["hash", head.hash],
      ["at", at],
    ]),
  );
  const sign1 = await signSign1(
    { payload, protectedHeaders: new Map([[HEADER_KID, Buffer.from(key.kid, "hex")]]) },
    await o.hsm.signer(key.uri),
  );
  const line = JSON.stringify({
    seq: head.seq,
    hash: head.hash,
    at,
    kid: key.kid,
    spki: Buffer.from(key.spki).toString("base64"),
    cose: Buffer.from(encodeCbor(sign1)).toString("base64url"),
  });
  mkdirSync(dirname(o.file), { recursive: true, mode: 0o700 });
  const fd = openSync(o.file, "a", 0o600);
  try {
    writeSync(fd, `${line}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export interface AnchoredVerifyResult extends AuditVerifyResult {
  checkpoints: { file: string; count: number; latest: AuditCheckpoint | null; kid: string | undefined };
}

/**
 * The whole chain against every checkpoint in `file` (audit verify's default): edits, deletions,
 * insertions and reorderings by the chain itself, a cut tail and a suffix rewritten with recomputed
 * hashes by the checkpoints. A checkpoint file that does not verify fails too.
 */
export async function verifyAuditAnchored(
  db: Pick<Database, "sql">,
  file: string,
  o: { expectKid?: string; expectedHead?: AuditChainHead } = {},
): Promise<AnchoredVerifyResult> {
  const { checkpoints, kid, problems } = readAuditCheckpoints(file, o);
  const info = { file, count: checkpoints.length, latest: checkpoints.at(-1) ?? null, kid };
  if (problems.length)
    return {
      ok: false,
      count: 0,
      head: null,
      failure: { kind: "modified", seq: 0, message: `checkpoint file: ${problems[0]}` },
      control: CONTROLS.auditCheckpointAnchored.id,
      checkpoints: info,
    };
  const r = await verifyAuditChain(db, { checkpoints, ...(o.expectedHead ? { expectedHead: o.expectedHead } : {}) });
  return { ...r, checkpoints: info };
}

/** A running checkpoint timer. */
export interface AuditCheckpointTimer {
  stop(): void;
  /** The last pass: its result or its error (for readiness and metrics). */
  last: { at: Date; head?: AuditChainHead | null; error?: string } | undefined;
  /** When a pass last succeeded (undefined: none yet). */
  lastOk: Date | undefined;
}

/**
 * Writes a checkpoint every `everyMs` when the head moved (one replica at a time through the
 * advisory lock). A failed pass (broken chain, edited file, HSM down) is reported to `onError`
 * and tried again at the next tick.
 */
export function startAuditCheckpoints(
  o: Omit<WriteCheckpointOptions, "now"> & { everyMs: number; onError?: (e: Error) => void },
): AuditCheckpointTimer {
  let busy = false;
  const timer: AuditCheckpointTimer = { last: undefined, lastOk: undefined, stop: () => clearInterval(handle) };
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      const r = await writeAuditCheckpoint(o);
      timer.last = { at: new Date(), head: r.head };
      timer.lastOk = timer.last.at;
    } catch (e) {
      timer.last = { at: new Date(), error: (e as Error).message };
      o.onError?.(e as Error);
    } finally {
      busy = false;
    }
  };
  const handle = setInterval(() => void tick(), o.everyMs);
  handle.unref();
  void tick();
  return timer;
}
