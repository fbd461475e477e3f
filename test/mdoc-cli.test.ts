// `iaca mdoc issue` (DS key in SoftHSM) and `iaca verify`, run as an operator would, in their own processes.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { KeyStore } from "@iaca/hsm";
import { discardAudit } from "@iaca/policy";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sampleJp2 } from "../packages/mdoc/src/index.ts";
import { deviceJwk, makeCrl, makeDsCertFor, makeIaca, samplePerson } from "../packages/mdoc/test/support/testpki.ts";
import { createSoftHsm, type SoftHsm } from "./support/softhsm.ts";

const BIN = resolve(import.meta.dirname, "../apps/cli/bin/iaca.js");
let hsm: SoftHsm;
let dir: string;
let env: NodeJS.ProcessEnv;
let dsSerial = "";

function iaca(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { env, encoding: "utf8", cwd: dir });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
const f = (n: string) => join(dir, n);

beforeAll(async () => {
  hsm = createSoftHsm(["iaca-ds"]);
  dir = mkdtempSync(join(tmpdir(), "mdoc-cli-"));
  env = { ...process.env, ...hsm.env, SOFTHSM2_CONF: hsm.conf };
  const ks = await KeyStore.open({ module: hsm.module, token: "iaca-ds", pin: "iaca-ds-pin", audit: discardAudit });
  try {
    await ks.generateEcKey("ds-test", { curve: "P-256" });
    const pub = await ks.getPublicKey(ks.uriFor("ds-test"));
    const root = await makeIaca();
    const ds = await makeDsCertFor(root, new Uint8Array(pub.spki));
    dsSerial = ds.serialNumber;
    writeFileSync(f("iaca.pem"), root.pem);
    writeFileSync(f("ds.pem"), ds.toString("pem"));
    writeFileSync(f("revoked.crl"), (await makeCrl(root, [ds.serialNumber])).toString("pem"));
  } finally {
    ks.close();
  }
  writeFileSync(f("person.json"), JSON.stringify(samplePerson(sampleJp2())));
  writeFileSync(f("device-key.jwk"), JSON.stringify(await deviceJwk()));
}, 120_000);

afterAll(() => {
  hsm.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

describe("iaca mdoc issue / iaca verify", { timeout: 300_000 }, () => {
  const issueArgs = (profile: string, data = "person.json", out = `${profile}.cbor`) => [
    "mdoc",
    "issue",
    "--profile",
    profile,
    "--data",
    data,
    "--device-key",
    "device-key.jwk",
    "--out",
    out,
    "--ds-cert",
    "ds.pem",
    "--ds-key",
    "pkcs11:token=iaca-ds;object=ds-test",
  ];

  it("issues with the HSM DS key and the reference verifier passes every check", () => {
    for (const profile of ["interop", "seed-2024"]) {
      const r = iaca(issueArgs(profile));
      expect(r.err).toBe("");
      expect(r.code).toBe(0);
      expect(r.out).toContain("org.iso.23220.1.jp.mnc");
      const v = iaca(["verify", `${profile}.cbor`, "--trust", "iaca.pem"]);
      expect(v.code, v.out + v.err).toBe(0);
      expect(v.out).toMatch(/^PASS {2}cose\.signature/m);
      expect(v.out).not.toMatch(/^FAIL/m);
    }
  });

  it("mdoc.verifier.revocation-check: exit 1 with one FAIL line for a revoked DS", () => {
    const v = iaca(["verify", "interop.cbor", "--trust", "iaca.pem", "--crl", "revoked.crl"]);
    expect(v.code).toBe(1);
    expect(v.out.split("\n").filter((l) => l.startsWith("FAIL"))).toEqual([
      expect.stringMatching(new RegExp(`^FAIL {2}ds\\.crl .*${dsSerial.toLowerCase()} is revoked`)),
    ]);
  });

  it("mdoc.verifier.validity-check: exit 1 after validUntil (--at)", () => {
    const v = iaca(["verify", "interop.cbor", "--trust", "iaca.pem", "--at", "2099-01-01T00:00:00Z"]);
    expect(v.code).toBe(1);
    expect(v.out).toMatch(/^FAIL {2}mso\.validity +expired/m);
  });

  it("mdoc.no-pii-in-errors: invalid input exits non-zero naming the fields, not their values", () => {
    const bad = { ...samplePerson(sampleJp2()), individualNumber: "987654321098", birthDate: "1999-13-01" };
    writeFileSync(f("bad.json"), JSON.stringify(bad));
    const r = iaca(issueArgs("interop", "bad.json", "bad.cbor"));
    expect(r.code).toBe(1);
    expect(r.err).toContain("MDOC_INPUT_INVALID");
    expect(r.err).toContain("individualNumber");
    expect(r.err).toContain("birthDate");
    expect(r.err).not.toContain("987654321098");
    expect(r.err).not.toContain("1999-13-01");
  });
});
