import { VerifierError } from "./errors.ts";

/** Largest body the kit reads from a DTS (a CRL of a national IACA is kilobytes; the index, megabytes at most). */
export const MAX_BODY_BYTES = 16 * 1024 * 1024;

export type FetchLike = (
  url: string,
  init?: { headers?: Record<string, string>; signal?: AbortSignal },
) => Promise<Response>;

interface Cached {
  etag: string | undefined;
  bytes: Uint8Array;
}

/**
 * GETs with conditional requests: a DTS answers 304 to If-None-Match when a file did not change,
 * so refreshing trust costs one small request per file. Bounded in size and time.
 */
export class CachingFetcher {
  private readonly cache = new Map<string, Cached>();
  private readonly fetchFn: FetchLike;
  private readonly timeoutMs: number;
  constructor(fetchFn: FetchLike = fetch, timeoutMs = 10_000) {
    this.fetchFn = fetchFn;
    this.timeoutMs = timeoutMs;
  }

  async get(url: string): Promise<Uint8Array> {
    const had = this.cache.get(url);
    let res: Response;
    try {
      res = await this.fetchFn(url, {
        headers: had?.etag ? { "if-none-match": had.etag } : {},
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      throw new VerifierError("VERIFIER_FETCH", `GET ${url} failed: ${(e as Error).message}`, { url });
    }
    if (res.status === 304 && had) return had.bytes;
    if (res.status !== 200) throw new VerifierError("VERIFIER_FETCH", `GET ${url} answered ${res.status}`, { url });
    const length = Number(res.headers.get("content-length") ?? 0);
    if (length > MAX_BODY_BYTES) throw new VerifierError("VERIFIER_FETCH", `GET ${url}: body too large`, { url });
    const bytes = new Uint8Array(await res.arrayBuffer());
    if (bytes.length > MAX_BODY_BYTES) throw new VerifierError("VERIFIER_FETCH", `GET ${url}: body too large`, { url });
    this.cache.set(url, { etag: res.headers.get("etag") ?? undefined, bytes });
    return bytes;
  }
}
