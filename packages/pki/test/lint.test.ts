import { generateKeyPairSync, webcrypto } from "node:crypto";
import { type Signer, softwareSigner } from "@iaca/hsm";
import { ALGORITHMS, addDuration, DEFAULT_POLICY } from "@iaca/policy";
import { AsnConvert, OctetString } from "@peculiar/asn1-schema";
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  ExtendedKeyUsage,
  Extension,
  Extensions,
  RelativeDistinguishedName,
  RevokedCertificate,
  SubjectPublicKeyInfo,
  Time,
  Version,
} from "@peculiar/asn1-x509";
import { beforeAll, describe, expect, it } from "vitest";
import {
  ALL_RULES,
  buildName,
  crlTbs,
  dsTbs,
  exportPublicKey,
  extensions,
  type IssuerInfo,
  iacaTbs,
  issuerInfo,
  LintError,
  lintArtifact,
  OID,
  parseCertificate,
  period,
  signCertificate,
  signCrl,
  statusSignerTbs,
  toArrayBuffer,
  toBytes,
} from "../src/index.ts";

const policy = DEFAULT_POLICY;
const c = webcrypto;
const t0 = new Date(Date.UTC(2030, 0, 1));
let rootKey: Signer;
let root: IssuerInfo;
let dsKey: Awaited<ReturnType<typeof exportPublicKey>>;

const gen = (namedCurve: string) =>
  c.subtle.generateKey({ name: "ECDSA", namedCurve }, false, ["sign", "verify"]) as Promise<webcrypto.CryptoKeyPair>;

beforeAll(async () => {
  const rk = await gen("P-384");
  rootKey = softwareSigner(rk.privateKey);
  const info = await exportPublicKey(rk.publicKey, c);
  const signed = await signCertificate(
    iacaTbs({ policy, key: info, period: period(t0, addDuration(t0, "P5Y")) }),
    rootKey,
    { profile: "iaca", policy },
  );
  root = issuerInfo(parseCertificate(signed.der).asn1);
  dsKey = await exportPublicKey((await gen("P-256")).publicKey, c);
});

const goodDs = () => dsTbs({ policy, issuer: root, key: dsKey, period: period(t0, addDuration(t0, "P3M")), seq: 1 });
const goodCrl = (revoked = [] as { serial: Uint8Array; revokedAt: Date }[], number = 5n) =>
  crlTbs({ issuer: root, number, thisUpdate: t0, nextUpdate: addDuration(t0, "P30D"), revoked });
const replaceExt = (list: Extension[], oid: string, e: Extension) =>
  new Extensions(list.map((x) => (x.extnID === oid ? e : x)));

async function expectRefusal(p: Promise<unknown>, rule: string) {
  const err = await p.then(
    () => undefined,
    (e) => e,
  );
  expect(err).toBeInstanceOf(LintError);
  expect((err as LintError).details?.rules).toContain(rule);
}

