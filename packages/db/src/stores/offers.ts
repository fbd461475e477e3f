// OpenID4VCI Credential Offers (pre-authorized code flow) and the DPoP proof ids seen. Codes,
// tx_codes and access tokens arrive here only as SHA-256 digests; the holder data only sealed
// (AES-GCM under the issuer's HSM key), and every path that ends an offer clears it.
import type { Sql } from "../sql.ts";
import { record } from "./values.ts";

export type OfferKind = "issue" | "refresh";

/** Why an offer's sealed data is gone. */
export type OfferEnd = "issued" | "expired" | "burnt";

export interface NewOffer {
  id: string;
  clientId: string;
  kind: OfferKind;
  profile: string;
  codeSha256: string;
  txCodeSha256: string | null;
  sealed: Uint8Array;
  holderKeyThumbprint: string | null;
  expiresAt: Date;
}

export interface OfferRecord {
  id: string;
  clientId: string;
  kind: OfferKind;
  profile: string;
  sealed: Uint8Array | null;
  holderKeyThumbprint: string | null;
  expiresAt: Date;
  redeemedAt: Date | null;
  tokenJkt: string | null;
  tokenExpiresAt: Date | null;
  requestId: string | null;
  issuedAt: Date | null;
  notificationId: string | null;
  ended: OfferEnd | null;
}

const OFFER = record<OfferRecord>({
  id: "value",
  clientId: "value",
  kind: "value",
  profile: "value",
  sealed: "bytes",
  holderKeyThumbprint: "value",
  expiresAt: "value",
  redeemedAt: "value",
  tokenJkt: "value",
  tokenExpiresAt: "value",
  requestId: "value",
  issuedAt: "value",
  notificationId: "value",
  ended: "value",
});

/** What redeeming a pre-authorized code found. */
export type Redemption =
  | { kind: "redeemed"; offer: OfferRecord }
  | { kind: "unknown" }
  | { kind: "used" }
  | { kind: "expired" }
  /** A wrong tx_code; `burnt` when that was the last attempt (the sealed data is gone). */
  | { kind: "tx-code-wrong"; burnt: boolean };

export interface RedeemAttempt {
  codeSha256: string;
  /** SHA-256 of the tx_code the wallet sent (keyed by the code), or null when it sent none. */
  txCodeSha256: string | null;
  maxTxCodeFailures: number;
  token: { sha256: string; jkt: string; expiresAt: Date };
  now: Date;
}

/** oid4vci_offer, oid4vci_dpop_jti (owner: apps/ra). */
export class OfferStore {
  private readonly sql: Sql;
  constructor(sql: Sql) {
    this.sql = sql;
  }

