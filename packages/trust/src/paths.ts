import type { Policy } from "@iaca/policy";
import { IacaError, revocationUrl } from "@iaca/policy";

export class DtsError extends IacaError {}

export const PATHS = {
  index: "/index.html",
  trustJson: "/trust.json",
  trustSchema: "/trust.schema.json",
  trustList: "/trust-list.cose",
  manifest: "/manifest.json",
} as const;

export const certPath = (sha256: string, ext: "der" | "pem") => `/certs/${sha256}.${ext}`;
export const certSkiPath = (ski: string, serial: string, ext: "der" | "pem") => `/certs/ski/${ski}/${serial}.${ext}`;

/**
 * The CRL and ARL paths of root key generation `gen`: exactly the path of revocationUrl, the value
 * the PKI writes into the CRL distribution points of what that key signs (control dts.crl.served-at-cdp).
 */
export function revocationPaths(policy: Policy, gen = 1): { crl: string; arl: string } {
  const crl = new URL(revocationUrl(policy, "crl", gen)).pathname;
  const arl = new URL(revocationUrl(policy, "arl", gen)).pathname;
  const reserved = new Set<string>(Object.values(PATHS));
  for (const p of [crl, arl]) {
    if (p === "/" || p.endsWith("/") || reserved.has(p) || p.startsWith("/certs/"))
      throw new DtsError("DTS_PATH_CONFLICT", `revocation list path ${p} collides with the DTS's own layout`);
  }
  if (crl === arl) throw new DtsError("DTS_PATH_CONFLICT", "crlUrl and arlUrl must differ");
  return { crl, arl };
}

/** Base URL of the DTS (origin of the CRL URL). */
export const baseUrl = (policy: Policy): string => new URL(policy.revocation.crlUrl).origin;