describe("pki.lint.before-sign: broken TBS variants are refused and the rule is named", () => {
  const ds = (mutate: (t: ReturnType<typeof goodDs>) => void) => {
    const t = goodDs();
    mutate(t);
    return signCertificate(t, rootKey, { profile: "ds", policy, issuer: root });
  };

  it("the good DS passes", async () => {
    await expect(ds(() => {})).resolves.toHaveProperty("der");
  });
  it("pki.ds.key-usage: an EKU with a second purpose -> ds.eku.present; keyCertSign on a DS -> cert.ku.bits", async () => {
    const twoPurposes = new Extension({
      extnID: OID.extKeyUsage,
      critical: true,
      extnValue: new OctetString(AsnConvert.serialize(new ExtendedKeyUsage([OID.ekuMdlDs, OID.ekuTrustListSigner]))),
    });
    await expectRefusal(
      ds((t) => {
        t.extensions = replaceExt([...t.extensions!], OID.extKeyUsage, twoPurposes);
      }),
      "ds.eku.present",
    );
    await expectRefusal(
      ds((t) => {
        t.extensions = replaceExt([...t.extensions!], OID.keyUsage, extensions.keyUsage(1 | 32));
      }),
      "cert.ku.bits",
    );
  });
  it("pki.profile.version: a v2 certificate -> cert.version.v3", async () => {
    await expectRefusal(
      ds((t) => {
        t.version = Version.v2;
      }),
      "cert.version.v3",
    );
  });
  it("pki.profile.algorithms: SHA-1, a hash not matching the IACA curve, an RSA key", async () => {
    await expectRefusal(
      ds((t) => {
        t.signature = new AlgorithmIdentifier({ algorithm: "1.2.840.10045.4.1" }); // ecdsa-with-SHA1
      }),
      "cert.signature.ecdsa",
    );
    await expectRefusal(
      ds((t) => {
        t.signature = new AlgorithmIdentifier({ algorithm: ALGORITHMS["P-256"].signatureOid }); // the IACA key is P-384
      }),
      "cert.signature.matches-key",
    );
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ type: "spki", format: "der" });
    await expectRefusal(
      ds((t) => {
        t.subjectPublicKeyInfo = AsnConvert.parse(rsa, SubjectPublicKeyInfo);
      }),
      "cert.spki.ec",
    );
  });
  it("pki.name.types: only C, ST, O, CN in this order, single-valued -> cert.name.attributes / cert.name.cn", async () => {
    const rdn = (type: string, utf8String: string) =>
      new RelativeDistinguishedName([new AttributeTypeAndValue({ type, value: new AttributeValue({ utf8String }) })]);
    await expectRefusal(
      ds((t) => {
        t.subject.push(rdn("2.5.4.7", "Chiyoda")); // L
      }),
      "cert.name.attributes",
    );
    await expectRefusal(
      ds((t) => {
        t.subject.reverse(); // CN first
      }),
      "cert.name.attributes",
    );
    await expectRefusal(
      ds((t) => {
        t.subject.splice(t.subject.length - 1, 1); // no CN
      }),
      "cert.name.cn",
    );
    await expectRefusal(
      ds((t) => {
        t.subject[0]!.push(new AttributeTypeAndValue({ type: OID.O, value: new AttributeValue({ utf8String: "x" }) }));
      }),
      "cert.name.attributes",
    );
  });
  it("pki.profile.name-forms: an issuer name not byte-identical to the IACA subject -> cert.issuer.name", async () => {
    await expectRefusal(
      ds((t) => {
        // same text, C as UTF8String instead of PrintableString: different bytes
        t.issuer[0]![0]!.value = new AttributeValue({ utf8String: "JP" });
      }),
      "cert.issuer.name",
    );
  });
  it("status-signer (18013-5 Table B.9): the profile passes without EKU; an EKU -> status.eku.absent", async () => {
    const tbs = () =>
      statusSignerTbs({
        policy,
        issuer: root,
        key: dsKey,
        period: period(t0, addDuration(t0, "P3M")),
        commonName: "Japan mdoc Status List Signer 1",
      });
    const ok = await signCertificate(tbs(), rootKey, { profile: "status-signer", policy, issuer: root });
    expect(parseCertificate(ok.der).ekus).toEqual([]);
    const withEku = tbs();
    withEku.extensions = new Extensions([
      ...withEku.extensions!,
      new Extension({
        extnID: OID.extKeyUsage,
        critical: true,
        extnValue: new OctetString(AsnConvert.serialize(new ExtendedKeyUsage([OID.ekuMdlDs]))),
      }),
    ]);
    await expectRefusal(
      signCertificate(withEku, rootKey, { profile: "status-signer", policy, issuer: root }),
      "status.eku.absent",
    );
  });
  it("pki.ds.key-usage: EKU missing -> ds.eku.present", async () => {
    await expectRefusal(
      ds((t) => {
        t.extensions = new Extensions(t.extensions!.filter((e) => e.extnID !== OID.extKeyUsage));
      }),
      "ds.eku.present",
    );
  });
  it("pki.ds.key-usage: EKU not critical -> ds.eku.critical", async () => {
    await expectRefusal(
      ds((t) => {
        t.extensions = replaceExt([...t.extensions!], OID.extKeyUsage, extensions.eku(OID.ekuMdlDs, false));
      }),
      "ds.eku.critical",
    );
  });
  it("pki.profile.annex-b: extra critical extension -> cert.ext.critical", async () => {
    await expectRefusal(
      ds((t) => {
        t.extensions = replaceExt(
          [...t.extensions!],
          OID.issuerAltName,
          new Extension({
            ...t.extensions!.find((e) => e.extnID === OID.issuerAltName)!,
            critical: true,
          }),
        );
      }),
      "cert.ext.critical",
    );
  });
  it("pki.validity.plan: DS validity over the policy -> ds.validity.policy", async () => {
    await expectRefusal(
      ds((t) => {
        t.validity.notAfter = new Time(addDuration(t0, "P4M"));
      }),
      "ds.validity.policy",
    );
  });
  it("pki.validity.plan: DS beyond the root -> cert.validity.within-issuer", async () => {
    const late = addDuration(t0, "P4Y11M");
    const t = dsTbs({ policy, issuer: root, key: dsKey, period: period(late, addDuration(late, "P3M")), seq: 2 });
    await expectRefusal(
      signCertificate(t, rootKey, { profile: "ds", policy, issuer: root }),
      "cert.validity.within-issuer",
    );
  });
  it("pki.profile.name-forms: country mismatch -> ee.name.country-issuer", async () => {
    await expectRefusal(
      ds((t) => {
        t.subject[0]![0]!.value.printableString = "US";
      }),
      "ee.name.country-issuer",
    );
  });
  it("pki.name.types: lower-case country -> cert.name.country", async () => {
    await expectRefusal(
      ds((t) => {
        t.subject[0]![0]!.value.printableString = "jp";
      }),
      "cert.name.country",
    );
  });
  it("pki.serial.random: serial too long -> cert.serial.length", async () => {
    await expectRefusal(
      ds((t) => {
        t.serialNumber = toArrayBuffer(new Uint8Array(21).fill(0x11));
      }),
      "cert.serial.length",
    );
  });
  it("pki.serial.random: serial not positive -> cert.serial.positive", async () => {
    await expectRefusal(
      ds((t) => {
        t.serialNumber = toArrayBuffer(Uint8Array.of(0xf0, 1, 2, 3, 4, 5, 6, 7, 8, 9));
      }),
      "cert.serial.positive",
    );
  });
  it("pki.profile.annex-b: CDP with the wrong URL -> cert.cdp.policy-url", async () => {
    await expectRefusal(
      ds((t) => {
        t.extensions = replaceExt([...t.extensions!], OID.crlDistributionPoints, extensions.cdp("https://x.example/"));
      }),
      "cert.cdp.policy-url",
    );
  });

  const ca = (mutate: (t: ReturnType<typeof iacaTbs>) => void) => {
    const t = iacaTbs({ policy, key: root.key, period: period(t0, addDuration(t0, "P5Y")) });
    mutate(t);
    return signCertificate(t, rootKey, { profile: "iaca", policy });
  };
  it("pki.profile.annex-b: pathLen != 0 -> ca.bc.pathlen-zero", async () => {
    await expectRefusal(
      ca((t) => {
        t.extensions = replaceExt([...t.extensions!], OID.basicConstraints, extensions.basicConstraintsCa(1));
      }),
      "ca.bc.pathlen-zero",
    );
  });
  it("pki.profile.annex-b: IACA with digitalSignature -> cert.ku.bits", async () => {
    await expectRefusal(
      ca((t) => {
        t.extensions = replaceExt([...t.extensions!], OID.keyUsage, extensions.keyUsage(1 | 32 | 64));
      }),
      "cert.ku.bits",
    );
  });
  it("pki.profile.name-forms: a root whose issuer differs from its subject -> ca.self-issued", async () => {
    await expectRefusal(
      ca((t) => {
        t.issuer = buildName({ C: "JP", O: "Digital Agency", CN: "Someone Else" });
      }),
      "ca.self-issued",
    );
  });
  it("pki.validity.plan: IACA validity over the policy -> iaca.validity.policy", async () => {
    await expectRefusal(
      ca((t) => {
        t.validity.notAfter = new Time(addDuration(t0, "P10Y"));
      }),
      "iaca.validity.policy",
    );
  });

  const crlCtx = (previousCrlNumber?: bigint) => ({ profile: "crl" as const, policy, issuer: root, previousCrlNumber });
  it("pki.crl.extensions: CRL with IssuingDistributionPoint -> crl.ext.no-idp", async () => {
    const t = goodCrl();
    t.crlExtensions!.push(
      new Extension({
        extnID: OID.issuingDistributionPoint,
        critical: true,
        extnValue: new OctetString(Uint8Array.of(0x30, 0)),
      }),
    );
    await expectRefusal(signCrl(t, rootKey, crlCtx()), "crl.ext.no-idp");
  });
  it("pki.crl.extensions: CRL entry extension (reason code) -> crl.entry.no-extensions", async () => {
    const t = goodCrl([{ serial: Uint8Array.of(0x42, 1, 2, 3, 4, 5, 6, 7), revokedAt: t0 }]);
    t.revokedCertificates![0] = new RevokedCertificate({
      ...t.revokedCertificates![0]!,
      crlEntryExtensions: [
        new Extension({ extnID: OID.crlReason, extnValue: new OctetString(Uint8Array.of(0x0a, 1, 1)) }),
      ],
    });
    await expectRefusal(signCrl(t, rootKey, crlCtx()), "crl.entry.no-extensions");
  });
  it("pki.crl.extensions: a missing AKI, an extra or a critical extension -> crl.ext.exact / crl.aki.issuer", async () => {
    const noAki = goodCrl();
    noAki.crlExtensions = noAki.crlExtensions!.filter((e) => e.extnID !== OID.aki);
    await expectRefusal(signCrl(noAki, rootKey, crlCtx()), "crl.ext.exact");
    await expectRefusal(signCrl(noAki, rootKey, crlCtx()), "crl.aki.issuer");
    const critical = goodCrl();
    critical.crlExtensions = critical.crlExtensions!.map((e) =>
      e.extnID === OID.crlNumber ? new Extension({ ...e, critical: true }) : e,
    );
    await expectRefusal(signCrl(critical, rootKey, crlCtx()), "crl.ext.exact");
    const wrongAki = goodCrl();
    wrongAki.crlExtensions = wrongAki.crlExtensions!.map((e) => (e.extnID === OID.aki ? extensions.aki(dsKey.ski) : e));
    await expectRefusal(signCrl(wrongAki, rootKey, crlCtx()), "crl.aki.issuer");
  });
  it("pki.crl.next-update: a list promising freshness beyond thisUpdate + policy revocation.nextUpdate -> crl.next-update", async () => {
    const long = crlTbs({
      issuer: root,
      number: 5n,
      thisUpdate: t0,
      nextUpdate: addDuration(t0, "P107D"),
      revoked: [],
    });
    await expectRefusal(signCrl(long, rootKey, crlCtx()), "crl.next-update");
    const atLimit = crlTbs({
      issuer: root,
      number: 5n,
      thisUpdate: t0,
      nextUpdate: addDuration(t0, "P106D"),
      revoked: [],
    });
    await expect(signCrl(atLimit, rootKey, crlCtx())).resolves.toHaveProperty("der");
  });

  it("pki.crl.version: a v1 CRL -> crl.version.v2", async () => {
    const t = goodCrl();
    t.version = Version.v1;
    await expectRefusal(signCrl(t, rootKey, crlCtx()), "crl.version.v2");
    await expect(signCrl(goodCrl(), rootKey, crlCtx())).resolves.toHaveProperty("der");
  });
  it("pki.profile.algorithms: wrong CRL signature hash for the IACA key -> crl.signature.ecdsa", async () => {
    const t = goodCrl();
    t.signature = new AlgorithmIdentifier({ algorithm: ALGORITHMS["P-256"].signatureOid });
    await expectRefusal(signCrl(t, rootKey, crlCtx()), "crl.signature.ecdsa");
  });
  it("pki.profile.name-forms: a CRL issuer that is not the IACA subject byte for byte -> crl.issuer.name", async () => {
    const t = goodCrl();
    t.issuer = buildName({ C: "JP", O: "Digital Agency", CN: "Japan mdoc IACA 2" });
    await expectRefusal(signCrl(t, rootKey, crlCtx()), "crl.issuer.name");
  });
  it("pki.crl.number-increasing: non-increasing CRL number -> crl.number.increasing", async () => {
    await expectRefusal(signCrl(goodCrl([], 5n), rootKey, crlCtx(5n)), "crl.number.increasing");
    await expect(signCrl(goodCrl([], 6n), rootKey, crlCtx(5n))).resolves.toHaveProperty("der");
  });
});

describe("lint of files", () => {
  it("prints one result per rule and detects the profile", async () => {
    const signed = await signCertificate(goodDs(), rootKey, { profile: "ds", policy, issuer: root });
    const pem = Buffer.from(signed.pem);
    const r = lintArtifact(pem, { policy, issuer: root.cert });
    expect(r.profile).toBe("ds");
    expect(r.results.filter((x) => x.status !== "PASS")).toEqual([]);
    const alone = lintArtifact(signed.der, { policy });
    expect(alone.results.some((x) => x.status === "SKIP")).toBe(true);
    expect(toBytes(AsnConvert.serialize(parseCertificate(signed.der).asn1))).toEqual(signed.der);
  });
});

describe("lint rules are data", () => {
  it("every rule names a pki control, and its clause is the control's or a profile heading", () => {
    for (const r of ALL_RULES) {
      expect(r.control.id).toMatch(/^pki\./);
      expect([r.control.clause.id, "7.1", "7.2", "2.2"]).toContain(r.clause.id);
    }
  });
});
