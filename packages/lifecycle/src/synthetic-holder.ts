import { myNumberCheckDigit } from "@iaca/mdoc";

/** A minimal JPEG (SOI + APP0 + EOI): the profile checks the signature, not the picture. */
const PORTRAIT = Buffer.from(
  "ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c0b0b0c1912130f141d1a1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e333432ffd9",
  "hex",
).toString("base64");

/** Synthetic holder n (no real person). */
export function syntheticHolder(n: number): Record<string, string> {
  const first11 = String(10_000_000_000 + n * 7919).slice(0, 11);
  return {
    familyName: `試験${"一二三四五六七八九"[n % 9]}`,
    givenName: `花子${n}`,
    birthDate: `19${60 + (n % 30)}-0${1 + (n % 9)}-1${n % 10}`,
    address: `東京都千代田区霞が関${1 + (n % 3)}丁目${n % 9}番${n % 7}号`,
    sex: n % 2 ? "female" : "male",
    localGovCode: "131016",
    individualNumber: first11 + String(myNumberCheckDigit(first11)),
    portrait: PORTRAIT,
  };
}
