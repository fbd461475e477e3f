/**
 * Check-digit rules and date helpers used by the profiles. Pure functions; none of them ever
 * puts the checked value into an error (control mdoc.no-pii-in-errors).
 */

/**
 * 個人番号の検査用数字 (行政手続における特定の個人を識別するための番号の利用等に関する法律施行令 第八条):
 * P = 11 − (Σ_{n=1..11} Pn × Qn mod 11), with Pn the n-th digit counted from the right of the first
 * eleven digits, Qn = n + 1 (1 ≤ n ≤ 6) and n − 5 (7 ≤ n ≤ 11); P = 0 when the remainder is 0 or 1.
 */
export function myNumberCheckDigit(first11: string): number {
  if (!/^\d{11}$/.test(first11)) throw new RangeError("need 11 digits");
  let sum = 0;
  for (let n = 1; n <= 11; n++) {
    const p = Number(first11[11 - n]);
    const q = n <= 6 ? n + 1 : n - 5;
    sum += p * q;
  }
  const r = sum % 11;
  return r <= 1 ? 0 : 11 - r;
}

export function isValidMyNumber(s: string): boolean {
  return /^\d{12}$/.test(s) && myNumberCheckDigit(s.slice(0, 11)) === Number(s[11]);
}

/**
 * JIS X 0402 (全国地方公共団体コード) check digit: the five digits weighted 6,5,4,3,2; the check digit
 * is the last digit of 11 − (sum mod 11) (remainder 0 → 1, remainder 1 → 0).
 * 131016 千代田区, 011002 札幌市, 271004 大阪市, 072010 福島市, 131041 新宿区.
 */
export function jisX0402CheckDigit(first5: string): number {
  if (!/^\d{5}$/.test(first5)) throw new RangeError("need 5 digits");
  const w = [6, 5, 4, 3, 2];
  let sum = 0;
  for (let i = 0; i < 5; i++) sum += Number(first5[i]) * (w[i] as number);
  return (11 - (sum % 11)) % 10;
}

export function isValidJisX0402(s: string): boolean {
  return /^\d{6}$/.test(s) && jisX0402CheckDigit(s.slice(0, 5)) === Number(s[5]);
}

// ---------------------------------------------------------------- dates and age

/** JST offset; Japan has no daylight saving time. */
const JST_MS = 9 * 3600_000;

export interface CivilDate {
  year: number;
  month: number;
  day: number;
}

export function parseCivilDate(s: string): CivilDate | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return undefined;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const d = new Date(Date.UTC(year, month - 1, day));
  if (d.getUTCFullYear() !== year || d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day) return undefined;
  return { year, month, day };
}

export function isLeapYear(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

/** The calendar date in Japan (Asia/Tokyo) at an instant. */
export function jstDate(at: Date): CivilDate {
  const d = new Date(at.getTime() + JST_MS);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

/**
 * The instant the holder's age increases in `year`: 00:00 JST on the birthday. A 29 February
 * birthday counts on 1 March in common years: under 年齢計算ニ関スル法律 and 民法 143 条 the
 * age is reached at the end of the day before the anniversary, and in a year without 29 February
 * the period ends with the last day of February, so the new age holds from 1 March 00:00.
 */
export function birthdayInstant(birth: CivilDate, year: number): Date {
  let { month, day } = birth;
  if (month === 2 && day === 29 && !isLeapYear(year)) {
    month = 3;
    day = 1;
  }
  return new Date(Date.UTC(year, month - 1, day) - JST_MS);
}

/** Age in completed years at an instant (JST calendar, the rule above). */
export function ageAt(birth: CivilDate, at: Date): number {
  const y = jstDate(at).year;
  return y - birth.year - (at.getTime() < birthdayInstant(birth, y).getTime() ? 1 : 0);
}

/** The first instant strictly after `at` at which the age increases. */
export function nextBirthday(birth: CivilDate, at: Date): Date {
  const y = jstDate(at).year;
  const b = birthdayInstant(birth, y);
  return b.getTime() > at.getTime() ? b : birthdayInstant(birth, y + 1);
}

/** "2000年3月31日" (the seed's example format for birth_date_unicode). */
export function japaneseDate(d: CivilDate): string {
  return `${d.year}年${d.month}月${d.day}日`;
}

// ---------------------------------------------------------------- images

export type ImageFormat = "jp2" | "j2k" | "jpeg";

/** Detects JPEG 2000 (JP2 box or J2K codestream) or JPEG by signature. */
export function imageFormat(b: Uint8Array): ImageFormat | undefined {
  const starts = (sig: number[]) => sig.every((x, i) => b[i] === x);
  if (starts([0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50, 0x20, 0x20, 0x0d, 0x0a, 0x87, 0x0a])) return "jp2";
  if (starts([0xff, 0x4f, 0xff, 0x51])) return "j2k";
  if (starts([0xff, 0xd8, 0xff])) return "jpeg";
  return undefined;
}