  async add(o: NewOffer): Promise<void> {
    await this.sql.query(
      `INSERT INTO oid4vci_offer (id, client_id, kind, profile, code_sha256, tx_code_sha256, sealed, holder_key_thumbprint, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [o.id, o.clientId, o.kind, o.profile, o.codeSha256, o.txCodeSha256, o.sealed, o.holderKeyThumbprint, o.expiresAt],
    );
  }

  /**
   * Exchanges a pre-authorized code for a DPoP-bound access token, once: one UPDATE takes an
   * unredeemed, unexpired offer whose tx_code matches; otherwise says why not. An expired offer's
   * data is cleared on the spot; a wrong tx_code counts, and the last allowed one burns the offer.
   */
  async redeem(a: RedeemAttempt): Promise<Redemption> {
    const rows = await this.sql.query(
      `UPDATE oid4vci_offer SET redeemed_at = $3, token_sha256 = $4, token_jkt = $5, token_expires_at = $6
        WHERE code_sha256 = $1 AND redeemed_at IS NULL AND sealed IS NOT NULL AND expires_at > $3
          AND tx_code_sha256 IS NOT DISTINCT FROM $2
        RETURNING ${OFFER.select}`,
      [a.codeSha256, a.txCodeSha256, a.now, a.token.sha256, a.token.jkt, a.token.expiresAt],
    );
    if (rows[0]) return { kind: "redeemed", offer: OFFER.read(rows[0]) };
    const [row] = await this.sql.query<{
      id: string;
      redeemed_at: Date | null;
      sealed_present: boolean;
      expires_at: Date;
    }>(
      `SELECT id, redeemed_at, sealed IS NOT NULL AS sealed_present, expires_at FROM oid4vci_offer WHERE code_sha256 = $1`,
      [a.codeSha256],
    );
    if (!row) return { kind: "unknown" };
    if (row.redeemed_at || !row.sealed_present) return { kind: "used" };
    if (row.expires_at.getTime() <= a.now.getTime()) {
      await this.end(row.id, "expired");
      return { kind: "expired" };
    }
    const [failed] = await this.sql.query<{ tx_code_failures: number }>(
      `UPDATE oid4vci_offer SET tx_code_failures = tx_code_failures + 1 WHERE id = $1 RETURNING tx_code_failures`,
      [row.id],
    );
    const burnt = Number(failed?.tx_code_failures ?? a.maxTxCodeFailures) >= a.maxTxCodeFailures;
    if (burnt) await this.end(row.id, "burnt");
    return { kind: "tx-code-wrong", burnt };
  }

  /** The offer an access token was issued for (whatever its state), or undefined. */
  async byToken(tokenSha256: string): Promise<OfferRecord | undefined> {
    const [row] = await this.sql.query(`SELECT ${OFFER.select} FROM oid4vci_offer WHERE token_sha256 = $1`, [
      tokenSha256,
    ]);
    return row ? OFFER.read(row) : undefined;
  }

  /**
   * The credential was issued: the sealed data goes in the same statement that records the
   * issuance request and the notification id. False when it was already gone.
   */
  async issued(id: string, requestId: string, notificationId: string, now: Date): Promise<boolean> {
    const rows = await this.sql.query(
      `UPDATE oid4vci_offer SET sealed = NULL, ended = 'issued', request_id = $2, notification_id = $3, issued_at = $4
        WHERE id = $1 AND sealed IS NOT NULL RETURNING id`,
      [id, requestId, notificationId, now],
    );
    return rows.length === 1;
  }

  /** Records a wallet's notification (event name only) for the token's offer; false when the id is not that offer's. */
  async notified(notificationId: string, tokenSha256: string, event: string): Promise<boolean> {
    const rows = await this.sql.query(
      `UPDATE oid4vci_offer SET notified_event = $3 WHERE notification_id = $1 AND token_sha256 = $2 RETURNING id`,
      [notificationId, tokenSha256, event],
    );
    return rows.length === 1;
  }

  /** Clears the sealed data of one offer (burnt, or expired). */
  async end(id: string, why: OfferEnd): Promise<void> {
    await this.sql.query(`UPDATE oid4vci_offer SET sealed = NULL, ended = $2 WHERE id = $1 AND sealed IS NOT NULL`, [
      id,
      why,
    ]);
  }

  /**
   * Clears the sealed data of every offer no longer redeemable (unredeemed past its expiry, or
   * redeemed and its token expired), and deletes rows and DPoP ids older than `keepUntil`.
   * Returns how many offers lost their data.
   */
  async expire(now: Date, keepUntil: Date): Promise<number> {
    const cleared = await this.sql.query(
      `UPDATE oid4vci_offer SET sealed = NULL, ended = 'expired'
        WHERE sealed IS NOT NULL AND ((redeemed_at IS NULL AND expires_at <= $1) OR token_expires_at <= $1)
        RETURNING id`,
      [now],
    );
    await this.sql.query(`DELETE FROM oid4vci_offer WHERE sealed IS NULL AND expires_at < $1`, [keepUntil]);
    await this.sql.query(`DELETE FROM oid4vci_dpop_jti WHERE expires_at < $1`, [now]);
    return cleared.length;
  }

  /** Remembers a DPoP proof id until `expiresAt`; false when it was seen before (a replay). */
  async firstUse(jtiSha256: string, expiresAt: Date): Promise<boolean> {
    const rows = await this.sql.query(
      `INSERT INTO oid4vci_dpop_jti (jti_sha256, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING jti_sha256`,
      [jtiSha256, expiresAt],
    );
    return rows.length === 1;
  }
}
