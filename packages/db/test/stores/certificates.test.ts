import { randomBytes } from "node:crypto";
import type { CertificateKind, Database, NewCertificate } from "@iaca/db";
import { describe, expect, it } from "vitest";
import { describeOnBothBackends } from "./backends.ts";

const hex = (n: number) => randomBytes(n).toString("hex");
const day = (d: number) => new Date(Date.UTC(2030, 0, 1) + d * 86_400_000);

function cert(kind: CertificateKind, o: Partial<NewCertificate> = {}): NewCertificate {
  return {
    serial: hex(16),
    kind,
    subject: "C=JP, CN=test",
    ski: hex(20),
    aki: null,
    spkiSha256: hex(32),
    rootGen: 1,
    notBefore: day(0),
    notAfter: day(400),
    der: randomBytes(64),
    sha256: hex(32),
    ...o,
  };
}

describeOnBothBackends("CertificateStore", (db) => {
  const store = () => db().stores.certificates;
  describe("certificates", () => certificates(store));
  describe("Document Signer lifecycle", () => documentSigners(store));
  describe("CRL/ARL and key records", () => listsAndKeys(store));
});

type Store = () => Database["stores"]["certificates"];

function certificates(store: Store) {
  it("stores a certificate and gives it back as a camelCase record with its own bytes", async () => {
    const c = cert("ds", { activatesAt: day(1), keyRef: "pkcs11:object=ds-1" });
    const added = await store().add(c);
    const got = await store().get(c.serial);
    expect(got).toEqual(added);
    expect(got).toMatchObject({
      serial: c.serial,
      kind: "ds",
      aki: null,
      rootGen: 1,
      notBefore: c.notBefore,
      keyRef: "pkcs11:object=ds-1",
      activatesAt: day(1),
      installedAt: null,
      retiredAt: null,
      revokedAt: null,
      revocationReason: null,
    });
    expect(got!.der).toBeInstanceOf(Uint8Array);
    expect(Buffer.isBuffer(got!.der)).toBe(false);
    expect(got!.der).toEqual(new Uint8Array(c.der));
    expect(got!.createdAt).toBeInstanceOf(Date);
    expect(await store().get("00")).toBeUndefined();
    expect(await store().forKey(c.spkiSha256)).toMatchObject({ serial: c.serial });
    await expect(store().add(c)).rejects.toThrow();
  });

  it("finds roots by generation and key, issuers by key id, and counts by kind", async () => {
    const before = { all: await store().count(), link: await store().count("link") };
    const r1 = cert("iaca", { rootGen: 1, keyRef: "pkcs11:object=r1", notBefore: day(-10) });
    const r2 = cert("iaca", { rootGen: 2, keyRef: "pkcs11:object=r2", notBefore: day(-5) });
    const r3 = cert("iaca", { rootGen: 3, keyRef: null, notBefore: day(-1) });
    const link = cert("link", { ski: r2.ski });
    for (const c of [r2, r1, r3, link]) await store().add(c);
    expect((await store().newestRootWithKey())?.serial).toBe(r2.serial);
    expect((await store().firstRoot())?.rootGen).toBe(1);
    expect((await store().rootOfGeneration(3))?.serial).toBe(r3.serial);
    const issuers = await store().caCertificatesWithKeyId(r2.ski);
    expect(issuers.map((c) => c.serial).sort()).toEqual([r2.serial, link.serial].sort());
    expect(await store().caCertificatesWithKeyId("")).toEqual([]);
    expect(await store().count()).toBe(before.all + 4);
    expect(await store().count("link")).toBe(before.link + 1);
    const roots = await store().ofKinds(["iaca"]);
    expect(roots.map((r) => r.notBefore.getTime())).toEqual(
      roots.map((r) => r.notBefore.getTime()).sort((a, b) => a - b),
    );
    await store().markRevoked(r3.serial, day(2), "keyCompromise");
    expect((await store().unrevokedRoots()).map((r) => r.serial)).not.toContain(r3.serial);
    expect(await store().get(r3.serial)).toMatchObject({ revokedAt: day(2), revocationReason: "keyCompromise" });
    await store().attachKey(r3.serial, "pkcs11:object=r3");
    expect((await store().get(r3.serial))?.keyRef).toBe("pkcs11:object=r3");
    await store().forgetLinkCertificates();
    expect(await store().count("link")).toBe(0);
  });

  it("lists the revoked certificates of every kind that expire after the cutoff, in revocation order", async () => {
    const late = cert("tsl-signer", { notAfter: day(900) });
    const early = cert("ds", { notAfter: day(800) });
    const expired = cert("link", { notAfter: day(10) });
    for (const c of [late, early, expired]) await store().add(c);
    await store().markRevoked(late.serial, day(5), "superseded");
    await store().markRevoked(early.serial, day(3), "keyCompromise");
    await store().markRevoked(expired.serial, day(1), "superseded");
    const listed = (await store().revokedForList(day(20))).map((c) => c.serial);
    expect(listed.filter((s) => [late.serial, early.serial, expired.serial].includes(s))).toEqual([
      early.serial,
      late.serial,
    ]);
  });

  it("publicationState changes with the roots, links and lists, and with nothing else", async () => {
    const before = await store().publicationState();
    await store().add(cert("ds"));
    expect(await store().publicationState()).toEqual(before);
    const root = cert("iaca", { rootGen: 9 });
    await store().add(root);
    const withRoot = await store().publicationState();
    expect(withRoot.certificates).toContain(`${root.sha256}:`);
    await store().markRevoked(root.serial, day(3), "cACompromise");
    expect(await store().publicationState()).not.toEqual(withRoot);
  });
}

