import { PolicyError } from "./errors.ts";

/**
 * ISO 8601 durations with calendar semantics ("P3M" is three calendar months, as the seed's
 * figure 2 means it). Only Y, M, D and the time part H, M, S are supported.
 */
export interface Duration {
  years: number;
  months: number;
  days: number;
  seconds: number;
}

const RE = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/;

export function parseDuration(text: string): Duration {
  const m = RE.exec(text);
  if (!m || text === "P" || text.endsWith("T"))
    throw new PolicyError("POLICY_INVALID", `not an ISO 8601 duration: "${text}"`);
  const n = (i: number) => Number(m[i] ?? 0);
  return { years: n(1), months: n(2), days: n(3) * 7 + n(4), seconds: n(5) * 3600 + n(6) * 60 + n(7) };
}

/** date + duration in UTC; month arithmetic clamps to the month's last day (Jan 31 + P1M = Feb 28/29). */
export function addDuration(date: Date, d: Duration | string, sign: 1 | -1 = 1): Date {
  const dur = typeof d === "string" ? parseDuration(d) : d;
  const y = date.getUTCFullYear() + sign * dur.years;
  const mo = date.getUTCMonth() + sign * dur.months;
  const lastDay = new Date(Date.UTC(y, mo + 1, 0)).getUTCDate();
  const day = Math.min(date.getUTCDate(), lastDay);
  const base = Date.UTC(
    y,
    mo,
    day,
    date.getUTCHours(),
    date.getUTCMinutes(),
    date.getUTCSeconds(),
    date.getUTCMilliseconds(),
  );
  return new Date(base + sign * (dur.days * 86_400_000 + dur.seconds * 1000));
}

/** How long `d` is from `from`, in milliseconds (calendar units counted from that instant). */
export function durationMs(d: Duration | string, from: Date): number {
  return addDuration(from, d).getTime() - from.getTime();
}

export function subtractDuration(date: Date, d: Duration | string): Date {
  return addDuration(date, d, -1);
}

/** Formats back to ISO 8601 ("P0D" for zero). */
export function formatDuration(d: Duration): string {
  const date = `${d.years ? `${d.years}Y` : ""}${d.months ? `${d.months}M` : ""}${d.days ? `${d.days}D` : ""}`;
  const h = Math.floor(d.seconds / 3600);
  const mi = Math.floor((d.seconds % 3600) / 60);
  const s = d.seconds % 60;
  const time = `${h ? `${h}H` : ""}${mi ? `${mi}M` : ""}${s ? `${s}S` : ""}`;
  return `P${date}${time ? `T${time}` : ""}` === "P" ? "P0D" : `P${date}${time ? `T${time}` : ""}`;
}
