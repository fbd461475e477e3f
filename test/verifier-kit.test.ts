// The verifier kit (packages/verifier) against a DTS on loopback: trust from the signed trust list
// checked against a pinned IACA, every list, refresh with conditional requests, fail-closed when
// trust goes stale, a re-key crossed with only the old root pinned, and `iaca verify --dts`.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { issueMdoc } from "@iaca/mdoc";
import { sha256 } from "@iaca/pki";
import { addDuration } from "@iaca/policy";
import { MemorySource, Publisher } from "@iaca/trust";
import { MdocVerifier, type VerifierError } from "@iaca/verifier";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDtsApp } from "../apps/dts/src/index.ts";
import { buildFixturePki, type FixturePki } from "../apps/dts/test/support/pki.ts";
import { deviceJwk, samplePerson } from "../packages/mdoc/test/support/testpki.ts";

let pki: FixturePki;
let now: Date;
let base: string;
let source: MemorySource;
let publisher: Publisher;
let app: ReturnType<typeof createDtsApp>;
const dir = mkdtempSync(join(tmpdir(), "verifier-kit-"));
const clock = () => now;

const mdocOf = async (ds: Uint8Array) =>
  (
    await issueMdoc({
      profile: "interop",
      input: samplePerson(),
      deviceKey: await deviceJwk(),
      signer: pki.dsSigner(ds),
      dsCertificate: ds,
      mso: { validity: "P30D", expectedUpdate: "P25D", digestAlgorithm: "SHA-256" },
      now,
    })
  ).issuerSigned;

