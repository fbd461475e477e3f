// One row per MSO: written pending before the HSM signs, completed (issued) after. The writes of
// the issuance path are tuned (bench/issuance): one multi-row INSERT per group of batches, one
// UPDATE over unnest() per group of completions. Keep their statement shapes and counts.
// issuance_pending holds the ids of the pending rows, written and cleared in the same statements as
// the state, so "state" is not indexed and a completion can be a heap-only (HOT) update. Every
// statement locks the issuance row before its issuance_pending row (no lock-order deadlock).
import type { AuditEventInput } from "@iaca/policy";
import { appendAuditIn } from "../audit/log.ts";
import { type Sql, valuesRows } from "../sql.ts";
import { record } from "./values.ts";

/** pending | issued | failed | abandoned */
export type IssuanceState = "pending" | "issued" | "failed" | "abandoned";

export interface PendingIssuance {
  id: string;
  /** Correlates the records of one API request. */
  requestId: string;
  batchIndex: number;
  clientId: string;
  profile: string;
  docType: string;
  dsCertSerial: string;
  msoSha256: string;
  /** RFC 7638 thumbprint of the device key (never the key). */
  deviceKeyThumbprint: string;
  /** HMAC of the My Number under an HSM key (never the number). */
  holderRef: string;
  validFrom: Date;
  validUntil: Date;
  refreshedFrom: string | null;
  createdAt: Date;
  /** The status list entry the MSO points at (null when the MSO carries no status). */
  statusList: number | null;
  statusIdx: number | null;
}

/** What a credential's state and validity are read from. */
export interface IssuanceRecord {
  id: string;
  clientId: string;
  state: IssuanceState;
  profile: string;
  docType: string;
  dsCertSerial: string;
  validFrom: Date;
  validUntil: Date;
  createdAt: Date;
  signedAt: Date | null;
  revokedAt: Date | null;
  revocationReason: string | null;
  refreshedFrom: string | null;
  suspendedAt: Date | null;
}

/** What a refresh checks of the mdoc it replaces. */
export interface RefreshSource {
  id: string;
  state: IssuanceState;
  validUntil: Date;
  revokedAt: Date | null;
  suspendedAt: Date | null;
  holderRef: string;
  profile: string;
  dsCertSerial: string;
  deviceKeyThumbprint: string;
}

export interface AbandonedIssuance {
  id: string;
  requestId: string;
}

/** The 16 parameters of a pending record, and its state written as a literal. */
const PENDING_COLUMNS = [...Array<string>(16).fill(""), "='pending'"];

const REVOKE = "revoked_at = $2, revocation_reason = $3, suspended_at = NULL";
const SUSPEND = "suspended_at = $2";
const RESUME = "suspended_at = NULL";

/**
 * `WITH changed AS (<update of issuance … RETURNING id…>), <ids leave issuance_pending>`: the
 * caller appends the final SELECT. The update locks the issuance rows first.
 */
const leavePending = (update: string): string =>
  `WITH changed AS (${update}),
        left_pending AS (DELETE FROM issuance_pending WHERE id IN (SELECT id FROM changed))`;

const abandoned = (rows: { id: string; request_id: string }[]): AbandonedIssuance[] =>
  rows.map((r) => ({ id: r.id, requestId: r.request_id }));

const RECORD = record<IssuanceRecord>({
  id: "value",
  clientId: "value",
  state: "value",
  profile: "value",
  docType: "value",
  dsCertSerial: "value",
  validFrom: "value",
  validUntil: "value",
  createdAt: "value",
  signedAt: "value",
  revokedAt: "value",
  revocationReason: "value",
  refreshedFrom: "value",
  suspendedAt: "value",
});
const REFRESH_SOURCE = record<RefreshSource>({
  id: "value",
  state: "value",
  validUntil: "value",
  revokedAt: "value",
  suspendedAt: "value",
  holderRef: "value",
  profile: "value",
  dsCertSerial: "value",
  deviceKeyThumbprint: "value",
});

/** issuance (owner: apps/issuer; the RA reads it only through the issuer's API). */
export class IssuanceStore {
  private readonly sql: Sql;
  constructor(sql: Sql) {
    this.sql = sql;
  }

