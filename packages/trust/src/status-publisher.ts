/**
 * The status publisher (control dts.status-list.published): re-signs every status list whose
 * content changed (its version moved past the signed one) or whose token is past half its
 * validity, with the status-list signer's key in the HSM, and stores the token the DTS serves.
 * One replica at a time (advisory lock); a second replica finds nothing left to do.
 */
import { createHash } from "node:crypto";
import type { Database } from "@iaca/db";
import type { KeyStore } from "@iaca/hsm";
import { STATUS, type StatusBits, StatusList, signStatusListToken } from "@iaca/mdoc";
import { addDuration, durationMs, type Policy, statusListUrl } from "@iaca/policy";
import { DTS_STATUS_PUBLISHED } from "./controls.ts";
import { currentDtsSigner } from "./ops.ts";

export const STATUS_PUBLISH_LOCK = "iaca.status.publish";

export interface StatusPublishOptions {
  db: Database;
  policy: Pick<Policy, "status">;
  /** The token or cluster holding the status-list signer key. */
  hsm: Pick<KeyStore, "signer">;
  now?: () => Date;
}

export interface StatusPublishResult {
  /** Lists signed in this pass. */
  signed: number[];
  /** No status-list signer certificate with a key here is valid now. */
  noSigner?: boolean;
}

/** One pass: sign what is due. */
export async function publishStatusLists(o: StatusPublishOptions): Promise<StatusPublishResult> {
  void DTS_STATUS_PUBLISHED;
  const now = (o.now ?? (() => new Date()))();
  return o.db.withAdvisoryLock(STATUS_PUBLISH_LOCK, async () => {
    const store = o.db.stores.statusLists;
    const states = await store.states();
    const validityMs = durationMs(o.policy.status.validity, now);
    const due = states.filter(
      (s) => s.signedVersion !== s.version || !s.expiresAt || s.expiresAt.getTime() - now.getTime() < validityMs / 2,
    );
    if (!due.length) return { signed: [] };
    const found = await currentDtsSigner(o.db, o.hsm, now, "status-signer");
    if (!found) return { signed: [], noSigner: true };
    const signed: number[] = [];
    for (const s of due) {
      const e = await store.entries(s.listNo);
      const list = new StatusList(s.bits as StatusBits, s.size);
      for (const i of e.suspended) list.set(i, STATUS.SUSPENDED);
      for (const i of e.revoked) list.set(i, STATUS.INVALID);
      const exp = addDuration(now, o.policy.status.validity);
      const token = await signStatusListToken(
        {
          uri: statusListUrl(o.policy, s.listNo),
          list,
          iat: now,
          exp,
          ttl: durationMs(o.policy.status.ttl, now) / 1000,
        },
        found.signer.key,
        found.signer.certificate,
      );
      const tokenSha256 = createHash("sha256").update(token).digest("hex");
      if (
        await store.saveToken({
          listNo: s.listNo,
          token,
          tokenSha256,
          signedAt: now,
          expiresAt: exp,
          version: e.version,
        })
      )
        signed.push(s.listNo);
    }
    return { signed };
  });
}

export interface StatusPublisher {
  readonly last: (StatusPublishResult & { at: Date; error?: string }) | undefined;
  stop(): void;
}

/** A third of policy.status.publishWithin: the publisher's pass and the DTS's reload each take at most this. */
export function statusPassMs(policy: Pick<Policy, "status">): number {
  return Math.max(1000, durationMs(policy.status.publishWithin, new Date(0)) / 3);
}

/** Runs a pass every third of policy.status.publishWithin (or `everyMs`), so a change is served within it. */
export function startStatusPublisher(
  o: StatusPublishOptions & {
    everyMs?: number;
    onError?: (e: Error) => void;
    onResult?: (r: StatusPublishResult) => void;
  },
): StatusPublisher {
  const everyMs = o.everyMs ?? statusPassMs(o.policy);
  let last: StatusPublisher["last"];
  let running = false;
  const run = async () => {
    if (running) return;
    running = true;
    try {
      const r = await publishStatusLists(o);
      last = { ...r, at: new Date() };
      o.onResult?.(r);
    } catch (e) {
      last = { signed: [], at: new Date(), error: (e as Error).message };
      o.onError?.(e as Error);
    } finally {
      running = false;
    }
  };
  void run();
  const timer = setInterval(run, everyMs);
  timer.unref();
  return {
    get last() {
      return last;
    },
    stop: () => clearInterval(timer),
  };
}