function documentSigners(store: Store) {
  const ds = (n: number, o: Partial<NewCertificate> = {}) =>
    cert("ds", { keyRef: `pkcs11:object=ds-${n}`, notBefore: day(n * 100), activatesAt: day(n * 100), ...o });

  it("installed DS certificates in activation order; signer candidates newest first and never revoked", async () => {
    const a = ds(1, { installedAt: day(99) });
    const b = ds(2, { installedAt: day(199) });
    const notInstalled = ds(3);
    const noKey = ds(4, { keyRef: null, installedAt: day(399) });
    const revoked = ds(5, { installedAt: day(499) });
    for (const c of [b, notInstalled, a, noKey, revoked]) await store().add(c);
    await store().markRevoked(revoked.serial, day(450), "keyCompromise");
    expect((await store().installedDocumentSigners()).map((c) => c.serial)).toEqual([
      a.serial,
      b.serial,
      revoked.serial,
    ]);
    expect((await store().signerCandidates()).map((c) => c.serial)).toEqual([b.serial, a.serial]);
  });

  it("installing retires the predecessors as of the activation; a stop before it restores them", async () => {
    const db2 = store();
    for (const c of await db2.ofKinds(["ds"])) await db2.markStopped(c.serial, day(-1)); // earlier tests' DS step aside
    const old = ds(6, { installedAt: day(599) });
    const next = ds(7);
    await db2.add(old);
    await db2.add(next);
    await db2.recordInstalled(next.serial, {
      keyRef: "pkcs11:object=ds-7b",
      installedAt: day(650),
      activatesAt: day(700),
    });
    await db2.retirePredecessors(next.serial, day(700));
    expect(await db2.get(next.serial)).toMatchObject({
      keyRef: "pkcs11:object=ds-7b",
      installedAt: day(650),
      activatesAt: day(700),
      retiredAt: null,
    });
    expect((await db2.get(old.serial))?.retiredAt).toEqual(day(700));
    expect(await db2.restorePredecessors(next.serial, day(700))).toBe(1);
    await db2.markStopped(next.serial, day(660));
    expect((await db2.get(old.serial))?.retiredAt).toBeNull();
    expect((await db2.get(next.serial))?.retiredAt).toEqual(day(660));
    await db2.markRetired(old.serial, day(800));
    await db2.markRetired(old.serial, day(900)); // retired once: the first time stays
    expect((await db2.get(old.serial))?.retiredAt).toEqual(day(800));
    await db2.markStopped(old.serial, day(750)); // a stop overrides a planned retirement
    expect((await db2.get(old.serial))?.retiredAt).toEqual(day(750));
  });

  it("the trust-list signer valid at an instant, and the one valid the longest", async () => {
    const first = cert("tsl-signer", { keyRef: "pkcs11:object=t1", notBefore: day(0), notAfter: day(300) });
    const second = cert("tsl-signer", { keyRef: "pkcs11:object=t2", notBefore: day(200), notAfter: day(600) });
    const elsewhere = cert("tsl-signer", { keyRef: null, notBefore: day(250), notAfter: day(900) });
    for (const c of [first, second, elsewhere]) await store().add(c);
    expect((await store().dtsSignerAt(day(100)))?.serial).toBe(first.serial);
    expect((await store().dtsSignerAt(day(250)))?.serial).toBe(second.serial);
    expect(await store().dtsSignerAt(day(700))).toBeUndefined();
    expect((await store().lastExpiringDtsSigner())?.serial).toBe(second.serial);
    await store().markRevoked(second.serial, day(260), "keyCompromise");
    expect((await store().dtsSignerAt(day(250)))?.serial).toBe(first.serial);
  });
}

