import type { Policy } from "./schema.ts";

/** Which revocation list: the CRL (named by end-entity certificates) or the ARL (named by CA certificates). */
export type RevocationListKind = "crl" | "arl";

/**
 * URL of the CRL or ARL signed by root key generation `gen`: the address a certificate signed by that
 * key names in its CRL distribution point, and where the DTS serves that key's list. Each IACA key
 * has its own list (RFC 5280 6.3.3: a verifier checks the CRL with the key that signed the
 * certificate), so a Document Signer certified before a re-key keeps a current CRL after it.
 * Generation 1 uses the policy URL as written; generation N >= 2 inserts "-gN" before the file
 * extension ("…/ds.crl" -> "…/ds-g2.crl"). A policy URL containing "{gen}" places it explicitly.
 */
export function revocationUrl(policy: Policy, kind: RevocationListKind, gen: number): string {
  if (!Number.isInteger(gen) || gen < 1) throw new RangeError(`root generation ${gen} is not a positive integer`);
  const template = kind === "crl" ? policy.revocation.crlUrl : policy.revocation.arlUrl;
  if (template.includes("{gen}")) return template.replaceAll("{gen}", String(gen));
  if (gen === 1) return template;
  const u = new URL(template);
  const slash = u.pathname.lastIndexOf("/");
  const file = u.pathname.slice(slash + 1);
  const dot = file.lastIndexOf(".");
  const named = dot > 0 ? `${file.slice(0, dot)}-g${gen}${file.slice(dot)}` : `${file}-g${gen}`;
  u.pathname = `${u.pathname.slice(0, slash + 1)}${named}`;
  return u.toString();
}

/** The generation whose list `url` is (the inverse of revocationUrl), or undefined when it is none of them. */
export function revocationGenOf(policy: Policy, kind: RevocationListKind, url: string): number | undefined {
  const template = kind === "crl" ? policy.revocation.crlUrl : policy.revocation.arlUrl;
  const candidate = template.includes("{gen}")
    ? new RegExp(`^${template.split("{gen}").map(escapeRegExp).join("([1-9][0-9]{0,5})")}$`).exec(url)?.[1]
    : url === template
      ? "1"
      : /-g([1-9][0-9]{0,5})(?:\.[^/.]*)?$/.exec(url)?.[1];
  const gen = candidate === undefined ? undefined : Number(candidate);
  return gen !== undefined && revocationUrl(policy, kind, gen) === url ? gen : undefined;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The URI of status list `listNo` (policy.status.listUrl with "{list}" filled in): in the MSOs and the token's sub. */
export function statusListUrl(policy: Pick<Policy, "status">, listNo: number): string {
  if (!Number.isInteger(listNo) || listNo < 1) throw new RangeError(`status list ${listNo} is not a positive integer`);
  return policy.status.listUrl.replaceAll("{list}", String(listNo));
}
