// Our mdocs read by other implementations: @auth0/mdl, @animo-id/mdoc, and the DS chain by openssl.
import "reflect-metadata";
import { execFileSync } from "node:child_process";
import {
  createHash,
  createPublicKey,
  X509Certificate as NodeX509,
  verify as nodeVerify,
  randomBytes,
} from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as animo from "@animo-id/mdoc";
import { Verifier as Auth0Verifier } from "@auth0/mdl";
import * as x509 from "@peculiar/x509";
import { afterAll, describe, expect, it } from "vitest";
import { type CborValue, decodeCbor, encodeCbor, issueMdoc } from "../packages/mdoc/src/index.ts";
import { deviceJwk, makeDs, makeIaca, samplePerson } from "../packages/mdoc/test/support/testpki.ts";
import { deviceResponse, animoContext as libContext } from "./support/mdoc-lib-context.ts";

const animoContext = libContext as unknown as Parameters<animo.Verifier["verifyData"]>[1] &
  Parameters<animo.Verifier["verifyIssuerSignature"]>[1];

const MSO = { validity: "P30D", expectedUpdate: "P25D", digestAlgorithm: "SHA-256" as const };
const dir = mkdtempSync(join(tmpdir(), "mdoc-interop-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("interop", async () => {
  const iaca = await makeIaca();
  const ds = await makeDs(iaca);
  const jwk = await deviceJwk();
  const issued = {
    // with the MSO `status` of issue 19, as iaca serve issues it: libraries that do not know it accept it
    interop: await issueMdoc({
      profile: "interop",
      input: samplePerson(),
      deviceKey: jwk,
      signer: ds.signer,
      dsCertificate: ds.der,
      mso: MSO,
      status: { uri: "https://dts.example.jp/status/1", idx: 4711 },
    }),
    "seed-2024": await issueMdoc({
      profile: "seed-2024",
      input: samplePerson(),
      deviceKey: jwk,
      signer: ds.signer,
      dsCertificate: ds.der,
      mso: MSO,
    }),
  };

  for (const [name, r] of Object.entries(issued)) {
    it(`@auth0/mdl Verifier accepts the ${name} mdoc (issuer auth, MSO validity, digests)`, async () => {
      const checks: { status: string; check: string; category?: string; reason?: string }[] = [];
      await new Auth0Verifier([iaca.pem]).verify(deviceResponse(r.issuerSigned, r.docType), {
        onCheck: (c) => {
          checks.push(c as never);
        },
      });
      const relevant = checks.filter((c) => c.category !== "DEVICE_AUTH");
      expect(relevant.filter((c) => c.status !== "PASSED")).toEqual([]);
      expect(relevant.some((c) => c.check.includes("digest"))).toBe(true);
      expect(relevant.some((c) => c.check === "Issuer signature must be valid")).toBe(true);
      expect(relevant.some((c) => c.check === "Issuer certificate must be valid")).toBe(true);
    });

    it(`@animo-id/mdoc verifies the ${name} mdoc's issuer signature and data`, async () => {
      const doc = animo.parseIssuerSigned(r.issuerSigned, r.docType);
      const checks: { status: string; check: string; reason?: string }[] = [];
      const onCheckG = (c: unknown) => {
        checks.push(c as never);
      };
      const v = new animo.Verifier();
      await v.verifyIssuerSignature(
        {
          trustedCertificates: [new Uint8Array(iaca.cert.rawData)],
          issuerAuth: doc.issuerSigned.issuerAuth,
          disableCertificateChainValidation: false,
          onCheckG,
        },
        animoContext,
      );
      await v.verifyData({ mdoc: doc, onCheckG }, animoContext);
      expect(checks.filter((c) => c.status !== "PASSED")).toEqual([]);
      expect(checks.length).toBeGreaterThan(5);
      const values = doc.getIssuerNameSpace("org.iso.23220.1.jp") as unknown as Map<string, unknown>;
      expect(values.size).toBe(7);
      expect(values.get(name === "interop" ? "full_name_unicode" : "full_name")).toBe("山田 太郎");
    });
  }

  it("openssl verifies the DS chain (x5chain certificate) against the IACA", () => {
    const is = decodeCbor(issued.interop.issuerSigned) as Map<string, CborValue>;
    const x5 = ((is.get("issuerAuth") as CborValue[])[1] as Map<number, CborValue>).get(33) as Uint8Array;
    expect(Buffer.from(x5).equals(Buffer.from(ds.der))).toBe(true);
    writeFileSync(join(dir, "iaca.pem"), iaca.pem);
    writeFileSync(join(dir, "ds.pem"), new x509.X509Certificate(x5).toString("pem"));
    const out = execFileSync("openssl", ["verify", "-CAfile", join(dir, "iaca.pem"), join(dir, "ds.pem")], {
      encoding: "utf8",
    });
    expect(out.trim()).toMatch(/: OK$/);
  });
});
