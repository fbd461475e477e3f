import { type Check, parseStatusListToken, type VerifyResult, verifyMdoc } from "@iaca/mdoc";
import { VERIFIER_KIT_FAIL_CLOSED } from "./controls.ts";
import { type DtsTrust, loadDtsTrust, pinnedFingerprints, type TrustPins } from "./dts-trust.ts";
import { CachingFetcher, type FetchLike } from "./fetcher.ts";

export interface MdocVerifierOptions extends TrustPins {
  /** Clock (default: the system clock). */
  now?: () => Date;
  /** Reload trust at least this often even when nothing expires (default one hour). */
  maxAgeMs?: number;
  /** HTTP client (default: global fetch). */
  fetch?: FetchLike;
  /** Per-request timeout (default 10 s). */
  timeoutMs?: number;
  /** When a status list token cannot be fetched: SKIP the status check instead of failing it (default false). */
  statusFailOpen?: boolean;
}

/** Options of one verification. */
export interface VerifyAtOptions {
  /** Verification time (default: the clock). */
  at?: Date;
  /** Expected docType (default: the document's). */
  docType?: string;
}

/**
 * The reference verifier as a kit for a verifier's backend: trust from a DTS URL (signed trust
 * list checked against a pinned IACA, every generation as an anchor, every current CRL/ARL),
 * refreshed when a list or the trust list reaches nextUpdate, and verification of an
 * IssuerSigned, Document or DeviceResponse that returns every check by name.
 *
 * Fail-closed: when trust cannot be refreshed, verification goes on with what was loaded and the
 * `trust.fresh` check fails; a CRL past nextUpdate fails `ds.crl`.
 */
export class MdocVerifier {
  private current: DtsTrust;
  private lastError: string | undefined;
  private readonly url: string;
  private readonly pins: Set<string>;
  private readonly fetcher: CachingFetcher;
  private readonly now: () => Date;
  private readonly maxAgeMs: number;
  private readonly statusFailOpen: boolean;
  /** Status list tokens by URI, kept for their ttl (the draft's caching rule), then fetched again. */
  private readonly tokens = new Map<string, { bytes: Uint8Array; until: number }>();

  private constructor(url: string, pins: Set<string>, fetcher: CachingFetcher, o: MdocVerifierOptions, t: DtsTrust) {
    this.url = url;
    this.pins = pins;
    this.fetcher = fetcher;
    this.now = o.now ?? (() => new Date());
    this.maxAgeMs = o.maxAgeMs ?? 3_600_000;
    this.statusFailOpen = o.statusFailOpen ?? false;
    this.current = t;
  }

  /**
   * A status list token: from this DTS at the path trust.json names for the URI (a mirror serves
   * the same bytes), else from the URI itself; cached for min(ttl, exp) of the token.
   */
  private async statusToken(uri: string): Promise<Uint8Array> {
    const now = this.now().getTime();
    const hit = this.tokens.get(uri);
    if (hit && now < hit.until) return hit.bytes;
    const path = this.current.statusPaths.get(uri);
    const bytes = await this.fetcher.get(path ? `${this.current.base}${path}` : uri);
    const t = parseStatusListToken(bytes);
    const until = Math.min(now + (t.ttl ?? 0) * 1000, t.exp?.getTime() ?? now);
    this.tokens.set(uri, { bytes, until });
    return bytes;
  }

  /** Loads trust from the DTS at `url` (throws VerifierError when it cannot be established at all). */
  static async fromDts(url: string, o: MdocVerifierOptions): Promise<MdocVerifier> {
    const pins = pinnedFingerprints(o);
    const fetcher = new CachingFetcher(o.fetch, o.timeoutMs);
    const now = (o.now ?? (() => new Date()))();
    const t = await loadDtsTrust(url, pins, fetcher, { now, maxAgeMs: o.maxAgeMs ?? 3_600_000 });
    return new MdocVerifier(url, pins, fetcher, o, t);
  }

  /** The trust in use. */
  get trust(): DtsTrust {
    return this.current;
  }

  /** Reloads trust when it is due (or always with `force`); keeps the old trust and remembers why when it fails. */
  async refresh(force = false): Promise<DtsTrust> {
    const now = this.now();
    if (!force && now < this.current.refreshAt) return this.current;
    try {
      this.current = await loadDtsTrust(this.url, this.pins, this.fetcher, { now, maxAgeMs: this.maxAgeMs });
      this.lastError = undefined;
    } catch (e) {
      this.lastError = (e as Error).message;
    }
    return this.current;
  }

  /** Verifies one mdoc (binary CBOR, hex or base64url) with the current trust. */
  async verify(input: Uint8Array | string, o: VerifyAtOptions = {}): Promise<VerifyResult> {
    void VERIFIER_KIT_FAIL_CLOSED;
    await this.refresh();
    const t = this.current;
    const r = await verifyMdoc(input, {
      trustAnchors: t.anchors,
      untrusted: t.links,
      crls: t.crls,
      at: o.at ?? this.now(),
      docType: o.docType,
      status: { fetch: (uri) => this.statusToken(uri), failOpen: this.statusFailOpen },
    });
    const fresh = this.now() < t.refreshAt;
    const check: Check = {
      name: "trust.fresh",
      status: fresh ? "PASS" : "FAIL",
      reason: fresh
        ? `trust list issue ${t.trustListIssue} from ${t.base}, loaded ${t.loadedAt.toISOString()}`
        : `trust from ${t.base} was due for refresh at ${t.refreshAt.toISOString()}${this.lastError ? `: ${this.lastError}` : ""}`,
    };
    return { ...r, ok: r.ok && fresh, checks: [check, ...r.checks] };
  }
}