function listsAndKeys(store: Store) {
  const list = (kind: "crl" | "arl", number: bigint, rootGen = 1) => ({
    kind,
    number,
    rootGen,
    thisUpdate: day(Number(number)),
    nextUpdate: day(Number(number) + 30),
    der: randomBytes(32),
    sha256: hex(32),
  });

  it("the latest list of each kind and of both (one number sequence), numbers as bigint", async () => {
    expect(await store().latestList()).toBeUndefined();
    expect(await store().latestLists()).toEqual([]);
    await store().addList(list("crl", 1n));
    await store().addList(list("arl", 2n));
    await store().addList(list("crl", 3n));
    expect(await store().latestList()).toMatchObject({ kind: "crl", number: 3n, nextUpdate: day(33) });
    expect((await store().latestList("arl"))?.number).toBe(2n);
    const latest = await store().latestLists();
    expect(latest.map((l) => [l.kind, l.number])).toEqual([
      ["arl", 2n],
      ["crl", 3n],
    ]);
    expect(latest[0]!.der).toBeInstanceOf(Uint8Array);
    // pki.crl.per-key: the latest of each kind per root key generation; one sequence for all
    await store().addList(list("crl", 4n, 2));
    await store().addList(list("arl", 5n, 2));
    expect((await store().latestLists()).map((l) => [l.rootGen, l.kind, l.number])).toEqual([
      [1, "arl", 2n],
      [1, "crl", 3n],
      [2, "arl", 5n],
      [2, "crl", 4n],
    ]);
    expect((await store().latestList("crl", 1))?.number).toBe(3n);
    expect((await store().latestList())?.number).toBe(5n);
  });

  it("installing a list marks the certificates it revokes in the same transaction, each once", async () => {
    const a = cert("ds");
    const b = cert("iaca");
    const already = cert("ds");
    for (const c of [a, b, already]) await store().add(c);
    await store().markRevoked(already.serial, day(1), "superseded");
    const marked = await store().installList(list("crl", 10n), [
      { serial: b.serial, at: day(4) },
      { serial: a.serial, at: day(5) },
      { serial: already.serial, at: day(6) },
      { serial: "ffff", at: day(7) },
    ]);
    expect(marked).toEqual([a.serial, b.serial].sort());
    expect((await store().get(a.serial))?.revokedAt).toEqual(day(5));
    expect((await store().get(already.serial))?.revokedAt).toEqual(day(1));
    // a list whose number is taken is refused, and none of its marks stays
    const c = cert("ds");
    await store().add(c);
    await expect(store().installList(list("crl", 10n), [{ serial: c.serial, at: day(8) }])).rejects.toThrow();
    expect((await store().get(c.serial))?.revokedAt).toBeNull();
    expect(await store().installList(list("arl", 11n))).toEqual([]);
  });

  it("key records: added, counted by role, found by fingerprint, destroyed once", async () => {
    const spki = hex(32);
    await store().addKey({
      uri: "pkcs11:object=k1",
      role: "ds",
      label: "k1",
      spkiSha256: spki,
      csr: Buffer.from("csr"),
    });
    await store().addKey({ uri: "pkcs11:object=k2", role: "ds", label: "k2", spkiSha256: hex(32) });
    await store().addKey({ uri: "pkcs11:object=k3", role: "tsl-signer", label: "k3", spkiSha256: hex(32) });
    expect(await store().countKeys("ds")).toBe(2);
    expect(await store().countKeys("root")).toBe(0);
    const k1 = await store().keyByFingerprint(spki);
    expect(k1).toMatchObject({ uri: "pkcs11:object=k1", role: "ds", label: "k1", destroyedAt: null });
    expect(k1?.csr).toEqual(new Uint8Array(Buffer.from("csr")));
    await store().recordKeyDestroyed("pkcs11:object=k2", day(1));
    await store().recordKeyDestroyed("pkcs11:object=k2", day(2));
    expect((await store().liveKeys("ds")).map((k) => k.uri)).toEqual(["pkcs11:object=k1"]);
    const k2 = (await store().liveKeys("ds")).find((k) => k.uri === "pkcs11:object=k2");
    expect(k2).toBeUndefined();
  });

  it("a destroyed root key and its certificate's key reference go together", async () => {
    const root = cert("iaca", { keyRef: "pkcs11:object=root-old" });
    await store().add(root);
    await store().addKey({ uri: "pkcs11:object=root-old", role: "root", label: "root-old", spkiSha256: hex(32) });
    await store().recordKeyDestroyed("pkcs11:object=root-old", day(3), root.serial);
    expect((await store().get(root.serial))?.keyRef).toBeNull();
    expect(await store().liveKeys("root")).toEqual([]);
  });
}