  /** Writes pending records in one statement (autocommit: durable when it resolves). */
  async recordPending(rows: readonly PendingIssuance[]): Promise<void> {
    const values = valuesRows(
      PENDING_COLUMNS,
      rows.map((r) => [
        r.id,
        r.requestId,
        r.batchIndex,
        r.clientId,
        r.profile,
        r.docType,
        r.dsCertSerial,
        r.msoSha256,
        r.deviceKeyThumbprint,
        r.holderRef,
        r.validFrom,
        r.validUntil,
        r.refreshedFrom,
        r.createdAt,
        r.statusList,
        r.statusIdx,
      ]),
    );
    await this.sql.query(
      `WITH r AS (
         INSERT INTO issuance (id, request_id, batch_index, client_id, profile, doc_type, ds_cert_serial, mso_sha256,
           device_key_thumbprint, holder_ref, valid_from, valid_until, refreshed_from, created_at,
           status_list, status_idx, state)
         VALUES ${values.sql} RETURNING id, created_at)
       INSERT INTO issuance_pending (id, created_at) SELECT id, created_at FROM r`,
      values.params,
    );
  }

  /** Marks signed records issued, in one statement; a record no longer pending is left as it is. */
  async complete(done: readonly { id: string; signedAt: Date }[]): Promise<void> {
    await this.sql.query(
      `${leavePending(`UPDATE issuance AS i SET state = 'issued', signed_at = v.signed_at
         FROM unnest($1::text[], $2::timestamptz[]) AS v (id, signed_at)
        WHERE i.id = v.id AND i.state = 'pending' RETURNING i.id`)} SELECT 1`,
      [done.map((d) => d.id), done.map((d) => d.signedAt)],
    );
  }

  /**
   * Completes batches and records their audit events in one transaction: after a crash the
   * issuance table and the audit chain never disagree (a batch is issued and audited, or neither
   * and its pending rows are swept to abandoned and audited as such).
   */
  async completeAudited(
    done: readonly { id: string; signedAt: Date }[],
    events: readonly AuditEventInput[],
  ): Promise<void> {
    await this.sql.transaction(async (tx) => {
      await new IssuanceStore(tx).complete(done);
      if (events.length) await appendAuditIn(tx, events);
    });
  }

  /** The batch failed before its MSOs were handed out. */
  async markFailed(ids: readonly string[]): Promise<void> {
    await this.sql.query(
      `${leavePending(`UPDATE issuance SET state = 'failed' WHERE id = ANY($1::text[]) AND state = 'pending' RETURNING id`)}
       SELECT 1`,
      [ids],
    );
  }

  /** Pending records created before `createdBefore` (their batch crashed) become abandoned. */
  async abandonStale(createdBefore: Date): Promise<AbandonedIssuance[]> {
    const rows = abandoned(
      await this.sql.query<{ id: string; request_id: string }>(
        `${leavePending(`UPDATE issuance SET state = 'abandoned'
            WHERE id IN (SELECT id FROM issuance_pending WHERE created_at < $1) AND state = 'pending'
            RETURNING id, request_id`)}
         SELECT id, request_id FROM changed`,
        [createdBefore],
      ),
    );
    await this.releaseRefreshClaims([...new Set(rows.map((r) => r.requestId))]);
    return rows;
  }

  /**
   * A refresh consumes the issued mdoc it refreshes: true when `requestId` now holds the claim (or
   * already held it: the same request retried after a crash), false when another request has it.
   */
  async claimRefresh(id: string, requestId: string): Promise<boolean> {
    const rows = await this.sql.query(
      `UPDATE issuance SET refresh_claimed_by = $2
        WHERE id = $1 AND state = 'issued' AND (refresh_claimed_by IS NULL OR refresh_claimed_by = $2) RETURNING id`,
      [id, requestId],
    );
    return rows.length > 0;
  }

  /** The refreshes of these requests failed or were abandoned: the mdocs they claimed may be refreshed again. */
  async releaseRefreshClaims(requestIds: readonly string[]): Promise<void> {
    if (!requestIds.length) return;
    await this.sql.query(`UPDATE issuance SET refresh_claimed_by = NULL WHERE refresh_claimed_by = ANY($1::text[])`, [
      requestIds,
    ]);
  }

