// Token Status List encoding against the draft's published vectors, the token as this project
// signs it, and the reference verifier's status check on every way a token can be wrong.
import "reflect-metadata";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  decodeCbor,
  encodeCbor,
  issueMdoc,
  parseStatusListToken,
  STATUS,
  StatusList,
  signStatusListToken,
  verifyMdoc,
} from "../src/index.ts";
import { deviceJwk, makeDs, makeIaca, samplePerson } from "./support/testpki.ts";

const V = JSON.parse(readFileSync(join(import.meta.dirname, "vectors/status-list.json"), "utf8"));
const hex = (s: string) => new Uint8Array(Buffer.from(s, "hex"));
const MSO = { validity: "P30D", expectedUpdate: "P25D", digestAlgorithm: "SHA-256" as const };
const URI = "https://dts.example.jp/status/1";

describe("status list encoding (draft-ietf-oauth-status-list test vectors)", () => {
  for (const name of ["short1", "short2"] as const) {
    it(`${name}: our byte array and compressed lst equal the draft's`, () => {
      const v = V[name];
      const theirs = decodeCbor(hex(v.cbor)) as Map<string, unknown>;
      expect(Buffer.from(StatusList.fromCbor(theirs as never).bytes).toString("hex")).toBe(v.bytes);
      // same members and bytes; our map is in deterministic key order (lst before bits)
      const ours = decodeCbor(encodeCbor(new StatusList(v.bits, hex(v.bytes)).toCbor())) as Map<string, unknown>;
      expect(ours.get("bits")).toBe(theirs.get("bits"));
      expect(Buffer.from(ours.get("lst") as Uint8Array).toString("hex")).toBe(
        Buffer.from(theirs.get("lst") as Uint8Array).toString("hex"),
      );
    });
  }
  for (const name of ["long1", "long2"] as const) {
    it(`${name}: 2^20 entries, set one by one, decode to the draft's list`, () => {
      const v = V[name];
      const list = new StatusList(v.bits, v.size);
      for (const [i, s] of Object.entries(v.set)) list.set(Number(i), s as number);
      const theirs = StatusList.fromCbor(decodeCbor(hex(v.cbor)));
      expect(theirs.size).toBe(v.size);
      expect(Buffer.from(theirs.bytes).equals(Buffer.from(list.bytes))).toBe(true);
      for (const [i, s] of Object.entries(v.set)) expect(theirs.get(Number(i))).toBe(s);
      expect(theirs.get(1)).toBe(0);
      // and ours decodes to the same (zlib output may differ between versions; the content may not)
      expect(Buffer.from(StatusList.fromCbor(list.toCbor()).bytes).equals(Buffer.from(list.bytes))).toBe(true);
    });
  }
  it("reads the draft's example Status List Token (CWT)", () => {
    const t = parseStatusListToken(hex(V.cwt));
    expect(t.sub).toBe("https://example.com/statuslists/1");
    expect(t.ttl).toBe(43200);
    expect(t.list.get(0)).toBe(1);
    expect(t.list.get(1)).toBe(0);
  });
  it("refuses indexes outside the list, values beyond bits and a zip bomb", () => {
    const l = new StatusList(1, 16);
    expect(() => l.get(16)).toThrow(/outside/);
    expect(() => l.set(0, 2)).toThrow(/does not fit/);
    const bomb = new StatusList(8, 20 * 1024 * 1024).compress();
    expect(() => StatusList.decompress(8, bomb)).toThrow(/ZLIB stream within/);
  });
});

describe("mdoc.verifier.status-check", async () => {
  const iaca = await makeIaca();
  const ds = await makeDs(iaca);
  const signer = await makeDs(iaca, { eku: false, name: "C=JP, O=Test Agency, CN=Test Status List Signer" });
  const other = await makeIaca({ name: "C=JP, O=Other, CN=Other IACA" });
  const foreign = await makeDs(other, { eku: false });
  const mdoc = await issueMdoc({
    profile: "interop",
    input: samplePerson(),
    deviceKey: await deviceJwk(),
    signer: ds.signer,
    dsCertificate: ds.der,
    mso: MSO,
    status: { uri: URI, idx: 7 },
  });
  const now = new Date();
  const token = async (o: { value?: number; sub?: string; exp?: Date; by?: typeof signer } = {}) => {
    const list = new StatusList(2, 1024);
    list.set(7, o.value ?? STATUS.VALID);
    const by = o.by ?? signer;
    return signStatusListToken(
      { uri: o.sub ?? URI, list, iat: now, exp: o.exp ?? new Date(now.getTime() + 86_400_000), ttl: 300 },
      by.signer,
      by.der,
    );
  };
  const check = async (bytes: Uint8Array | Error, failOpen = false) => {
    const status = { fetch: async () => (bytes instanceof Error ? Promise.reject(bytes) : bytes), failOpen };
    const r = await verifyMdoc(mdoc.issuerSigned, { trustAnchors: [iaca.pem], status });
    return r.checks.find((c) => c.name === "mso.status")!;
  };

  it("VALID passes; INVALID and SUSPENDED fail, naming the status", async () => {
    expect((await check(await token())).status).toBe("PASS");
    expect(await check(await token({ value: STATUS.INVALID }))).toMatchObject({ status: "FAIL", reason: /INVALID/ });
    expect(await check(await token({ value: STATUS.SUSPENDED }))).toMatchObject({
      status: "FAIL",
      reason: /SUSPENDED/,
    });
  });
  it("a token for another list, an expired one, one signed outside the IACA or by a DS key fails", async () => {
    expect((await check(await token({ sub: "https://dts.example.jp/status/2" }))).reason).toMatch(/sub/);
    expect((await check(await token({ exp: new Date(now.getTime() - 1000) }))).reason).toMatch(/expired/);
    expect((await check(await token({ by: foreign }))).reason).toMatch(/no path/);
    expect((await check(await token({ by: ds }))).reason).toMatch(/another role/);
    const t = await token();
    t[t.length - 5]! ^= 1;
    expect((await check(t)).status).toBe("FAIL");
  });
  it("a token read once serves the next mdocs; a buffer changed in place is read again", async () => {
    const valid = await token();
    expect((await check(valid)).status).toBe("PASS");
    expect((await check(valid)).status).toBe("PASS");
    // the same object changed in place after a good read (a source reusing its buffer) is read again
    valid[valid.length - 5]! ^= 1;
    expect((await check(valid)).status).toBe("FAIL");
  });
  it("without a status source the entry is reported and skipped; an unreachable list fails closed unless fail-open", async () => {
    const r = await verifyMdoc(mdoc.issuerSigned, { trustAnchors: [iaca.pem] });
    expect(r.checks.find((c) => c.name === "mso.status")).toMatchObject({ status: "SKIP", reason: /idx 7/ });
    expect((await check(new Error("offline"))).status).toBe("FAIL");
    expect((await check(new Error("offline"), true)).status).toBe("SKIP");
  });
});
