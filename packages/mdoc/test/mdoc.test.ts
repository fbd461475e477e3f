import { createHash } from "node:crypto";
import { digest } from "@iaca/hsm";
import { describe, expect, it } from "vitest";
import {
  ageAt,
  type DoctypeProfile,
  decodeCbor,
  EmbeddedCbor,
  encodeCbor,
  FullDate,
  getProfile,
  isDeterministic,
  isKnownLocalGovCode,
  issueMdoc,
  isValidJisX0402,
  isValidMyNumber,
  LOCAL_GOV_CODES_EDITION,
  MdocError,
  nextBirthday,
  parseCivilDate,
  randomDigestIds,
  registerProfile,
  Tagged,
  TDate,
  validateInput,
  verifyMdoc,
} from "../src/index.ts";
import { deviceJwk, fakeJp2, issuing, makeDs, makeIaca, samplePerson } from "./support/testpki.ts";

const MSO = { validity: "P30D", expectedUpdate: "P25D", digestAlgorithm: "SHA-256" as const };
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("cbor (18013-5 9.1.2)", () => {
  it("encodes deterministically: map keys sorted by encoded bytes, shortest integers", () => {
    const m = new Map<unknown, unknown>([
      ["bb", 1],
      [10, 2],
      ["a", 3],
      [-1, 4],
    ]);
    // 10 (0a) < -1 (20) < "a" (6161) < "bb" (626262)
    expect(hex(encodeCbor(m as never))).toBe("a40a02200461610362626201");
    expect(hex(encodeCbor(123456789018))).toBe("1b0000001cbe991a1a");
    expect(hex(encodeCbor(65535))).toBe("19ffff");
    expect(() => encodeCbor(1.5)).toThrow(MdocError);
  });

  it("writes tdate as tag 0 without fractions, full-date as tag 1004, embedded CBOR as tag 24", () => {
    expect(hex(encodeCbor(TDate.of(new Date("2024-04-01T12:34:56.789Z"))))).toBe(
      `c074${Buffer.from("2024-04-01T12:34:56Z").toString("hex")}`,
    );
    expect(hex(encodeCbor(new FullDate("2000-03-31")))).toBe(`d903ec6a${Buffer.from("2000-03-31").toString("hex")}`);
    expect(hex(encodeCbor(EmbeddedCbor.wrap(1)))).toBe("d8184101");
  });

  it("wraps several items in one buffer with the same bytes as one at a time, across every bstr head size", () => {
    // 1-byte content (head in the initial byte), 30 bytes (1-byte length), 300 and 20 KB (2-byte), 70 KB (4-byte)
    const values = [1, "x".repeat(28), new Uint8Array(300).fill(3), new Uint8Array(20 * 1024).fill(5)];
    values.push(new Uint8Array(70_000).fill(9));
    const all = EmbeddedCbor.wrapAll(values);
    expect(all.map((e) => hex(e.raw))).toEqual(values.map((v) => hex(EmbeddedCbor.wrap(v).raw)));
    expect(all.map((e) => hex(e.bytes))).toEqual(values.map((v) => hex(encodeCbor(v))));
    // each item is its own view: writing one never shows in another
    expect(new Set(all.map((e) => e.raw.buffer)).size).toBe(1);
    expect(all.map((e) => e.decode())).toEqual(values);
  });

  it("digests equal node:crypto's for SHA-256/384/512 and stay distinct when many are made", () => {
    const data = [new Uint8Array(0), new Uint8Array(80).fill(1), new Uint8Array(20 * 1024).fill(2)];
    const made: Array<[Uint8Array, string]> = [];
    for (const alg of ["SHA-256", "SHA-384", "SHA-512"] as const)
      for (let i = 0; i < 400; i++) {
        const d = data[i % 3] as Uint8Array;
        made.push([digest(alg, d), createHash(alg.replace("-", "").toLowerCase()).update(d).digest("hex")]);
      }
    // checked after all were made: digests share Buffer's pool and must not overwrite each other
    for (const [d, want] of made) expect(hex(d)).toBe(want);
  });

  it("decoding keeps tag-24 bytes as received and keeps tag 0, tag 1 and tag 1004 apart", () => {
    // tag 24 around a non-deterministic map {"b":1,"a":2}: raw bytes are kept, not re-encoded
    const inner = Buffer.from("a2616201616102", "hex");
    const bytes = new Uint8Array([0xd8, 0x18, 0x47, ...inner]);
    const v = decodeCbor(bytes) as EmbeddedCbor;
    expect(v).toBeInstanceOf(EmbeddedCbor);
    expect(hex(v.raw)).toBe(hex(bytes));
    expect(isDeterministic(v.bytes)).toBe(false);
    expect(decodeCbor(encodeCbor(new TDate("2020-10-01T13:30:02Z")))).toBeInstanceOf(TDate);
    const epoch = decodeCbor(new Uint8Array([0xc1, 0x1a, 0x5f, 0x75, 0xd9, 0x7a]));
    expect(epoch).toBeInstanceOf(Tagged);
    expect((epoch as Tagged).tag).toBe(1);
    expect(decodeCbor(encodeCbor(new FullDate("2000-03-31")))).toBeInstanceOf(FullDate);
    expect(() => decodeCbor(new Uint8Array([0x01, 0x02]))).toThrow(/trailing/);
  });
});

