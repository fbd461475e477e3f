/**
 * The reference verifier's status check (control mdoc.verifier.status-check): the MSO's
 * status_list entry looked up in its Status List Token, which must be signed by a status-list
 * signer whose certificate chains to a trusted IACA, name the same URI as `sub`, not be expired,
 * and hold the index. The draft's validation rules (section 8.3) in order.
 */
import "reflect-metadata";
import type { CertificateInfo } from "@iaca/pki";
import { OID, parseCertificate } from "@iaca/pki";
import { KeyUsageFlags, KeyUsagesExtension } from "@peculiar/x509";
import type { CborValue } from "./cbor.ts";
import { buildPath } from "./cert-path.ts";
import { VERIFIER_STATUS_CHECK } from "./controls.ts";
import { sign1X5Chain, verifySign1 } from "./cose.ts";
import { MDOC_DS_EKU } from "./issue.ts";
import {
  type ParsedStatusListToken,
  parseStatusListToken,
  readMsoStatus,
  STATUS,
  type StatusRef,
} from "./status-list.ts";

/** Where status list tokens come from: a fetcher (HTTP, a file, a cache), fail-closed unless failOpen. */
export interface StatusSource {
  fetch(uri: string): Promise<Uint8Array>;
  /** When the token cannot be fetched: true SKIPs the check (fail-open), false FAILs it (default). */
  failOpen?: boolean;
}

export interface StatusCheckContext {
  anchors: CertificateInfo[];
  pool: CertificateInfo[];
  at: Date;
  status?: StatusSource | undefined;
}

/** EKUs that name another role: a key certified for them must not vouch for statuses. */
const OTHER_ROLES: string[] = [MDOC_DS_EKU, OID.ekuTrustListSigner];
const NAMES = Object.fromEntries(Object.entries(STATUS).map(([k, v]) => [v, k])) as Record<number, string>;

/** [outcome, reason] of the status check of one MSO. */
export async function checkMsoStatus(
  mso: Map<CborValue, CborValue>,
  ctx: StatusCheckContext,
): Promise<[boolean | "skip", string]> {
  void VERIFIER_STATUS_CHECK;
  let ref: StatusRef | undefined;
  try {
    ref = readMsoStatus(mso);
  } catch (e) {
    return [false, (e as Error).message];
  }
  if (!ref) return ["skip", "the MSO carries no status"];
  const where = `status_list ${ref.uri} idx ${ref.idx}`;
  if (!ctx.status) return ["skip", `${where}: no status source given (not checked)`];
  let token: Uint8Array;
  try {
    token = await ctx.status.fetch(ref.uri);
  } catch (e) {
    const why = `${where}: the Status List Token could not be fetched (${(e as Error).message})`;
    return ctx.status.failOpen ? ["skip", `${why}; fail-open`] : [false, `${why}; fail-closed`];
  }
  return checkToken(token, ref, ctx, where);
}

/** A token parsed, its x5chain read and its signature checked against the chain's leaf. */
interface ReadToken {
  /** a copy of the bytes read: a source that reuses its buffer for other contents gets no stale answer */
  copy: Buffer;
  t: ParsedStatusListToken;
  leaf: CertificateInfo | undefined;
  extra: CertificateInfo[];
  signed: boolean;
}

/**
 * By the bytes a StatusSource handed out: a source that caches (the verifier kit keeps a token for
 * its ttl) hands out the same object for every mdoc on the list, so the list is inflated and the
 * token's signature verified once, not per mdoc. What depends on the moment and the trust (the
 * signer's path, exp) is checked every time.
 */
const readTokens = new WeakMap<Uint8Array, ReadToken>();

function readToken(bytes: Uint8Array): ReadToken {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const had = readTokens.get(bytes);
  if (had?.copy.equals(view)) return had;
  const t = parseStatusListToken(bytes);
  const [leaf, ...extra] = (sign1X5Chain(t.sign1) ?? []).map((d) => parseCertificate(d));
  const signed = leaf !== undefined && verifySign1(t.sign1, { spki: leaf.spki });
  const read = { copy: Buffer.from(view), t, leaf, extra, signed };
  readTokens.set(bytes, read);
  return read;
}

async function checkToken(
  bytes: Uint8Array,
  ref: StatusRef,
  ctx: StatusCheckContext,
  where: string,
): Promise<[boolean, string]> {
  try {
    const { t, leaf, extra, signed: verified } = readToken(bytes);
    if (!leaf) return [false, `${where}: the token has no x5chain (33)`];
    const path = await buildPath(leaf, ctx.anchors, [...extra, ...ctx.pool], ctx.at, "status-list signer");
    if ("error" in path) return [false, `${where}: ${path.error}`];
    const ku = leaf.x509.getExtension(KeyUsagesExtension);
    if (leaf.isCa || (ku && (ku.usages & KeyUsageFlags.digitalSignature) === 0))
      return [false, `${where}: the token signer is a CA or lacks digitalSignature`];
    if (leaf.ekus.some((e) => OTHER_ROLES.includes(e)))
      return [false, `${where}: the token signer's certificate is for another role (EKU ${leaf.ekus.join(", ")})`];
    if (!verified) return [false, `${where}: the token signature does not verify`];
    if (t.sub !== ref.uri) return [false, `${where}: the token's sub ${t.sub} is not the MSO's uri`];
    if (t.exp && t.exp < ctx.at) return [false, `${where}: the token expired at ${t.exp.toISOString()}`];
    if (ref.idx >= t.list.size) return [false, `${where}: index outside the list of ${t.list.size}`];
    const value = t.list.get(ref.idx);
    const name = NAMES[value] ?? `0x${value.toString(16).padStart(2, "0")}`;
    const signed = `list signed ${t.iat.toISOString()} by ${leaf.subject}`;
    return [value === STATUS.VALID, `${where}: ${name} (${signed})`];
  } catch (e) {
    return [false, `${where}: ${(e as Error).message}`];
  }
}