  /** Every record of a request that is re-run (crash retry) becomes abandoned. */
  async abandonRequest(requestId: string): Promise<AbandonedIssuance[]> {
    return abandoned(
      await this.sql.query<{ id: string; request_id: string }>(
        `${leavePending(`UPDATE issuance SET state = 'abandoned'
            WHERE request_id = $1 AND state IN ('pending', 'issued') RETURNING id, request_id`)}
         SELECT id, request_id FROM changed`,
        [requestId],
      ),
    );
  }

  async get(id: string): Promise<IssuanceRecord | undefined> {
    const [r] = await this.sql.query(`SELECT ${RECORD.select} FROM issuance WHERE id = $1`, [id]);
    return r ? RECORD.read(r) : undefined;
  }

  /** The record of the MSO with this SHA-256 (a refresh presents it). */
  async byMsoHash(msoSha256: string): Promise<RefreshSource | undefined> {
    const [r] = await this.sql.query(`SELECT ${REFRESH_SOURCE.select} FROM issuance WHERE mso_sha256 = $1`, [
      msoSha256,
    ]);
    return r ? REFRESH_SOURCE.read(r) : undefined;
  }

  /** Revokes one issued, unrevoked credential (ending a suspension); false when there is none such. */
  async revoke(id: string, revokedAt: Date, reason: string): Promise<boolean> {
    return (await this.changeStatus(`id = $1`, [id, revokedAt, reason], REVOKE)).length > 0;
  }

  /** Revokes every issued, unrevoked credential of a holder; returns their ids. */
  async revokeHolder(holderRef: string, revokedAt: Date, reason: string): Promise<string[]> {
    return this.changeStatus(`holder_ref = $1`, [holderRef, revokedAt, reason], REVOKE);
  }

  /** Suspends an issued, unrevoked, unsuspended credential; false when there is none such. */
  async suspend(id: string, at: Date): Promise<boolean> {
    return (await this.changeStatus(`id = $1 AND suspended_at IS NULL`, [id, at], SUSPEND)).length > 0;
  }

  /** Lifts the suspension of an issued, unrevoked credential; false when it was not suspended. */
  async resume(id: string): Promise<boolean> {
    return (await this.changeStatus(`id = $1 AND suspended_at IS NOT NULL`, [id], RESUME)).length > 0;
  }

  /**
   * One statement: change the status of the matching issued, unrevoked rows, record their entries'
   * new status (status_list_entry) and bump the version of every status list they are in, so the
   * publisher re-signs those lists (control issuer.status.change) and never signs a list older
   * than the change it has seen.
   */
  private async changeStatus(where: string, params: unknown[], set: string): Promise<string[]> {
    const rows = await this.sql.query<{ id: string }>(
      `WITH changed AS (
         UPDATE issuance SET ${set} WHERE ${where} AND state = 'issued' AND revoked_at IS NULL
         RETURNING id, status_list, status_idx,
                   CASE WHEN revoked_at IS NOT NULL THEN 1 WHEN suspended_at IS NOT NULL THEN 2 ELSE 0 END AS status),
       entries AS (
         INSERT INTO status_list_entry (list_no, idx, status)
         SELECT status_list, status_idx, status FROM changed WHERE status_list IS NOT NULL
         ON CONFLICT (list_no, idx) DO UPDATE SET status = excluded.status RETURNING list_no),
       bumped AS (
         UPDATE status_list SET version = version + 1
          WHERE list_no IN (SELECT status_list FROM changed WHERE status_list IS NOT NULL) RETURNING list_no)
       SELECT id FROM changed`,
      params,
    );
    return rows.map((r) => r.id);
  }

  /** Ids of a holder's issued credentials that were revoked before, other than `except`. */
  async revokedOfHolder(holderRef: string, except: readonly string[]): Promise<string[]> {
    const rows = await this.sql.query<{ id: string }>(
      `SELECT id FROM issuance WHERE holder_ref = $1 AND state = 'issued' AND revoked_at IS NOT NULL AND NOT (id = ANY($2::text[]))`,
      [holderRef, except],
    );
    return rows.map((r) => r.id);
  }
}
