// Status list benchmark (issue 19 item 8): `TEST_PG_URL=... node bench/status-list.ts [entries] [revocations]`.
// One list of 1,000,000 entries (default) on a fresh PostgreSQL database with SoftHSM: applies
// 10,000 revocations one by one through IssuanceStore.revoke (what POST /v1/credentials/{id}/revoke
// does), then re-signs and stores the list as the status publisher does (read the entries, build,
// compress, sign in the HSM, save), and measures a verifier's check of one mdoc's entry (fetch
// excluded): with the token read (parse, chain to the IACA, signature, decompress, look up), and
// for the next mdocs on the same token object (chain and look up: a token is read once per bytes
// object). Each figure is printed against the time to sign one MSO (issueMdoc with the HSM DS key)
// measured in the same run.
import "reflect-metadata";
import { createHash, randomInt } from "node:crypto";
import {
  checkMsoStatus,
  decodeCbor,
  type EmbeddedCbor,
  get,
  issueMdoc,
  parseSign1,
  STATUS,
  StatusList,
  signStatusListToken,
} from "@iaca/mdoc";
import { parseCertificate } from "@iaca/pki";
import { statusListUrl } from "@iaca/policy";
import { SAMPLE_HOLDER } from "@iaca/ra";
import { startStack } from "../test/support/stack.ts";

const ENTRIES = Number(process.argv[2] ?? 1_000_000);
const REVOCATIONS = Number(process.argv[3] ?? 10_000);
if (!process.env.TEST_PG_URL || !(ENTRIES % 8 === 0) || !(REVOCATIONS > 0 && REVOCATIONS <= ENTRIES)) {
  process.stderr.write("bench/status-list: $TEST_PG_URL, entries a multiple of 8, 0 < revocations <= entries\n");
  process.exit(2);
}
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
const fmt = (n: number) => n.toLocaleString("en-US", { maximumFractionDigits: 1 });

