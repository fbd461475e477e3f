// Reference verifier: the ISO/IEC 18013-5 Annex D vector, and each rejection for the right reason.
import "reflect-metadata";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as x509 from "@peculiar/x509";
import { describe, expect, it } from "vitest";
import {
  type CborValue,
  decodeCbor,
  type EmbeddedCbor,
  encodeCbor,
  issueMdoc,
  signMso,
  Tagged,
  TDate,
  type VerifyResult,
  verifyMdoc,
} from "../packages/mdoc/src/index.ts";
import {
  deviceJwk,
  issuing,
  makeCrl,
  makeDs,
  makeIaca,
  samplePerson,
  type TestCa,
} from "../packages/mdoc/test/support/testpki.ts";

const VEC = join(import.meta.dirname, "vectors/iso18013-5-annex-d");
const annexD = new Uint8Array(readFileSync(join(VEC, "device_response.cbor")));
const annexIaca = readFileSync(join(VEC, "iaca.pem"), "utf8");
const AT = new Date("2021-01-01T00:00:00Z");
const MSO = { validity: "P30D", expectedUpdate: "P25D", digestAlgorithm: "SHA-256" as const };

const status = (r: VerifyResult, name: string) => r.checks.find((c) => c.name === name)?.status;
const reason = (r: VerifyResult, name: string) => r.checks.find((c) => c.name === name)?.reason ?? "";
const failed = (r: VerifyResult) => r.checks.filter((c) => c.status === "FAIL").map((c) => c.name);

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  return Buffer.from(hay).indexOf(Buffer.from(needle));
}

describe("ISO 18013-5 Annex D vector", () => {
  it("mdoc.verifier.validity-check: accepted at 2021-01-01 (every check passes)", async () => {
    const r = await verifyMdoc(annexD, { trustAnchors: [annexIaca], at: AT });
    expect(failed(r)).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.format).toBe("DeviceResponse");
    expect(r.documents[0]?.elements["org.iso.18013.5.1"]?.family_name).toBe("Doe");
  });

  it("accepts the same vector as hex and base64url text", async () => {
    const hex = readFileSync(join(VEC, "device_response.cbor")).toString("hex");
    expect((await verifyMdoc(hex, { trustAnchors: [annexIaca], at: AT })).ok).toBe(true);
    const b64 = Buffer.from(annexD).toString("base64url");
    expect((await verifyMdoc(b64, { trustAnchors: [annexIaca], at: AT })).ok).toBe(true);
  });

  it("mdoc.verifier.validity-check: rejected after validUntil and DS notAfter", async () => {
    const r = await verifyMdoc(annexD, { trustAnchors: [annexIaca], at: new Date("2022-01-01T00:00:00Z") });
    expect(failed(r)).toEqual(["ds.chain", "mso.validity"]);
  });

  it("rejects a flipped byte in an element value: digest mismatch, signature still valid", async () => {
    const bad = annexD.slice();
    const at = indexOf(bad, new Uint8Array([0x63, 0x44, 0x6f, 0x65])); // tstr "Doe"
    expect(at).toBeGreaterThan(0);
    bad[at + 3] = (bad[at + 3] as number) ^ 0x01;
    const r = await verifyMdoc(bad, { trustAnchors: [annexIaca], at: AT });
    expect(failed(r)).toEqual(["mso.digests"]);
    expect(reason(r, "mso.digests")).toContain("org.iso.18013.5.1/family_name: digest mismatch");
    expect(reason(r, "mso.digests")).not.toContain("Doe");
  });

  it("rejects a flipped signature byte: COSE signature fails, digests still match", async () => {
    const root = decodeCbor(annexD) as Map<string, CborValue>;
    const doc = (root.get("documents") as Map<string, CborValue>[])[0]!;
    const sig = ((doc.get("issuerSigned") as Map<string, CborValue>).get("issuerAuth") as Uint8Array[])[3]!;
    const bad = annexD.slice();
    bad[indexOf(bad, sig) + 10] = (bad[indexOf(bad, sig) + 10] as number) ^ 0x80;
    const r = await verifyMdoc(bad, { trustAnchors: [annexIaca], at: AT });
    expect(failed(r)).toEqual(["cose.signature"]);
  });
});