describe("mdoc.input.validated: check digits and input rules", () => {
  it("My Number check digit (施行令第八条): 123456789018 passes, the seed's 123456789012 fails", () => {
    expect(isValidMyNumber("123456789018")).toBe(true);
    expect(isValidMyNumber("123456789012")).toBe(false);
    expect(isValidMyNumber("12345678901")).toBe(false);
  });

  it("JIS X 0402 check digit: 131016 千代田区, 011002 札幌市, 271004 大阪市, 072010 福島市, 131041 新宿区", () => {
    for (const c of ["131016", "011002", "271004", "072010", "131041"]) expect(isValidJisX0402(c)).toBe(true);
    expect(isValidJisX0402("131017")).toBe(false);
  });

  it("mdoc.input.validated: unknown and missing fields are rejected by name; ages are never taken from the caller", () => {
    const p = getProfile("interop");
    const input = { ...samplePerson(), age_over_20: true } as Record<string, unknown>;
    delete input.address;
    try {
      validateInput(p, input, new Date());
      expect.unreachable();
    } catch (e) {
      expect((e as MdocError).code).toBe("MDOC_INPUT_INVALID");
      expect((e as Error).message).toContain("age_over_20: unknown field");
      expect((e as Error).message).toContain("address: missing");
    }
  });

  it("mdoc.no-pii-in-errors: a bad My Number, code, date and portrait are named without their values", () => {
    const input = {
      ...samplePerson(),
      individualNumber: "123456789012",
      localGovCode: "131017",
      birthDate: "2001-02-29",
      portrait: Buffer.from("not an image at all").toString("base64"),
      familyName: "秘密\u0007",
    };
    let msg = "";
    let details = "";
    try {
      validateInput(getProfile("seed-2024"), input, new Date());
    } catch (e) {
      msg = (e as Error).message;
      details = JSON.stringify((e as MdocError).details);
    }
    expect(msg).toContain("individualNumber: check digit mismatch");
    expect(msg).toContain("localGovCode: check digit mismatch");
    expect(msg).toContain("birthDate: must be a real date");
    expect(msg).toContain("portrait: must be an image of format jp2/j2k");
    expect(msg).toContain("familyName: must not contain control characters");
    for (const secret of ["123456789012", "131017", "2001-02-29", "秘密", "bm90"]) {
      expect(msg).not.toContain(secret);
      expect(details).not.toContain(secret);
    }
  });

  it("mdoc.input.validated: seed-2024 wants JPEG 2000, interop also JPEG; size is limited", () => {
    const jpeg = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]);
    expect(() => validateInput(getProfile("seed-2024"), samplePerson(jpeg), new Date())).toThrow(/portrait/);
    expect(validateInput(getProfile("interop"), samplePerson(jpeg), new Date()).portrait).toBeInstanceOf(Uint8Array);
    expect(() => validateInput(getProfile("interop"), samplePerson(fakeJp2(200_000)), new Date())).toThrow(
      /larger than/,
    );
  });

  it("mdoc.input.validated: a local government code must be on the shipped list; eleven zeros are no My Number", () => {
    const v = (o: Record<string, unknown>) => () =>
      validateInput(getProfile("seed-2024"), { ...samplePerson(), ...o }, new Date());
    // valid check digits, but no such body (99999), a prefecture (130001), a code retired in 2005 (静岡市 before it became a designated city, 222011)
    for (const code of ["999997", "99999", "130001", "222011"])
      expect(v({ localGovCode: code }), code).toThrow(
        /localGovCode: not a local public body code \(list of \d{4}-\d{2}-\d{2}\)/,
      );
    expect(isKnownLocalGovCode("011011")).toBe(true); // 札幌市中央区: a ward of a designated city
    expect(v({ individualNumber: "000000000000" })).toThrow(/individualNumber: not an assignable individual number/);
    expect(LOCAL_GOV_CODES_EDITION).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it("a 5-digit local government code gets its JIS X 0402 check digit", () => {
    expect(
      validateInput(getProfile("seed-2024"), { ...samplePerson(), localGovCode: "01100" }, new Date()).localGovCode,
    ).toBe("011002");
  });
});

