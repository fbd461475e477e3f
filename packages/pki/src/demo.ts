// `iaca demo`: the whole ceremony sequence on throwaway SoftHSM tokens and embedded (PGlite)
// databases, no prompts. Later issues extend it (mdoc-*.cbor) through the returned handles.
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AuditLog, type Database, openDatabase } from "@iaca/db";
import { createSoftHsmTokens, DEFAULT_MODULE, KeyStore } from "@iaca/hsm";
import { DEFAULT_POLICY, type Policy } from "@iaca/policy";
import { dsInstall, dsKeygen, type Room, rootCrls, rootInit, rootRekey, rootRevoke, rootSignCsr } from "./ceremony.ts";
import { authorize, bootstrapOperators, type OperatorCredential } from "./operators.ts";
import { formatPlan, plan } from "./planner.ts";
import { toPem } from "./sign.ts";
import { planSvg } from "./svg.ts";

export interface DemoOptions {
  /** Output folder (created). */
  out: string;
  policy?: Policy;
  /** Keep the SoftHSM tokens and databases in `${out}/.demo-state` instead of a temp folder removed by close(). */
  keepState?: boolean;
  log?: (line: string) => void;
}

export interface DemoRoomHandles {
  db: Database;
  hsm: KeyStore;
  room: Room;
}

export interface DemoResult {
  out: string;
  policy: Policy;
  files: Record<string, string>;
  root: DemoRoomHandles;
  ops: DemoRoomHandles;
  /** The active DS (signed by the current root) for MSO signing: key URI on ops.hsm and its certificate. */
  ds: { keyUri: string; der: Uint8Array; serial: string };
  dsOld: { keyUri: string; der: Uint8Array; serial: string };
  operators: OperatorCredential[];
  /** Closes databases and tokens and removes the throwaway state. */
  close(): Promise<void>;
}

/** The throwaway rooms: SoftHSM tokens, one embedded database, two enrolled operators. */
async function openDemoRooms(opts: DemoOptions, policy: Policy) {
  const state = opts.keepState ? join(opts.out, ".demo-state") : mkdtempSync(join(tmpdir(), "iaca-demo-"));
  mkdirSync(state, { recursive: true });
  const pins = createSoftHsmTokens(state, ["demo-root", "demo-ds"]);
  const module = process.env.IACA_PKCS11_MODULE || DEFAULT_MODULE;

  // One embedded database serves both rooms here (in production the root room has its own, offline,
  // and operations uses PostgreSQL); the rooms still only exchange files.
  const db = await openDatabase({ url: "", dataDir: opts.keepState ? join(state, "db") : "memory://", migrate: true });
  const audit = new AuditLog(db);
  const openRoom = async (token: string): Promise<DemoRoomHandles> => {
    const hsm = await KeyStore.open({ module, token, pin: pins[token]!, audit, actor: "svc:demo", sessions: 2 });
    return { db, hsm, room: { policy, db, hsm, audit, actors: [] } };
  };
  const root = await openRoom("demo-root");
  const ops = await openRoom("demo-ds");
  const operators: OperatorCredential[] = [
    { id: "alice", secret: randomBytes(18).toString("base64url") },
    { id: "bob", secret: randomBytes(18).toString("base64url") },
  ];
  await bootstrapOperators({ policy, db, audit }, operators);
  const as = async (h: DemoRoomHandles, step: string) => {
    h.room.actors = await authorize(h.db, policy, step, operators);
    return h.room;
  };

  return { state, db, root, ops, operators, as };
}

type DemoRooms = Awaited<ReturnType<typeof openDemoRooms>>;

/** The ceremonies of the demo, in order; every artifact goes through `put`. */
async function demoCeremonies(
  r: DemoRooms,
  policy: Policy,
  put: (name: string, data: string | Uint8Array) => void,
  log: (line: string) => void,
) {
  const { root, ops, as } = r;
  // Dates: the old root is created a little in the past so every artifact is valid now.
  const t0 = new Date(Date.now() - 3_600_000);
  log("root room: root init (key ceremony)");
  const init = await rootInit(await as(root, "root.init"), { at: t0 });
  put("iaca-old.pem", init.cert.pem);

  log("operations room: DS #1 key + CSR; root room: sign it with the old key");
  const k1 = await dsKeygen(await as(ops, "ds.keygen"));
  const s1 = await rootSignCsr(await as(root, "root.sign-csr"), k1.csr, { notBefore: t0 });
  await dsInstall(await as(ops, "ds.install"), s1.cert.der, [init.cert.der], { activatesAt: t0 });
  put("ds-old.pem", s1.cert.pem);

  log("root room: re-key with link certificates");
  const rk = await rootRekey(await as(root, "root.rekey"));
  put("iaca.pem", rk.root.pem);
  put("link-old-to-new.pem", rk.linkOldToNew!.pem); // a routine re-key always links
  put("link-new-to-old.pem", rk.linkNewToOld!.pem);

  log("operations room: DS #2 key + CSR; root room: sign it with the new key");
  const k2 = await dsKeygen(await as(ops, "ds.keygen"));
  const s2 = await rootSignCsr(await as(root, "root.sign-csr"), k2.csr);
  await dsInstall(await as(ops, "ds.install"), s2.cert.der, [rk.root.der]);
  put("ds.pem", s2.cert.pem);

  log("DS #3: signed, then revoked (key compromise drill)");
  const k3 = await dsKeygen(await as(ops, "ds.keygen"));
  const s3 = await rootSignCsr(await as(root, "root.sign-csr"), k3.csr);
  put("ds-revoked.pem", s3.cert.pem);
  await rootRevoke(await as(root, "root.revoke"), s3.serial, "keyCompromise");

  log("root room: CRL and ARL of each root key (the old key's DS is still valid)");
  // pki.crl.per-key: the new key's lists as crl.der/arl.der, the old key's as crl-old.der/arl-old.der
  for (const kind of ["crl", "arl"] as const)
    for (const l of await rootCrls(await as(root, `root.${kind}`), kind))
      put(l.gen === rk.gen ? `${kind}.der` : `${kind}-old.der`, l.crl.der);

  const p = plan(policy, t0, 6);
  put("plan.svg", planSvg(p));
  put("plan.txt", formatPlan(p));
  put("chain-pem-bundle.pem", [rk.root.pem, toPem(init.cert.der, "CERTIFICATE")].join(""));

  return { k1, s1, k2, s2 };
}

export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  const log = opts.log ?? (() => undefined);
  const policy = opts.policy ?? DEFAULT_POLICY;
  const out = opts.out;
  mkdirSync(out, { recursive: true });
  const rooms = await openDemoRooms(opts, policy);
  const { state, db, root, ops, operators } = rooms;
  const files: Record<string, string> = {};
  const put = (name: string, data: string | Uint8Array) => {
    const p = join(out, name);
    writeFileSync(p, data);
    files[name] = p;
  };
  const { k1, s1, k2, s2 } = await demoCeremonies(rooms, policy, put, log);

  let closed = false;
  return {
    out,
    policy,
    files,
    root,
    ops,
    ds: { keyUri: k2.keyUri, der: s2.cert.der, serial: s2.serial },
    dsOld: { keyUri: k1.keyUri, der: s1.cert.der, serial: s1.serial },
    operators,
    async close() {
      if (closed) return;
      closed = true;
      root.hsm.close();
      ops.hsm.close();
      await db.close();
      if (!opts.keepState) rmSync(state, { recursive: true, force: true });
    },
  };
}
