import { createHash, randomBytes, randomInt, randomUUID } from "node:crypto";
import type { OfferRecord, OfferStore } from "@iaca/db";
import type { HolderData, IssueRequest, IssuerApi } from "@iaca/issuance";
import { type AuditSink, clause, durationMs, type Policy } from "@iaca/policy";
import { OFFER_CODE, OFFER_SEALED, OPENID4VCI_NOTIFICATION } from "../controls.ts";
import { type CredentialIssuer, offeredConfiguration, PRE_AUTHORIZED_GRANT } from "./metadata.ts";
import { OAuthError } from "./oauth-error.ts";

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");
/** The tx_code's digest is keyed by the pre-authorized code (never stored): the database alone cannot test tx_codes. */
const txCodeDigest = (code: string, txCode: string) => sha256(`${code}\n${txCode}`);
/** Sealed offer data is bound to its offer, and kept apart from sealed idempotency answers. */
const aadOf = (offerId: string) => `oid4vci-offer:${offerId}`;

/** What an offer holds until it is redeemed: the holder data, or the mdoc a refresh presents. */
export type OfferSubject =
  | { kind: "issue"; profile: string; holder: HolderData }
  | { kind: "refresh"; issuerSigned: string; holderKeyThumbprint: string };

/** What the wallet backend receives: the offer (JSON and URI), the tx_code to tell the holder out of band. */
export interface CreatedOffer {
  offerId: string;
  credentialOffer: Record<string, unknown>;
  credentialOfferUri: string;
  txCode?: string;
  expiresAt: string;
}

export interface IssuedToken {
  accessToken: string;
  expiresIn: number;
}

/**
 * The Credential Offers of the pre-authorized code flow, over the OfferStore: codes and tokens
 * are random, given out once and kept only as SHA-256; the subject is sealed under the issuer's
 * HSM key and cleared by every way an offer ends.
 */
export class CredentialOffers {
  private readonly issuer: CredentialIssuer;
  private readonly policy: Policy;
  private readonly store: OfferStore;
  private readonly api: IssuerApi;
  private readonly audit: AuditSink;
  constructor(o: { issuer: CredentialIssuer; policy: Policy; store: OfferStore; api: IssuerApi; audit: AuditSink }) {
    this.issuer = o.issuer;
    this.policy = o.policy;
    this.store = o.store;
    this.api = o.api;
    this.audit = o.audit;
  }

  /** A new offer for an authenticated wallet backend (ra.openid4vci.pre-authorized-code, ra.openid4vci.offer-sealed). */
  async create(clientId: string, subject: OfferSubject, withTxCode: boolean, now = new Date()): Promise<CreatedOffer> {
    void OFFER_CODE;
    void OFFER_SEALED;
    const cfg = this.policy.openid4vci;
    const id = randomUUID();
    const code = randomBytes(32).toString("base64url");
    const txCode = withTxCode ? digits(cfg.txCodeLength) : undefined;
    const expiresAt = new Date(now.getTime() + durationMs(cfg.offerValidity, now));
    const profile = subject.kind === "issue" ? subject.profile : this.policy.profile;
    const { sealed } = await this.api.seal({ plaintext: JSON.stringify(subject), aad: aadOf(id) });
    await this.store.add({
      id,
      clientId,
      kind: subject.kind,
      profile,
      codeSha256: sha256(code),
      txCodeSha256: txCode ? txCodeDigest(code, txCode) : null,
      sealed: Buffer.from(sealed, "base64url"),
      holderKeyThumbprint: subject.kind === "refresh" ? subject.holderKeyThumbprint : null,
      expiresAt,
    });
    await this.audited("openid4vci.offer.create", `client:${clientId}`, [id], "success", {
      kind: subject.kind,
      profile,
      txCode: Boolean(txCode),
      expiresAt: expiresAt.toISOString(),
    });
    const grant = {
      "pre-authorized_code": code,
      ...(txCode
        ? {
            tx_code: {
              input_mode: "numeric",
              length: txCode.length,
              description: "ウォレット事業者から通知された確認コード",
            },
          }
        : {}),
    };
    const credentialOffer = {
      credential_issuer: this.issuer.id,
      // a refresh re-issues whatever profile the presented mdoc has; it is offered as the policy's
      credential_configuration_ids: [offeredConfiguration(profile)],
      grants: { [PRE_AUTHORIZED_GRANT]: grant },
    };
    const credentialOfferUri = `openid-credential-offer://?credential_offer=${encodeURIComponent(JSON.stringify(credentialOffer))}`;
    return {
      offerId: id,
      credentialOffer,
      credentialOfferUri,
      ...(txCode ? { txCode } : {}),
      expiresAt: expiresAt.toISOString(),
    };
  }

