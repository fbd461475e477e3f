/**
 * `iaca demo` extension: after pki's runDemo has made roots, DS keys and CRLs, write sample mdocs
 * (IssuerSigned, both profiles) signed by the active DS key in the demo HSM, for a fictional person.
 */
import { generateKeyPairSync } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { KeyStore } from "@iaca/hsm";
import { parseCertificate } from "@iaca/pki";
import type { Policy } from "@iaca/policy";
import { pkiKeyStateCheck } from "./issue.ts";
import { type IssuedMdoc, issueMdoc } from "./pipeline.ts";

/** The parts of pki's DemoResult this needs (structurally compatible with it). */
export interface DemoMdocHandles {
  policy: Policy;
  ops: { hsm: Pick<KeyStore, "signer"> };
  ds: { keyUri: string; der: Uint8Array; serial: string };
  files?: Record<string, string>;
}

/**
 * A synthetic 8×8 uniform grey JPEG 2000 (JP2 file: signature, ftyp, jp2h/ihdr/colr, jp2c with a
 * one-tile, one-packet, reversible 5/3 codestream). Stands in for a portrait in demos and tests.
 */
export function sampleJp2(): Uint8Array {
  const u16 = (n: number) => [(n >> 8) & 0xff, n & 0xff];
  const u32 = (n: number) => [(n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
  const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));
  const box = (type: string, body: number[]) => [...u32(8 + body.length), ...ascii(type), ...body];
  const w = 8;
  const h = 8;
  const codestream = [
    ...[0xff, 0x4f], // SOC
    ...[0xff, 0x51, ...u16(41), ...u16(0), ...u32(w), ...u32(h), ...u32(0), ...u32(0), ...u32(w), ...u32(h)],
    ...[...u32(0), ...u32(0), ...u16(1), 0x07, 0x01, 0x01], // SIZ: 1 component, 8-bit unsigned
    ...[0xff, 0x52, ...u16(12), 0x00, 0x00, ...u16(1), 0x00, 0x00, 0x04, 0x04, 0x00, 0x01], // COD: 0 levels, 5/3
    ...[0xff, 0x5c, ...u16(4), 0x20, 0x40], // QCD: no quantisation, 1 guard bit, exponent 8
    ...[0xff, 0x90, ...u16(10), ...u16(0), ...u32(15), 0x00, 0x01], // SOT: tile 0, Psot 15
    ...[0xff, 0x93, 0x00], // SOD + one empty packet
    ...[0xff, 0xd9], // EOC
  ];
  return new Uint8Array([
    ...[0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50, 0x20, 0x20, 0x0d, 0x0a, 0x87, 0x0a],
    ...box("ftyp", [...ascii("jp2 "), ...u32(0), ...ascii("jp2 ")]),
    ...box("jp2h", [
      ...box("ihdr", [...u32(h), ...u32(w), ...u16(1), 0x07, 0x07, 0x00, 0x00]),
      ...box("colr", [0x01, 0x00, 0x00, ...u32(17)]),
    ]),
    ...box("jp2c", codestream),
  ]);
}

/** Fictional sample person: 山田 太郎, My Number 123456789018 (valid check digit), 札幌市 011002. */
export function samplePersonInput(portrait: Uint8Array = sampleJp2()): Record<string, unknown> {
  return {
    familyName: "山田",
    givenName: "太郎",
    birthDate: "2000-03-31",
    address: "北海道札幌市中央区北1条西2丁目1番地",
    sex: "male",
    localGovCode: "011002",
    individualNumber: "123456789018",
    portrait: Buffer.from(portrait).toString("base64"),
  };
}

/**
 * Writes mdoc-interop.cbor and mdoc-seed-2024.cbor (IssuerSigned, signed by the active demo DS key
 * in the HSM after pki's assertCanSign), device-key.jwk (the holder's public key they bind) and
 * person.json (the fictional input, usable with `iaca mdoc issue --data`).
 */
export async function writeDemoMdocs(
  out: string,
  h: DemoMdocHandles,
  now = new Date(),
): Promise<Record<string, IssuedMdoc>> {
  const put = (name: string, data: string | Uint8Array) => {
    const p = join(out, name);
    writeFileSync(p, data);
    if (h.files) h.files[name] = p;
  };
  const device = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = device.publicKey.export({ format: "jwk" }) as Record<string, unknown>;
  put("device-key.jwk", `${JSON.stringify(jwk, null, 2)}\n`);
  const input = samplePersonInput();
  put("person.json", `${JSON.stringify(input, null, 2)}\n`);
  const cert = parseCertificate(h.ds.der);
  const record = { serial: h.ds.serial, notBefore: cert.notBefore, notAfter: cert.notAfter };
  const signer = await h.ops.hsm.signer(h.ds.keyUri);
  const results: Record<string, IssuedMdoc> = {};
  for (const profile of ["interop", "seed-2024"]) {
    const r = await issueMdoc({
      profile,
      input,
      deviceKey: jwk,
      signer,
      dsCertificate: h.ds.der,
      mso: h.policy.mso,
      now,
      keyStateCheck: pkiKeyStateCheck(record, h.policy),
      actor: "svc:demo",
    });
    put(`mdoc-${profile}.cbor`, r.issuerSigned);
    results[profile] = r;
  }
  return results;
}
