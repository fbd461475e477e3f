// Verifiers on every stack the machine installs from its registries, across a root re-key, with
// DTS material only (issue 18 item 3): the demo's two root generations, both link certificates,
// every key's CRL and ARL, a Document Signer of each key and a revoked one. Each stack must accept
// both DS certificates and refuse the revoked one when it trusts every IACA generation as its own
// anchor (what trust.json and the signed trust list publish). Crossing a re-key through a link
// certificate alone is recorded per stack: openssl can, GnuTLS, Java PKIX and Python
// `cryptography` cannot (they count the self-issued link against pathLenConstraint 0 or do not
// build through it), which is why every generation stays an anchor (CP/CPS 6.1.4; docs/verifiers.md).
import "reflect-metadata";
import { spawnSync } from "node:child_process";
import { X509Certificate as NodeX509 } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import * as animo from "@animo-id/mdoc";
import { Verifier as Auth0Verifier } from "@auth0/mdl";
import { type CborValue, decodeCbor, encodeCbor, issueMdoc } from "@iaca/mdoc";
import { type DemoResult, runDemo, toPem } from "@iaca/pki";
import { IssuerSigned as OwfIssuerSigned } from "@owf/mdoc";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deviceJwk, samplePerson } from "../packages/mdoc/test/support/testpki.ts";
import { animoContext, deviceResponse, owfContext } from "./support/mdoc-lib-context.ts";

const dir = mkdtempSync(join(tmpdir(), "verifier-stacks-"));
const f = (name: string) => join(dir, name);
let demo: DemoResult;
const mdocs: Record<"old" | "new", Uint8Array> = { old: new Uint8Array(), new: new Uint8Array() };

beforeAll(async () => {
  demo = await runDemo({ out: dir });
  const read = (n: string) => readFileSync(f(n));
  // every list the DTS publishes after the re-key, in one PEM file (the order must not matter)
  const lists = ["crl.der", "arl.der", "crl-old.der", "arl-old.der"].map((n) => toPem(read(n), "X509 CRL"));
  writeFileSync(f("lists.pem"), lists.join(""));
  writeFileSync(f("lists-reversed.pem"), [...lists].reverse().join(""));
  writeFileSync(f("anchors.pem"), `${read("iaca.pem")}${read("iaca-old.pem")}`);
  writeFileSync(f("links.pem"), `${read("link-old-to-new.pem")}${read("link-new-to-old.pem")}`);
  writeFileSync(f("empty.pem"), "");
  const deviceKey = await deviceJwk();
  for (const [gen, ds] of [
    ["old", demo.dsOld],
    ["new", demo.ds],
  ] as const)
    mdocs[gen] = (
      await issueMdoc({
        profile: "interop",
        input: samplePerson(),
        deviceKey,
        signer: await demo.ops.hsm.signer(ds.keyUri),
        dsCertificate: ds.der,
        mso: { validity: "P30D", expectedUpdate: "P25D", digestAlgorithm: "SHA-256" },
      })
    ).issuerSigned;
}, 300_000);

afterAll(async () => {
  await demo?.close();
  rmSync(dir, { recursive: true, force: true });
});

const DS = { old: "ds-old.pem", new: "ds.pem", revoked: "ds-revoked.pem" } as const;