describe("crafted mdocs (test PKI, valid signatures, one rule broken each)", async () => {
  const iaca = await makeIaca();
  const ds = await makeDs(iaca);
  const jwk = await deviceJwk();

  /** Issues a normal mdoc, then re-signs it with a mutated MSO. */
  async function craft(mutate: (mso: Map<CborValue, CborValue>) => void, by = ds, signWith = by): Promise<Uint8Array> {
    const r = await issueMdoc({ ...issuing(by), profile: "interop", input: samplePerson(), deviceKey: jwk, mso: MSO });
    const is = decodeCbor(r.issuerSigned) as Map<CborValue, CborValue>;
    const payload = decodeCbor((is.get("issuerAuth") as Uint8Array[])[2]!) as EmbeddedCbor;
    const mso = payload.decode() as Map<CborValue, CborValue>;
    mutate(mso);
    is.set("issuerAuth", await signMso(mso, signWith.signer, signWith.der));
    return encodeCbor(is);
  }
  const vi = (mso: Map<CborValue, CborValue>) => mso.get("validityInfo") as Map<CborValue, CborValue>;
  /** The MSO inside an IssuerSigned, as a map. */
  const decodeMso = (bytes: Uint8Array) => {
    const is = decodeCbor(bytes) as Map<CborValue, CborValue>;
    const payload = decodeCbor((is.get("issuerAuth") as Uint8Array[])[2]!) as EmbeddedCbor;
    return payload.decode() as Map<CborValue, CborValue>;
  };

  it("baseline: a crafted-but-unchanged mdoc passes", async () => {
    const r = await verifyMdoc(await craft(() => {}), { trustAnchors: [iaca.pem] });
    expect(failed(r)).toEqual([]);
  });

  it("rejects validityInfo dates tagged as epoch (tag 1) instead of tag 0", async () => {
    const bytes = await craft((mso) => {
      for (const k of ["signed", "validFrom", "validUntil"]) {
        const d = vi(mso).get(k) as TDate;
        vi(mso).set(k, new Tagged(1, Math.floor(d.date.getTime() / 1000)));
      }
    });
    const r = await verifyMdoc(bytes, { trustAnchors: [iaca.pem] });
    expect(status(r, "cose.signature")).toBe("PASS");
    expect(status(r, "mso.tdate")).toBe("FAIL");
    expect(reason(r, "mso.tdate")).toContain("signed is tag 1 (epoch)");
  });

  it("rejects a tdate with fractional seconds", async () => {
    const bytes = await craft((mso) => vi(mso).set("validUntil", new TDate("2099-01-01T00:00:00.5Z")));
    const r = await verifyMdoc(bytes, { trustAnchors: [iaca.pem] });
    expect(reason(r, "mso.tdate")).toContain("validUntil is not YYYY-MM-DDTHH:MM:SSZ");
  });

  it("mdoc.verifier.validity-check: rejects validFrom before signed", async () => {
    const bytes = await craft((mso) => {
      const signed = (vi(mso).get("signed") as TDate).date;
      vi(mso).set("validFrom", TDate.of(new Date(signed.getTime() - 60_000)));
    });
    const r = await verifyMdoc(bytes, { trustAnchors: [iaca.pem] });
    expect(failed(r)).toEqual(["mso.validity"]);
    expect(reason(r, "mso.validity")).toContain("validFrom is before signed");
  });

  it("mdoc.verifier.validity-check: refuses an mdoc before its validFrom, accepts it from validFrom on", async () => {
    const bytes = await craft((mso) => {
      const signed = (vi(mso).get("signed") as TDate).date;
      vi(mso).set("validFrom", TDate.of(new Date(signed.getTime() + 86_400_000)));
    });
    const validFrom = (vi(decodeMso(bytes)).get("validFrom") as TDate).date;
    const early = await verifyMdoc(bytes, { trustAnchors: [iaca.pem], at: new Date(validFrom.getTime() - 1000) });
    expect(failed(early)).toEqual(["mso.validity"]);
    expect(reason(early, "mso.validity")).toContain("not yet valid");
    const onTime = await verifyMdoc(bytes, { trustAnchors: [iaca.pem], at: validFrom });
    expect(failed(onTime)).toEqual([]);
  });

  it("mdoc.verifier.validity-check: rejects an MSO signed before the DS notBefore", async () => {
    const bytes = await craft((mso) => {
      const early = new Date(ds.cert.notBefore.getTime() - 3600_000);
      vi(mso).set("signed", TDate.of(early));
      vi(mso).set("validFrom", TDate.of(early));
    });
    const r = await verifyMdoc(bytes, { trustAnchors: [iaca.pem] });
    expect(failed(r)).toEqual(["mso.signed-in-ds-validity"]);
  });

  it("rejects a docType that differs from the expected one", async () => {
    const bytes = await craft((mso) => mso.set("docType", "org.iso.18013.5.1.mDL"));
    const r = await verifyMdoc(bytes, { trustAnchors: [iaca.pem], docType: "org.iso.23220.1.jp.mnc" });
    expect(failed(r)).toContain("mso.doctype");
  });

  it("mdoc.verifier.revocation-check: rejects a revoked DS; accepts with a CRL that does not list it", async () => {
    const bytes = await craft(() => {});
    const revoked = await makeCrl(iaca, [ds.cert.serialNumber]);
    const r = await verifyMdoc(bytes, { trustAnchors: [iaca.pem], crls: [revoked.toString("pem")] });
    expect(failed(r), reason(r, "ds.crl")).toEqual(["ds.crl"]);
    expect(reason(r, "ds.crl")).toContain("revoked");
    const clean = await makeCrl(iaca, ["0badc0de"]);
    expect((await verifyMdoc(bytes, { trustAnchors: [iaca.pem], crls: [new Uint8Array(clean.rawData)] })).ok).toBe(
      true,
    );
    // a CRL signed by another key with the IACA's name is not accepted
    const impostor = await makeIaca({ name: iaca.cert.subject });
    const forged = await makeCrl(impostor, []);
    const f = await verifyMdoc(bytes, { trustAnchors: [iaca.pem], crls: [forged.toString("pem")] });
    expect(reason(f, "ds.crl")).toContain("does not verify");
  });

  it("rejects a wrong root with the same name", async () => {
    const bytes = await craft(() => {});
    const impostor = await makeIaca({ name: iaca.cert.subject });
    const r = await verifyMdoc(bytes, { trustAnchors: [impostor.pem] });
    expect(failed(r)).toEqual(["ds.chain"]);
    expect(reason(r, "ds.chain")).toContain("its key did not sign");
  });

  it("rejects a DS certificate without the mdoc DS EKU", async () => {
    const noEku = await makeDs(iaca, { eku: false });
    // issuing refuses such a DS (mdoc.signer.key-state), so the MSO is signed directly
    const bytes = await craft(() => {}, ds, noEku);
    const r = await verifyMdoc(bytes, { trustAnchors: [iaca.pem] });
    expect(failed(r)).toEqual(["ds.eku"]);
  });

  it("builds the path through a link certificate after a root re-key (same name, new key)", async () => {
    const oldRoot = iaca;
    const newRoot = await makeIaca({ name: oldRoot.cert.subject });
    const link = await linkCert(oldRoot, newRoot);
    const dsNew = await makeDs(newRoot);
    const bytes = await craft(() => {}, dsNew);
    const without = await verifyMdoc(bytes, { trustAnchors: [oldRoot.pem] });
    expect(failed(without)).toEqual(["ds.chain"]);
    const r = await verifyMdoc(bytes, { trustAnchors: [oldRoot.pem], untrusted: [link.toString("pem")] });
    expect(failed(r)).toEqual([]);
    expect(reason(r, "ds.chain").split("<-").length).toBe(3);
    expect((await verifyMdoc(bytes, { trustAnchors: [newRoot.pem] })).ok).toBe(true);
  });
});

async function linkCert(oldRoot: TestCa, newRoot: TestCa): Promise<x509.X509Certificate> {
  return x509.X509CertificateGenerator.create({
    serialNumber: "7e57",
    subject: newRoot.cert.subject,
    issuer: oldRoot.cert.subject,
    notBefore: newRoot.cert.notBefore,
    notAfter: oldRoot.cert.notAfter,
    publicKey: newRoot.keys.publicKey,
    signingKey: oldRoot.keys.privateKey,
    signingAlgorithm: { name: "ECDSA", hash: "SHA-384" },
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  });
}
