// What the benchmarks share: the callers loop that counts operations in a time slice, and the
// typical mdoc they issue (interop profile, every element, a 20 KB JPEG portrait).
import { deviceJwk, samplePerson } from "../../packages/mdoc/test/support/testpki.ts";

/** Operations completed by `callers` concurrent loops of `fn` in `ms` milliseconds. */
export async function timeAsync(ms: number, callers: number, fn: () => Promise<unknown>): Promise<number> {
  const end = performance.now() + ms;
  let n = 0;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (performance.now() < end) {
        await fn();
        n++;
      }
    }),
  );
  return n;
}

/** Median of per-round values: a ratio taken within each round, then the median, shrugs off load shifts. */
export function median(xs: number[]): number {
  const v = [...xs].sort((a, b) => a - b);
  return v.length % 2
    ? (v[(v.length - 1) / 2] as number)
    : ((v[v.length / 2 - 1] as number) + (v[v.length / 2] as number)) / 2;
}

/** The typical document: the sample person with a 20 KB JPEG portrait, a device key, the seed's MSO policy. */
export async function typicalMdoc() {
  const portrait = new Uint8Array(20 * 1024);
  portrait.set([0xff, 0xd8, 0xff, 0xe0]);
  for (let i = 4; i < portrait.length; i++) portrait[i] = (i * 131) & 0xff;
  return {
    portrait,
    input: { ...samplePerson(), portrait },
    deviceKey: await deviceJwk(),
    mso: { validity: "P30D", expectedUpdate: "P25D", digestAlgorithm: "SHA-256" as const },
  };
}