describe("X.509 stacks with DTS material after a re-key", () => {
  it("openssl -crl_check: both DS generations pass, the revoked DS fails; a pinned old root crosses through the link", () => {
    const run = (anchors: string, lists: string, ds: string) =>
      spawnSync(
        "openssl",
        ["verify", "-crl_check", "-CAfile", f(anchors), "-CRLfile", f(lists), "-untrusted", f("links.pem"), f(ds)],
        { encoding: "utf8" },
      );
    for (const lists of ["lists.pem", "lists-reversed.pem"]) {
      expect(run("anchors.pem", lists, DS.old).status).toBe(0);
      expect(run("anchors.pem", lists, DS.new).status).toBe(0);
      const revoked = run("anchors.pem", lists, DS.revoked);
      expect(revoked.status).not.toBe(0);
      expect(revoked.stdout + revoked.stderr).toMatch(/certificate revoked/);
    }
    expect(run("iaca-old.pem", "lists.pem", DS.new).status).toBe(0);
    expect(run("iaca.pem", "lists.pem", DS.old).status).toBe(0);
  });

  it("GnuTLS certtool: both DS generations pass, the revoked DS fails, in either list order; a link alone does not cross", () => {
    const run = (anchors: string, lists: string, chain: string[]) => {
      writeFileSync(f("chain.pem"), chain.map((n) => readFileSync(f(n), "utf8")).join(""));
      const r = spawnSync(
        "certtool",
        ["--verify", "--load-ca-certificate", f(anchors), "--load-crl", f(lists), "--infile", f("chain.pem")],
        { encoding: "utf8" },
      );
      return /Chain verification output: (.*)/.exec(r.stdout)?.[1] ?? r.stderr;
    };
    for (const lists of ["lists.pem", "lists-reversed.pem"]) {
      expect(run("anchors.pem", lists, [DS.old])).toMatch(/^Verified/);
      expect(run("anchors.pem", lists, [DS.new])).toMatch(/^Verified/);
      expect(run("anchors.pem", lists, [DS.revoked])).toMatch(/revoked/);
    }
    // GnuTLS counts the self-issued link against the root's pathLenConstraint 0
    expect(run("iaca-old.pem", "lists.pem", [DS.new, "link-old-to-new.pem"])).toMatch(
      /violates the signer's constraints/,
    );
  });

  it("Java PKIX (CertPathBuilder, revocation on): both DS generations pass, the revoked DS fails; a link alone does not cross", () => {
    const java = resolve("test/support/java/PkixVerify.java");
    const run = (anchors: string, ds: string, lists = "lists.pem") =>
      spawnSync("java", [java, f(anchors), f(lists), f("links.pem"), f(ds)], { encoding: "utf8" }).stdout.trim();
    expect(run("anchors.pem", DS.old)).toMatch(/^OK/);
    expect(run("anchors.pem", DS.new, "lists-reversed.pem")).toMatch(/^OK/);
    expect(run("anchors.pem", DS.revoked)).toMatch(/^FAIL .*revoked/);
    expect(run("iaca-old.pem", DS.new)).toMatch(/^FAIL/);
  }, 120_000);

  const python = spawnSync("python3", ["-c", "import cryptography.x509.verification as v; v.ExtensionPolicy"], {
    encoding: "utf8",
  });
  it.skipIf(python.status !== 0)(
    "Python cryptography (verifier + CRL by the issuer key): both DS generations pass, the revoked DS fails; a link alone does not cross",
    () => {
      const run = (anchors: string, ds: string) =>
        spawnSync(
          "python3",
          [resolve("test/support/python/verify_ds.py"), f(anchors), f("links.pem"), f("lists.pem"), f(ds)],
          {
            encoding: "utf8",
          },
        ).stdout.trim();
      expect(run("anchors.pem", DS.old)).toMatch(/^OK/);
      expect(run("anchors.pem", DS.new)).toMatch(/^OK/);
      expect(run("anchors.pem", DS.revoked)).toMatch(/^FAIL revoked/);
      expect(run("iaca-old.pem", DS.new)).toMatch(/^FAIL/);
    },
    60_000,
  );
});

describe("mdoc libraries with both IACA generations as anchors", () => {
  const anchorsDer = () =>
    ["iaca.pem", "iaca-old.pem"].map((n) => new Uint8Array(new NodeX509(readFileSync(f(n))).raw));

  for (const gen of ["old", "new"] as const) {
    it(`@auth0/mdl accepts the mdoc of the ${gen} root key's DS`, async () => {
      const checks: { status: string; check: string; category?: string }[] = [];
      const pems = ["iaca.pem", "iaca-old.pem"].map((n) => readFileSync(f(n), "utf8"));
      await new Auth0Verifier(pems).verify(deviceResponse(mdocs[gen], "org.iso.23220.1.jp.mnc"), {
        onCheck: (c) => {
          checks.push(c as never);
        },
      });
      const relevant = checks.filter((c) => c.category !== "DEVICE_AUTH");
      expect(relevant.filter((c) => c.status !== "PASSED")).toEqual([]);
      expect(relevant.some((c) => c.check === "Issuer certificate must be valid")).toBe(true);
    });

    it(`@animo-id/mdoc accepts the mdoc of the ${gen} root key's DS`, async () => {
      const doc = animo.parseIssuerSigned(mdocs[gen], "org.iso.23220.1.jp.mnc");
      const checks: { status: string }[] = [];
      const onCheckG = (c: unknown) => {
        checks.push(c as never);
      };
      const v = new animo.Verifier();
      await v.verifyIssuerSignature(
        {
          trustedCertificates: anchorsDer(),
          issuerAuth: doc.issuerSigned.issuerAuth,
          disableCertificateChainValidation: false,
          onCheckG,
        },
        animoContext as never,
      );
      await v.verifyData({ mdoc: doc, onCheckG }, animoContext as never);
      expect(checks.filter((c) => c.status !== "PASSED")).toEqual([]);
      expect(checks.length).toBeGreaterThan(5);
    });

    it(`@owf/mdoc accepts the mdoc of the ${gen} root key's DS`, async () => {
      const checks: { status: string; check: string }[] = [];
      await OwfIssuerSigned.decode(mdocs[gen]).verify(
        { trustedCertificates: anchorsDer(), verificationCallback: (c) => checks.push(c) },
        owfContext as never,
      );
      expect(checks.filter((c) => c.status === "FAILED")).toEqual([]);
      expect(checks.length).toBeGreaterThan(3);
    });
  }
});
