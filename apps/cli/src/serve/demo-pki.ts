import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Database, SignerKind } from "@iaca/db";
import type { KeyStore } from "@iaca/hsm";
import {
  authorize,
  bootstrapOperators,
  currentRoot,
  dsInstall,
  dsKeygen,
  type Room,
  rootCrl,
  rootInit,
  rootSignCsr,
} from "@iaca/pki";
import type { AuditSink, Policy } from "@iaca/policy";
import { signerInstall, signerKeygen } from "@iaca/trust";
import { openRole } from "./hsm.ts";

type Credential = { id: string; secret: string };
const envName = (id: string) => `IACA_OPERATOR_SECRET_${id.toUpperCase().replace(/-/g, "_")}`;

/**
 * Two throwaway ceremony operators for the demo: enrolled on the first start with their secrets
 * written to var/demo-operators.env (0600), read back from there on later starts.
 */
async function demoOperators(db: Database, policy: Policy, audit: AuditSink): Promise<Credential[]> {
  const opsFile = resolve(process.env.IACA_DATA_DIR || "./var", "demo-operators.env");
  const creds: Credential[] = [
    { id: "demo-alice", secret: randomBytes(18).toString("base64url") },
    { id: "demo-bob", secret: randomBytes(18).toString("base64url") },
  ];
  if ((await db.stores.operators.count()) === 0) {
    await bootstrapOperators({ policy, db, audit }, creds);
    mkdirSync(resolve(opsFile, ".."), { recursive: true });
    writeFileSync(
      opsFile,
      `# demo ceremony operators (iaca serve first start); never use in production\n${creds
        .map((c) => `${envName(c.id)}=${c.secret}`)
        .join("\n")}\n`,
      { mode: 0o600 },
    );
  } else if (existsSync(opsFile)) {
    const env = Object.fromEntries(
      readFileSync(opsFile, "utf8")
        .split("\n")
        .filter((l) => l.startsWith("IACA_OPERATOR_SECRET_"))
        .map((l) => l.split("=") as [string, string]),
    );
    for (const c of creds) c.secret = env[envName(c.id)] ?? c.secret;
  }
  return creds;
}

/**
 * The trust-list signer of the demo: key on the DS token, certificate from the root (profile
 * tsl-signer, EKU 1.0.18013.5.1.8), installed so the DTS signs trust-list.cose from the first start.
 * In production the same three steps are `iaca dts signer keygen`, `iaca root sign-csr --profile
 * tsl-signer` in the root room and `iaca dts signer install` (docs/runbook).
 */
async function demoTrustListSigner(ops: Room, root: Room, role: SignerKind = "tsl-signer"): Promise<string> {
  const base = { db: ops.db, hsm: ops.hsm, policy: ops.policy, audit: ops.audit, actor: ops.actors[0]!, role };
  const k = await signerKeygen(base);
  const s = await rootSignCsr(root, k.csr, { profile: role, notBefore: new Date(Date.now() - 3600_000) });
  await signerInstall({ ...base, data: s.cert.der });
  return s.serial;
}

/** Runs `fn` with the demo's root token open and a room factory over its two throwaway operators. */
async function withDemoRooms<T>(
  db: Database,
  policy: Policy,
  audit: AuditSink,
  fn: (room: (hsm: KeyStore, step: string) => Promise<Room>, rootKs: KeyStore) => Promise<T>,
): Promise<T> {
  const rootKs = await openRole("root", audit, "svc:demo");
  try {
    const creds = await demoOperators(db, policy, audit);
    const room = async (hsm: KeyStore, step: string): Promise<Room> => ({
      policy,
      db,
      hsm,
      audit,
      actors: await authorize(db, policy, step, creds),
    });
    return await fn(room, rootKs);
  } finally {
    rootKs.close();
  }
}

/** The status-list signer of the demo (profile status-signer), when the database has none yet. */
export async function ensureDemoStatusSigner(
  db: Database,
  policy: Policy,
  audit: AuditSink,
  dsKs: KeyStore,
  log: (s: string) => void,
): Promise<void> {
  if (await db.stores.certificates.lastExpiringDtsSigner("status-signer")) return;
  await withDemoRooms(db, policy, audit, async (room, rootKs) => {
    const ops = await room(dsKs, "ds.keygen");
    const serial = await demoTrustListSigner(ops, await room(rootKs, "root.sign-csr"), "status-signer");
    log(`demo ceremony: status-list signer ${serial} installed (status lists are signed from the first start)`);
  });
}

/**
 * The embedded default's first start: when no DS key is installed, run the demo ceremony on the
 * configured tokens and database (root init, DS key + CSR, sign, install, CRL and ARL, the
 * trust-list signer) with two
 * throwaway operators. Never for production: the root key belongs in an offline room
 * (docs/operations.md).
 */
export async function ensureDemoPki(
  db: Database,
  policy: Policy,
  audit: AuditSink,
  dsKs: KeyStore,
  log: (s: string) => void,
): Promise<boolean> {
  if ((await db.stores.certificates.installedDocumentSigners()).length > 0) return false;
  log("no Document Signer installed: running the demo ceremony (embedded default, not for production)");
  return withDemoRooms(db, policy, audit, async (room, rootKs) => {
    let rootDer: Uint8Array;
    try {
      rootDer = new Uint8Array((await currentRoot(db)).row.der);
    } catch {
      const t0 = new Date(Date.now() - 3600_000);
      rootDer = (await rootInit(await room(rootKs, "root.init"), { at: t0 })).cert.der;
      log("demo ceremony: IACA root created");
    }
    const k = await dsKeygen(await room(dsKs, "ds.keygen"));
    const signed = await rootSignCsr(await room(rootKs, "root.sign-csr"), k.csr, {
      notBefore: new Date(Date.now() - 3600_000),
    });
    await dsInstall(await room(dsKs, "ds.install"), signed.cert.der, [rootDer], {
      activatesAt: new Date(Date.now() - 3600_000),
    });
    await rootCrl(await room(rootKs, "root.crl"), "crl");
    await rootCrl(await room(rootKs, "root.arl"), "arl");
    log(`demo ceremony: DS ${signed.serial} installed, CRL and ARL issued`);
    const tsl = await demoTrustListSigner(await room(dsKs, "ds.keygen"), await room(rootKs, "root.sign-csr"));
    log(`demo ceremony: trust-list signer ${tsl} installed (trust-list.cose is signed from the first start)`);
    return true;
  });
}