  /** The token endpoint's grant: the pre-authorized code (and tx_code) for an access token bound to `jkt`. */
  async redeem(code: string, txCode: string | undefined, jkt: string, now = new Date()): Promise<IssuedToken> {
    void OFFER_CODE;
    const cfg = this.policy.openid4vci;
    const accessToken = randomBytes(32).toString("base64url");
    const ttl = durationMs(cfg.accessTokenValidity, now);
    const r = await this.store.redeem({
      codeSha256: sha256(code),
      txCodeSha256: txCode === undefined ? null : txCodeDigest(code, txCode),
      maxTxCodeFailures: cfg.txCodeAttempts,
      token: { sha256: sha256(accessToken), jkt, expiresAt: new Date(now.getTime() + ttl) },
      now,
    });
    if (r.kind === "redeemed") {
      await this.audited("openid4vci.token", "svc:ra", [r.offer.id], "success", { kind: r.offer.kind });
      return { accessToken, expiresIn: Math.floor(ttl / 1000) };
    }
    const why = {
      unknown: "the pre-authorized code is not known",
      used: "the pre-authorized code was already used",
      expired: "the pre-authorized code has expired",
      "tx-code-wrong": "the tx_code is missing or wrong",
    }[r.kind];
    await this.audited("openid4vci.token", "svc:ra", [], "denied", {
      reason: r.kind,
      ...(r.kind === "tx-code-wrong" ? { burnt: r.burnt } : {}),
    });
    throw new OAuthError(
      "invalid_grant",
      r.kind === "tx-code-wrong" && r.burnt ? `${why}; the offer is withdrawn` : why,
    );
  }

  /** The offer behind a presented access token, while the token is valid (else invalid_token, 401). */
  async byAccessToken(accessToken: string, now = new Date()): Promise<OfferRecord> {
    const offer = await this.store.byToken(sha256(accessToken));
    if (!offer || !offer.tokenExpiresAt || offer.tokenExpiresAt.getTime() <= now.getTime())
      throw new OAuthError("invalid_token", "the access token is unknown or expired", 401);
    return offer;
  }

  /** The issuer request of an offer's subject (unsealed here, never stored in the clear); null once it is gone. */
  async request(offer: OfferRecord): Promise<Omit<IssueRequest, "requestId" | "devices"> | null> {
    if (!offer.sealed) return null;
    const { plaintext } = await this.api.unseal({
      sealed: Buffer.from(offer.sealed).toString("base64url"),
      aad: aadOf(offer.id),
    });
    const s = JSON.parse(plaintext) as OfferSubject;
    if (s.kind === "issue") return { clientId: offer.clientId, profile: s.profile, holder: s.holder };
    return {
      clientId: offer.clientId,
      profile: "",
      holder: {},
      refresh: { issuerSigned: s.issuerSigned, holderKeyThumbprint: s.holderKeyThumbprint },
    };
  }

  /** The credential was issued for the offer: its data goes, a notification id comes. */
  async issued(offer: OfferRecord, requestId: string, count: number, now = new Date()): Promise<string> {
    const notificationId = randomUUID();
    await this.store.issued(offer.id, requestId, notificationId, now);
    await this.audited("openid4vci.credential", `client:${offer.clientId}`, [offer.id, requestId], "success", {
      count,
    });
    return notificationId;
  }

  /** A wallet's notification for the offer of a valid access token (ra.openid4vci.notification). */
  async notify(offer: OfferRecord, accessToken: string, notificationId: string, event: string): Promise<void> {
    void OPENID4VCI_NOTIFICATION;
    if (!(await this.store.notified(notificationId, sha256(accessToken), event)))
      throw new OAuthError("invalid_notification_id", "the notification_id is not one of this access token");
    await this.audited("openid4vci.notification", `client:${offer.clientId}`, [offer.id], "success", { event });
  }

  /** Clears the data of offers that can no longer be redeemed; forgets ended offers after a week. */
  expire(now = new Date()): Promise<number> {
    return this.store.expire(now, new Date(now.getTime() - 7 * 24 * 3600_000));
  }

  private async audited(
    action: keyof typeof AUDIT_CLAUSE,
    actor: string,
    targets: string[],
    outcome: "success" | "denied",
    details: Record<string, unknown>,
  ): Promise<void> {
    await this.audit.append({ actor, action, targets, outcome, clause: clause(AUDIT_CLAUSE[action]), details });
  }
}

/** The clause each OpenID4VCI audit event records under. */
const AUDIT_CLAUSE = {
  "openid4vci.offer.create": "4.1.2",
  "openid4vci.token": "4.1.2",
  "openid4vci.credential": "4.3.1",
  "openid4vci.notification": "4.4.1",
} as const;

/** A numeric tx_code of `n` digits from the CSPRNG. */
function digits(n: number): string {
  return Array.from({ length: n }, () => String(randomInt(10))).join("");
}
