// The demo's mdocs: signed by the active DS key in SoftHSM (pki's runDemo), verified by the reference verifier.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type DemoResult, runDemo } from "@iaca/pki";
import { afterAll, describe, expect, it } from "vitest";
import { imageFormat, sampleJp2, verifyMdoc, writeDemoMdocs } from "../packages/mdoc/src/index.ts";

const out = mkdtempSync(join(tmpdir(), "mdoc-demo-"));
let demo: DemoResult | undefined;
afterAll(async () => {
  await demo?.close();
  rmSync(out, { recursive: true, force: true });
});

describe("demo mdocs (HSM KeyStore signer)", { timeout: 400_000 }, () => {
  it("mdoc.signer.key-state: writes mdoc-interop.cbor, mdoc-seed-2024.cbor, device-key.jwk; both verify with iaca.pem + CRL", async () => {
    demo = await runDemo({ out });
    const results = await writeDemoMdocs(out, demo);
    expect(Object.keys(results).sort()).toEqual(["interop", "seed-2024"]);
    const jwk = JSON.parse(readFileSync(join(out, "device-key.jwk"), "utf8")) as Record<string, unknown>;
    expect(jwk.kty).toBe("EC");
    expect(jwk.d).toBeUndefined();
    for (const name of ["mdoc-interop.cbor", "mdoc-seed-2024.cbor"]) {
      const r = await verifyMdoc(readFileSync(join(out, name)), {
        trustAnchors: [readFileSync(join(out, "iaca.pem"))],
        untrusted: [readFileSync(join(out, "link-new-to-old.pem")), readFileSync(join(out, "link-old-to-new.pem"))],
        crls: [readFileSync(join(out, "crl.der"))],
      });
      // the offline demo's MSOs carry no status list entry (no DTS behind them): that check is skipped
      expect(
        r.checks.filter((c) => c.status !== "PASS" && !(c.name === "mso.status" && c.status === "SKIP")),
        name,
      ).toEqual([]);
      expect(r.checks.find((c) => c.name === "mso.status")?.reason).toBe("the MSO carries no status");
      expect(r.documents[0]?.docType).toBe("org.iso.23220.1.jp.mnc");
    }
    // a verifier that still only trusts the old root reaches the new DS through the link certificate
    const old = await verifyMdoc(readFileSync(join(out, "mdoc-interop.cbor")), {
      trustAnchors: [readFileSync(join(out, "iaca-old.pem"))],
      untrusted: [readFileSync(join(out, "link-old-to-new.pem")), readFileSync(join(out, "link-new-to-old.pem"))],
    });
    expect(old.checks.find((c) => c.name === "ds.chain")?.status).toBe("PASS");
  });

  it("iaca lint lints every certificate of a PEM bundle (chain-pem-bundle.pem: both IACA generations)", () => {
    const bin = resolve(import.meta.dirname, "../apps/cli/bin/iaca.js");
    const bundle = join(out, "chain-pem-bundle.pem");
    const r = spawnSync(process.execPath, [bin, "lint", bundle, "--json"], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    const reports = JSON.parse(r.stdout) as { file: string; profile: string }[];
    expect(reports.map((x) => [x.file, x.profile])).toEqual([
      [`${bundle}#1`, "iaca"],
      [`${bundle}#2`, "iaca"],
    ]);
  });

  it("the sample portrait is a JPEG 2000 file", () => {
    expect(imageFormat(sampleJp2())).toBe("jp2");
  });
});
