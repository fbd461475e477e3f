// The quick start's first `iaca serve` (embedded database, SoftHSM): the demo ceremony also makes
// the trust-list signer, so the DTS serves a signed trust-list.cose that verifies against the IACA
// root it publishes, with nothing else run first (issue 18 item 4).
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { verifyTrustList } from "@iaca/trust";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSoftHsm, type SoftHsm } from "./support/softhsm.ts";

const ROOT = resolve(import.meta.dirname, "..");
let hsm: SoftHsm;
let dataDir: string;
let child: ChildProcess | undefined;
const output: string[] = [];

/** `iaca serve` on the embedded defaults; resolves with the DTS URL once it prints "ready". */
function serve(): Promise<string> {
  const proc = spawn(process.execPath, [join(ROOT, "apps/cli/bin/iaca.js"), "serve", "--port", "0"], {
    cwd: ROOT,
    env: {
      ...process.env,
      ...hsm.env,
      SOFTHSM2_CONF: hsm.conf,
      DATABASE_URL: "",
      IACA_DATA_DIR: dataDir,
      IACA_DTS_PORT: "0",
      IACA_ROTATE_SCHEDULE: "off",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child = proc;
  return new Promise((ok, fail) => {
    let dts = "";
    proc.stdout!.on("data", (c: Buffer) => {
      const text = c.toString("utf8");
      output.push(text);
      dts ||= /DTS\s+(http:\/\/[\d.]+:\d+)/.exec(text)?.[1] ?? "";
      if (/^ready$/m.test(text)) ok(dts);
    });
    proc.stderr!.on("data", (c: Buffer) => output.push(c.toString("utf8")));
    proc.on("exit", (code) => fail(new Error(`serve exited ${code}:\n${output.join("").slice(-3000)}`)));
  });
}

beforeAll(() => {
  hsm = createSoftHsm(["iaca-root", "iaca-ds"]);
  dataDir = mkdtempSync(join(tmpdir(), "iaca-first-start-"));
});
afterAll(() => {
  child?.kill("SIGKILL");
  hsm?.cleanup();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe("first start on the embedded defaults", () => {
  it("dts.trust-list.signed: trust-list.cose is served from the first start and verifies against the published IACA", async () => {
    const dts = await serve();
    expect(dts).toMatch(/^http:/);
    const trust = (await (await fetch(`${dts}/trust.json`)).json()) as {
      trustList: { path: string } | null;
      certificates: { kind: string; urls: { der: string } }[];
    };
    expect(trust.trustList).not.toBeNull();
    const res = await fetch(`${dts}${trust.trustList!.path}`);
    expect(res.status).toBe(200);
    const cose = new Uint8Array(await res.arrayBuffer());
    const roots = await Promise.all(
      trust.certificates
        .filter((c) => c.kind === "iaca")
        .map(async (c) => new Uint8Array(await (await fetch(`${dts}${c.urls.der}`)).arrayBuffer())),
    );
    const verified = await verifyTrustList(cose, roots, new Date());
    expect(verified.certificates.length).toBeGreaterThan(0);
  }, 180_000);

  it("ra.openid4vci.pre-authorized-code: the first start prints a Credential Offer for the sample holder next to the curl line", () => {
    const text = output.join("");
    expect(text).toContain("/v1/credentials");
    const uri = /openid-credential-offer:\/\/\?credential_offer=(\S+)/.exec(text)?.[1];
    expect(uri, text.slice(-2000)).toBeDefined();
    const offer = JSON.parse(decodeURIComponent(uri!)) as {
      credential_issuer: string;
      credential_configuration_ids: string[];
    };
    expect(offer.credential_issuer).toMatch(/^https:\/\/localhost:\d+$/);
    expect(offer.credential_configuration_ids).toEqual(["org.iso.23220.1.jp.mnc_interop"]);
  });

  it("ra.openid4vci.pre-authorized-code: iaca client demo-offer --tx-code prints a new offer and its tx_code", () => {
    const ra = /RA\s+(https:\/\/[\d.]+:\d+)/.exec(output.join(""))?.[1];
    expect(ra).toBeDefined();
    const r = spawnSync(
      process.execPath,
      [join(ROOT, "apps/cli/bin/iaca.js"), "client", "demo-offer", "demo-wallet", "--url", ra!, "--tx-code"],
      { cwd: ROOT, env: { ...process.env, IACA_DATA_DIR: dataDir }, encoding: "utf8" },
    );
    expect(r.status, r.stderr).toBe(0);
    const [uri, tx] = r.stdout.trim().split("\n");
    expect(uri).toMatch(/^openid-credential-offer:\/\/\?credential_offer=/);
    expect(tx).toMatch(/^tx_code [0-9]{6}$/);
  });

  it("cli.data-dir.private: everything the first start wrote under the data directory is owner-only", () => {
    expect(spawnSync("find", [dataDir, "-perm", "/077"], { encoding: "utf8" }).stdout.trim()).toBe("");
  });
});
