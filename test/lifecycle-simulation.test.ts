// The lifecycle simulation as a CI test: shortened runs with sparse traffic on real SoftHSM keys
// (one temp token directory) and a fresh PostgreSQL database per run. Each policy must either run
// without a single failure or fail with its reason.
import { AuditLog } from "@iaca/db";
import { KeyStore } from "@iaca/hsm";
import { type SimulationOptions, type SimulationResult, simulate } from "@iaca/lifecycle";
import { loadPolicy, type Policy } from "@iaca/policy";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshDatabase } from "./support/db.ts";
import { createSoftHsm, type SoftHsm } from "./support/softhsm.ts";

let hsm: SoftHsm;
const seed = loadPolicy("packages/pki/policies/seed-figure-2.yaml");
const compressed = loadPolicy("packages/lifecycle/policies/compressed-rekey.yaml");
const sparse = { issuesPerWeek: 1, refreshes: 1, revokeEvery: 5, checkEvery: 14 } as const;

beforeAll(() => {
  // root key labels are fixed per generation (iaca-root-1, ...): one root token per run; DS labels are unique
  hsm = createSoftHsm(["sim-root-1", "sim-root-2", "sim-root-3", "sim-root-4", "sim-root-5", "sim-root-6", "sim-ds"]);
});
afterAll(() => hsm?.cleanup());

let runs = 0;

/** One run on a fresh database and its own root token; the DS token is shared. */
async function run(o: Omit<SimulationOptions, "db" | "rootHsm" | "dsHsm">): Promise<SimulationResult> {
  const fresh = await freshDatabase();
  const audit = new AuditLog(fresh.db);
  const open = (token: string) => KeyStore.open({ module: hsm.module, token, pin: `${token}-pin`, audit, sessions: 4 });
  const rootHsm = await open(`sim-root-${++runs}`);
  const dsHsm = await open("sim-ds");
  try {
    return await simulate({ db: fresh.db, rootHsm, dsHsm, ...sparse, ...o });
  } finally {
    rootHsm.close();
    dsHsm.close();
    await fresh.drop();
  }
}

const broken = (base: Policy, patch: (p: Policy) => void): Policy => {
  const p = structuredClone(base);
  patch(p);
  return p;
};

describe("lifecycle simulation", { timeout: 1_800_000 }, () => {
  it("lifecycle.simulation.schedule: two years with the seed's numbers (planner-adjusted) find zero failures", async () => {
    const r = await run({ policy: seed, months: 24 });
    expect(r.failures).toEqual([]);
    // the seed's literal numbers break invariants: the planner's nearest consistent schedule ran, and says so
    expect(r.adjustments.map((c) => c.path)).toEqual(expect.arrayContaining(["ds.rotationInterval", "ds.presign"]));
    expect(r.counts.rootVisits).toBeGreaterThanOrEqual(8);
    expect(r.counts.dsActivated).toBeGreaterThanOrEqual(12);
    expect(r.counts.dsKeysDestroyed).toBeGreaterThan(0);
    expect(r.counts.revokedDsRejected).toBeGreaterThan(0);
    // issue 19: revoked mdocs are refused through their status list, the signer renewed at root visits
    expect(r.counts.revokedMdocsRejected).toBeGreaterThan(0);
    expect(r.counts.statusSigners).toBeGreaterThanOrEqual(2);
    expect(r.counts.verifications).toBeGreaterThan(0);
    expect(r.svg).toContain("<svg");
  });

  it("lifecycle.simulation.schedule: root re-keys with link certificates: old-root and new-root verifiers accept every live mdoc", async () => {
    const r = await run({ policy: compressed, months: 9, compromiseDrill: false });
    expect(r.failures).toEqual([]);
    expect(r.counts.rekeys).toBe(1);
    expect(r.counts.linkCertificates).toBe(2);
  });

  it("pki.crl.per-key: across two re-keys every unexpired DS passes strict CRL checking with DTS material on every day", async () => {
    const r = await run({ policy: compressed, months: 14, checkEvery: 28 });
    expect(r.failures).toEqual([]);
    expect(r.counts.rekeys).toBe(2);
    // each day checks the certificates of the old keys too, against the lists those keys still sign
    expect(r.counts.strictCrlChecks).toBeGreaterThan(r.counts.days!);
    expect(r.counts.crls).toBeGreaterThan(r.counts.rootVisits!);
  });

  it("lifecycle.simulation.schedule: a DS usage period too long for its certificate fails (no key may sign in the gap)", async () => {
    const policy = broken(compressed, (p) => {
      p.ds.rotationInterval = "P3M";
      p.ds.firstRotationAfter = "P3M";
    });
    const r = await run({ policy, months: 5, adjust: false, compromiseDrill: false, maxFailures: 1 });
    expect(r.failures.length).toBeGreaterThan(0);
    expect(r.failures[0]!.message).toMatch(/usage period|no installed DS key may sign|DS_USAGE_PERIOD_OVER|DS_RETIRED/);
  });

  it("lifecycle.crl.fresh: a CRL nextUpdate shorter than the root-room cadence fails (stale CRL)", async () => {
    const policy = broken(compressed, (p) => {
      p.revocation.nextUpdate = "P30D";
      p.revocation.warnBefore = "P7D";
    });
    const r = await run({ policy, months: 4, adjust: false, compromiseDrill: false, maxFailures: 2 });
    expect(r.failures.map((f) => f.message).join("\n")).toMatch(/CRL.*stale|stale.*CRL|CRL expired/);
  });

  it("lifecycle.simulation.schedule: a re-key without link certificates fails (no path to the pinned root)", async () => {
    const r = await run({
      policy: compressed,
      months: 7,
      linkCertificates: false,
      compromiseDrill: false,
      maxFailures: 1,
    });
    expect(r.failures[0]?.kind).toBe("verify");
    // without the links a pinned-root verifier can neither chain the other root's DS nor check the
    // CRL the new root key signs
    expect(r.failures[0]!.message).toMatch(/no path from the DS to a trusted IACA|CRL signature does not verify/);
  });
});