describe("age (JST civil rule)", () => {
  const b = parseCivilDate("2000-03-31")!;
  it("the age increases at 00:00 JST on the birthday", () => {
    expect(ageAt(b, new Date("2020-03-30T14:59:59Z"))).toBe(19);
    expect(ageAt(b, new Date("2020-03-30T15:00:00Z"))).toBe(20);
    expect(nextBirthday(b, new Date("2020-01-01T00:00:00Z")).toISOString()).toBe("2020-03-30T15:00:00.000Z");
  });
  it("a 29 February birthday counts on 1 March in common years (民法143条)", () => {
    const leap = parseCivilDate("2004-02-29")!;
    expect(ageAt(leap, new Date("2025-02-28T14:59:59Z"))).toBe(20);
    expect(ageAt(leap, new Date("2025-02-28T15:00:00Z"))).toBe(21);
    expect(nextBirthday(leap, new Date("2028-01-01T00:00:00Z")).toISOString()).toBe("2028-02-28T15:00:00.000Z");
  });
});

describe("issuing", async () => {
  const iaca = await makeIaca();
  const ds = await makeDs(iaca);
  const jwk = await deviceJwk();

  it("mdoc.salt.random: 32-byte salts, all different; digestIDs a unique random permutation", async () => {
    const r = await issueMdoc({
      profile: "interop",
      input: samplePerson(),
      deviceKey: jwk,
      ...issuing(ds),
      mso: MSO,
    });
    const is = decodeCbor(r.issuerSigned) as Map<string, unknown>;
    const items = [...(is.get("nameSpaces") as Map<string, EmbeddedCbor[]>).values()]
      .flat()
      .map((x) => x.decode() as Map<string, unknown>);
    const salts = items.map((m) => hex(m.get("random") as Uint8Array));
    expect(salts.every((s) => s.length === 64)).toBe(true);
    expect(new Set(salts).size).toBe(items.length);
    const ids = items.map((m) => m.get("digestID") as number).sort((a, b) => a - b);
    expect(ids).toEqual(Array.from({ length: items.length }, (_, i) => i));
    const perms = new Set(Array.from({ length: 20 }, () => randomDigestIds(11).join(",")));
    expect(perms.size).toBeGreaterThan(1);
  });

  it("interop profile: verifies, carries all elements, deterministic encoding, x5chain is one bstr", async () => {
    const now = new Date();
    const r = await issueMdoc({
      profile: "interop",
      input: samplePerson(),
      deviceKey: jwk,
      ...issuing(ds),
      mso: MSO,
      now,
    });
    expect(isDeterministic(r.issuerSigned)).toBe(true);
    const v = await verifyMdoc(r.issuerSigned, { trustAnchors: [iaca.pem] });
    expect(v.checks.filter((c) => c.status === "FAIL")).toEqual([]);
    expect(v.ok).toBe(true);
    expect(v.documents[0]?.profile).toBe("interop");
    const jp = v.documents[0]!.elements["org.iso.23220.1.jp"]!;
    expect(jp.full_name_unicode).toBe("山田 太郎");
    expect(jp.birth_date_unicode).toBe("2000年3月31日");
    expect(jp.local_gov_code_unicode).toBe("011002");
    expect(jp.individual_number_unicode).toBe("123456789018");
    const common = v.documents[0]!.elements["org.iso.23220.1"]!;
    expect(common.sex).toBe(1);
    expect((common.birth_date as FullDate).value).toBe("2000-03-31");
    expect(common.age_over_20).toBe(true);
    expect(v.checks.find((c) => c.name === "cose.header")?.reason).toContain("single bstr");
  });

  it("seed-2024 profile: uint codes round-trip with their leading zeros (fixed width 6 / 12)", async () => {
    const r = await issueMdoc({
      profile: "seed-2024",
      input: samplePerson(),
      deviceKey: jwk,
      ...issuing(ds),
      mso: MSO,
    });
    const is = decodeCbor(r.issuerSigned) as Map<string, unknown>;
    const jp = (is.get("nameSpaces") as Map<string, EmbeddedCbor[]>).get("org.iso.23220.1.jp")!;
    const raw = Object.fromEntries(
      jp.map((x) => x.decode() as Map<string, unknown>).map((m) => [m.get("elementIdentifier"), m.get("elementValue")]),
    );
    expect(raw.local_gov_code).toBe(11002);
    expect(raw.individual_number).toBe(123456789018);
    expect(raw.sex_unicode).toBe("男");
    expect(raw.Portrait).toBeInstanceOf(Uint8Array);
    const v = await verifyMdoc(r.issuerSigned, { trustAnchors: [iaca.pem] });
    expect(v.ok).toBe(true);
    expect(v.documents[0]?.profile).toBe("seed-2024");
    expect(v.documents[0]!.elements["org.iso.23220.1.jp"]!.local_gov_code).toBe("011002");
    expect(v.documents[0]!.elements["org.iso.23220.1.jp"]!.individual_number).toBe("123456789018");
  });

  it("mdoc.mso.validity-cap: signed = validFrom = now, validUntil = +30 days, expectedUpdate = +25 days", async () => {
    const now = new Date("2025-06-01T00:00:00.700Z");
    const r = await issueMdoc({
      profile: "interop",
      input: { ...samplePerson(), birthDate: "1980-01-15" },
      deviceKey: jwk,
      ...issuing(await makeDs(iaca, { notBefore: new Date("2025-05-01T00:00:00Z") })),
      mso: MSO,
      now,
    });
    expect(r.validity.signed.toISOString()).toBe("2025-06-01T00:00:00.000Z");
    expect(r.validity.validFrom).toEqual(r.validity.signed);
    expect(r.validity.validUntil.toISOString()).toBe("2025-07-01T00:00:00.000Z");
    expect(r.validity.expectedUpdate?.toISOString()).toBe("2025-06-26T00:00:00.000Z");
    expect(r.validUntilLimitedBy).toBe("policy");
  });

  it("mdoc.mso.validity-cap: validUntil never passes the DS certificate's notAfter", async () => {
    const now = new Date("2025-06-01T00:00:00Z");
    const short = await makeDs(iaca, {
      notBefore: new Date("2025-05-01T00:00:00Z"),
      notAfter: new Date("2025-06-10T00:00:00Z"),
    });
    const r = await issueMdoc({
      profile: "interop",
      input: { ...samplePerson(), birthDate: "1980-01-15" },
      deviceKey: jwk,
      ...issuing(short),
      mso: MSO,
      now,
    });
    expect(r.validity.validUntil.toISOString()).toBe("2025-06-10T00:00:00.000Z");
    expect(r.validUntilLimitedBy).toBe("ds-not-after");
    expect(r.validity.expectedUpdate).toBeUndefined();
  });

  it("mdoc.mso.age-cut: validUntil is cut to the birthday (00:00 JST) inside the validity", async () => {
    const now = new Date("2020-03-20T03:00:00Z");
    const by = issuing(await makeDs(iaca, { notBefore: new Date("2020-03-01T00:00:00Z") }));
    const r = await issueMdoc({ profile: "interop", input: samplePerson(), deviceKey: jwk, ...by, mso: MSO, now });
    expect(r.validity.validUntil.toISOString()).toBe("2020-03-30T15:00:00.000Z");
    expect(r.validUntilLimitedBy).toBe("age-change");
    const v = await verifyMdoc(r.issuerSigned, { trustAnchors: [iaca.pem], at: new Date("2020-03-25T00:00:00Z") });
    expect(v.documents[0]!.elements["org.iso.23220.1"]!.age_over_20).toBe(false);
    expect(v.documents[0]!.elements["org.iso.23220.1"]!.age_in_years).toBe(19);
  });

  it("mdoc.signer.key-state: refuses without a DS certificate, outside its validity, when revoked, when the hook refuses", async () => {
    const base = { profile: "interop", input: samplePerson(), deviceKey: jwk, mso: MSO };
    const code = async (p: Promise<unknown>) =>
      p.then(
        () => "signed",
        (e: MdocError) => e.code,
      );
    expect(await code(issueMdoc({ ...base, signer: ds.signer, dsCertificate: new Uint8Array(0) }))).toBe(
      "MDOC_NO_DS_CERTIFICATE",
    );
    const expired = await makeDs(iaca, {
      notBefore: new Date("2020-01-01T00:00:00Z"),
      notAfter: new Date("2020-04-01T00:00:00Z"),
    });
    expect(await code(issueMdoc({ ...base, ...issuing(expired) }))).toBe("MDOC_DS_KEY_STATE");
    const future = await makeDs(iaca, { notBefore: new Date(Date.now() + 86_400_000) });
    expect(await code(issueMdoc({ ...base, ...issuing(future) }))).toBe("MDOC_DS_KEY_STATE");
    expect(
      await code(issueMdoc({ ...base, ...issuing(ds), isRevoked: (s) => s === ds.cert.serialNumber.toLowerCase() })),
    ).toBe("MDOC_DS_REVOKED");
    const noEku = await makeDs(iaca, { eku: false });
    expect(await code(issueMdoc({ ...base, ...issuing(noEku) }))).toBe("MDOC_DS_KEY_STATE");
    const seen: string[] = [];
    const hook = (ctx: { serialNumber: string }) => {
      seen.push(ctx.serialNumber);
      throw new MdocError("PKI_DS_KEY_RETIRED", "retired");
    };
    expect(await code(issueMdoc({ ...base, ...issuing(ds), keyStateCheck: hook }))).toBe("PKI_DS_KEY_RETIRED");
    expect(seen).toEqual([ds.cert.serialNumber.toLowerCase()]);
    const events: unknown[] = [];
    await code(issueMdoc({ ...base, ...issuing(expired), audit: { append: async (e) => events.push(e) } }));
    expect(JSON.stringify(events)).toContain('"outcome":"denied"');
    expect(JSON.stringify(events)).not.toContain("123456789018");
  });

  it("mdoc.input.validated: a second doctype is added as data (JSON), with no code", async () => {
    const json = `{
      "id": "example-licence", "docType": "org.example.jp.licence.1",
      "input": { "name": {"type":"text","maxLength":100}, "licenceNumber": {"type":"digits","lengths":[8]},
                 "birthDate": {"type":"date"}, "category": {"type":"enum","values":["A","B"]} },
      "namespaces": { "org.example.jp.licence.1": {
          "holder_name": {"type":"tstr","source":{"from":"name"}},
          "licence_number": {"type":"uint","width":8,"source":{"from":"licenceNumber"}},
          "category": {"type":"tstr","source":{"from":"category"}},
          "issue_date": {"type":"full-date","source":{"fn":"issuance_date"}},
          "expiry_date": {"type":"full-date","source":{"fn":"issuance_plus_years","years":3}},
          "age_over_18": {"type":"bool","source":{"fn":"age_over","from":"birthDate","years":18}} } } }`;
    const p = registerProfile(JSON.parse(json) as DoctypeProfile);
    const r = await issueMdoc({
      profile: p.id,
      input: { name: "佐藤 花子", licenceNumber: "00123457", birthDate: "1990-05-05", category: "A" },
      deviceKey: jwk,
      ...issuing(ds),
      mso: MSO,
    });
    const v = await verifyMdoc(r.issuerSigned, { trustAnchors: [iaca.pem] });
    expect(v.ok).toBe(true);
    expect(v.documents[0]?.docType).toBe("org.example.jp.licence.1");
    expect(v.documents[0]!.elements["org.example.jp.licence.1"]!.licence_number).toBe("00123457");
    expect(() =>
      registerProfile({ ...p, id: "bad", namespaces: { x: { y: { type: "tstr", source: { from: "nope" } } } } }),
    ).toThrow(/input "nope" not declared/);
  });
});

describe("device key", () => {
  it("refuses a P-256 COSE_Key that is not on the curve, and a private JWK", async () => {
    const { checkCoseKey, coseKeyFromJwk } = await import("../src/index.ts");
    const jwk = await deviceJwk();
    const key = coseKeyFromJwk(jwk);
    expect(checkCoseKey(key).crv).toBe("P-256");
    const y = key.get(-3) as Uint8Array;
    const bad = new Map(key);
    bad.set(
      -3,
      Uint8Array.from(y, (b, i) => (i === 31 ? b ^ 1 : b)),
    );
    expect(() => checkCoseKey(bad)).toThrow(/not a point on its curve/);
    expect(() => coseKeyFromJwk({ ...jwk, d: "AAAA" })).toThrow(/public key/);
  });
});