const stack = await startStack({ logLevel: "warn" });
const { db } = stack.fresh;
try {
  const policy = { ...stack.policy, status: { ...stack.policy.status, listSize: ENTRIES } };
  const signer = await stack.pki.makeStatusSigner();
  const statusKey = await stack.dsKs.signer(signer.keyRef);
  const dsSigner = await stack.dsKs.signer(stack.ds.keyRef);

  // the list and its entries: ENTRIES issued rows in list 1 (one INSERT ... SELECT generate_series)
  let t0 = process.hrtime.bigint();
  await db.stores.statusLists.reserve(8, { size: ENTRIES, bits: 2 });
  await db.sql.query(
    `INSERT INTO issuance (id, request_id, batch_index, client_id, profile, doc_type, ds_cert_serial, mso_sha256,
       device_key_thumbprint, holder_ref, valid_from, valid_until, state, created_at, signed_at, status_list, status_idx)
     SELECT 'b-' || i, 'r-' || (i / 10), i % 10, 'bench', 'interop', 'org.iso.23220.1.jp.mnc', '01',
            lpad(to_hex(i), 64, '0'), 't', lpad(to_hex(i / 10), 64, '0'), now(), now() + interval '30 days',
            'issued', now(), now(), 1, i
       FROM generate_series(0, $1::int - 1) AS i`,
    [ENTRIES],
  );
  process.stdout.write(`seeded ${fmt(ENTRIES)} issued entries in list 1 in ${fmt(ms(t0))} ms\n`);

  // baseline: one MSO signed through the pipeline with the HSM DS key
  const deviceKey = { kty: "EC", crv: "P-256", x: "", y: "" } as Record<string, string>;
  {
    const { generateKeyPairSync } = await import("node:crypto");
    const jwk = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ format: "jwk" });
    Object.assign(deviceKey, jwk);
  }
  const issueOne = () =>
    issueMdoc({
      profile: "interop",
      input: SAMPLE_HOLDER,
      deviceKey,
      signer: dsSigner,
      dsCertificate: stack.ds.certificate,
      mso: policy.mso,
      status: { uri: statusListUrl(policy, 1), idx: 4711 },
    });
  for (let i = 0; i < 20; i++) await issueOne(); // warm-up
  t0 = process.hrtime.bigint();
  const N = 200;
  let mdoc: Awaited<ReturnType<typeof issueOne>> | undefined;
  for (let i = 0; i < N; i++) mdoc = await issueOne();
  const msoMs = ms(t0) / N;

  // 10,000 revocations, one statement each (revoke + version bump), as the RA's route does
  const ids = new Set<number>();
  while (ids.size < REVOCATIONS) ids.add(randomInt(ENTRIES));
  t0 = process.hrtime.bigint();
  for (const i of ids) await db.stores.issuances.revoke(`b-${i}`, new Date(), "holder-request");
  const revokeMs = ms(t0);

  // re-sign and store, as the status publisher's pass does for one changed list
  t0 = process.hrtime.bigint();
  const e = await db.stores.statusLists.entries(1);
  const readMs = ms(t0);
  const t1 = process.hrtime.bigint();
  const list = new StatusList(2, ENTRIES);
  for (const i of e.revoked) list.set(i, STATUS.INVALID);
  const now = new Date();
  const token = await signStatusListToken(
    { uri: statusListUrl(policy, 1), list, iat: now, exp: new Date(now.getTime() + 86_400_000), ttl: 300 },
    statusKey,
    signer.certificate,
  );
  const buildSignMs = ms(t1);
  const t2 = process.hrtime.bigint();
  await db.stores.statusLists.saveToken({
    listNo: 1,
    token,
    tokenSha256: createHash("sha256").update(token).digest("hex"),
    signedAt: now,
    expiresAt: new Date(now.getTime() + 86_400_000),
    version: e.version,
  });
  const saveMs = ms(t2);
  const publishMs = ms(t0);

  // a verifier's check of one entry (token already fetched)
  const mso = (
    decodeCbor(parseSign1(get(decodeCbor(mdoc!.issuerSigned), "issuerAuth")).payload!) as EmbeddedCbor
  ).decode() as Map<never, never>;
  const anchors = [parseCertificate(stack.pki.iacaDer)];
  // first read of a token (a fresh copy each time: parse, inflate, signature) and the next mdocs
  // on the same token object (the verifier kit hands out its cached token: path and lookup only)
  const ctx = (fetch: () => Promise<Uint8Array>) => ({ anchors, pool: [], at: new Date(), status: { fetch } });
  const cold = ctx(async () => token.slice());
  const warm = ctx(async () => token);
  const V = 200;
  let outcome: unknown;
  const perCheck = async (c: ReturnType<typeof ctx>) => {
    for (let i = 0; i < 20; i++) await checkMsoStatus(mso, c);
    const t = process.hrtime.bigint();
    for (let i = 0; i < V; i++) outcome = await checkMsoStatus(mso, c);
    return ms(t) / V;
  };
  const checkMs = await perCheck(cold);
  const cachedMs = await perCheck(warm);

  const row = (what: string, v: number) =>
    process.stdout.write(`${what.padEnd(52)} ${fmt(v).padStart(12)} ms  ${fmt(v / msoMs).padStart(10)} x one MSO\n`);
  process.stdout.write(`one MSO signed (issueMdoc, HSM DS key, ${N} runs)       ${fmt(msoMs).padStart(12)} ms\n`);
  row(`${fmt(REVOCATIONS)} revocations, one statement each`, revokeMs);
  row("  per revocation", revokeMs / REVOCATIONS);
  row("re-sign and store the list (total)", publishMs);
  row("  read the non-VALID entries", readMs);
  row("  build, compress, sign in the HSM", buildSignMs);
  row("  store the token", saveMs);
  row(`verifier check of one entry, token read (${V} runs)`, checkMs);
  row(`  next mdocs on the same token (${V} runs)`, cachedMs);
  process.stdout.write(
    `list: ${fmt(ENTRIES)} entries, 2 bits, ${fmt(e.revoked.length)} revoked; token on the wire ${fmt(token.length)} bytes (raw list ${fmt(list.bytes.length)} bytes); check says ${JSON.stringify(outcome)}\n`,
  );
} finally {
  await stack.close();
}