beforeAll(async () => {
  pki = await buildFixturePki();
  now = addDuration(pki.t0, "P10D");
  source = new MemorySource(structuredClone(pki.set));
  publisher = new Publisher({ source, policy: pki.policy, signer: pki.signer, clock });
  await publisher.refresh();
  app = createDtsApp({ publisher, pollMs: 0 });
  await app.listen({ host: "127.0.0.1", port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
});

afterAll(async () => {
  await app?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("verifier kit", () => {
  it("verifier.kit.fail-closed: trust from the DTS with a pinned root; an active DS passes, a revoked DS fails ds.crl", async () => {
    const v = await MdocVerifier.fromDts(base, { pins: [sha256(pki.root.der)], now: clock });
    expect(v.trust.anchors.map((d) => sha256(d))).toEqual([sha256(pki.root.der)]);
    expect(v.trust.crls).toHaveLength(2);
    expect(v.trust.warnings).toEqual([]);
    const good = await v.verify(await mdocOf(pki.dsActive));
    expect(good.checks.filter((c) => c.status === "FAIL")).toEqual([]);
    expect(good.ok).toBe(true);
    expect(good.checks.find((c) => c.name === "trust.fresh")?.status).toBe("PASS");
    expect(good.checks.find((c) => c.name === "ds.crl")?.status).toBe("PASS");
    const revoked = await v.verify(await mdocOf(pki.dsRevoked));
    expect(revoked.ok).toBe(false);
    expect(revoked.checks.find((c) => c.name === "ds.crl")).toMatchObject({ status: "FAIL" });
  });

  it("verifier.kit.fail-closed: a pin the trust list does not name, or no pin at all, is refused with a stable code", async () => {
    const code = (p: Promise<unknown>) =>
      p.then(
        () => "resolved",
        (e: VerifierError) => e.code,
      );
    expect(await code(MdocVerifier.fromDts(base, { pins: ["00".repeat(32)], now: clock }))).toBe("VERIFIER_PIN");
    expect(await code(MdocVerifier.fromDts(base, { now: clock }))).toBe("VERIFIER_USAGE");
    expect(await code(MdocVerifier.fromDts("http://127.0.0.1:9/", { pins: ["00"], timeoutMs: 2000 }))).toBe(
      "VERIFIER_FETCH",
    );
  });

  it("verifier.kit.fail-closed: refresh uses conditional requests; stale trust that cannot be reloaded fails trust.fresh", async () => {
    const statuses: number[] = [];
    const counting = async (url: string, init?: { headers?: Record<string, string>; signal?: AbortSignal }) => {
      const r = await fetch(url, init);
      statuses.push(r.status);
      return r;
    };
    let offline = false;
    const v = await MdocVerifier.fromDts(base, {
      pins: [sha256(pki.root.der)],
      now: clock,
      maxAgeMs: 3_600_000,
      fetch: (url, init) => (offline ? Promise.reject(new Error("network down")) : counting(url, init)),
    });
    statuses.length = 0;
    await v.refresh(true);
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.every((s) => s === 304)).toBe(true);
    const mdoc = await mdocOf(pki.dsActive);
    const saved = now;
    try {
      now = addDuration(now, "PT2H");
      offline = true;
      const r = await v.verify(mdoc);
      expect(r.ok).toBe(false);
      expect(r.checks[0]).toMatchObject({ name: "trust.fresh", status: "FAIL" });
      expect(r.checks[0]!.reason).toContain("network down");
      offline = false;
      expect((await v.verify(mdoc)).ok).toBe(true);
    } finally {
      now = saved;
    }
  });

  it("after a root re-key a verifier that pinned only the old root verifies DS of both keys", async () => {
    const oldRoot = pki.root.der;
    const at = addDuration(pki.t0, "P20D");
    const { newRoot, linkOldToNew, linkNewToOld, dsNew } = await pki.rekey(at);
    now = addDuration(pki.t0, "P21D");
    const next = addDuration(at, "P100D");
    const old = { by: pki.rootOf(1), thisUpdate: at, nextUpdate: next, revoked: [pki.dsRevoked] };
    source.set = {
      ...source.set,
      certificates: [
        ...source.set.certificates,
        { der: newRoot.der, kind: "iaca", publishedAt: at },
        { der: linkOldToNew, kind: "link", publishedAt: at },
        { der: linkNewToOld, kind: "link", publishedAt: at },
        { der: dsNew, kind: "ds", publishedAt: at, activeFrom: at },
      ],
      lists: [
        { kind: "crl", der: await pki.crl("crl", { ...old, number: 2n }) },
        { kind: "arl", der: await pki.crl("arl", { ...old, number: 3n }) },
        { kind: "crl", der: await pki.crl("crl", { ...old, by: newRoot, number: 4n }) },
        { kind: "arl", der: await pki.crl("arl", { ...old, by: newRoot, number: 5n }) },
      ],
    };
    await publisher.refresh();
    const v = await MdocVerifier.fromDts(base, { anchors: [oldRoot], now: clock });
    expect(v.trust.anchors).toHaveLength(2);
    expect(v.trust.crls).toHaveLength(4);
    for (const ds of [pki.dsActive, dsNew]) {
      const r = await v.verify(await mdocOf(ds));
      expect(r.checks.filter((c) => c.status === "FAIL")).toEqual([]);
    }
    expect((await v.verify(await mdocOf(pki.dsRevoked))).ok).toBe(false);

    // `iaca verify --dts` runs the same kit end to end
    const file = join(dir, "mdoc.cbor");
    writeFileSync(file, await mdocOf(dsNew));
    // asynchronously: the DTS answering it runs in this process
    const cli = (...args: string[]) =>
      promisify(execFile)(
        process.execPath,
        ["apps/cli/bin/iaca.js", "verify", file, "--at", now.toISOString(), ...args],
        {
          encoding: "utf8",
        },
      ).then(
        (r) => ({ status: 0, ...r }),
        (e: { code: number; stdout: string; stderr: string }) => ({
          status: e.code,
          stdout: e.stdout,
          stderr: e.stderr,
        }),
      );
    const ok = await cli("--dts", base, "--pin", sha256(oldRoot));
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/PASS\s+trust\.fresh/);
    expect(ok.stdout).toMatch(/PASS\s+ds\.crl/);
    const wrong = await cli("--dts", base, "--pin", "ab".repeat(32));
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toContain("VERIFIER_PIN");
    expect((await cli("--dts", base)).status).toBe(1);
  });
});
