import type { AuditEventInput, AuditSink } from "@iaca/policy";

/** An audit sink that can append several events in one transaction (one chain lock, one commit). */
export interface GroupAuditSink extends AuditSink {
  appendMany?(events: AuditEventInput[]): Promise<unknown>;
}

/**
 * The issuer's audit path: every event is still its own chain entry (one per issuance batch), but
 * this process appends them one group at a time, so concurrent batches queue here instead of each
 * holding a database connection while it waits for the chain's lock. When the sink offers
 * `appendMany` the waiting events of a group go in one transaction (group commit); otherwise they
 * are appended one after another. The caller's promise settles when its event is durable.
 */
export class SerialAudit implements AuditSink {
  private readonly queue: { event: AuditEventInput; resolve: (v: unknown) => void; reject: (e: unknown) => void }[] =
    [];
  private draining = false;

  private readonly sink: GroupAuditSink;
  private readonly maxGroup: number;
  constructor(sink: GroupAuditSink, maxGroup = 64) {
    this.sink = sink;
    this.maxGroup = maxGroup;
  }

  append(event: AuditEventInput): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.queue.push({ event, resolve, reject });
      void this.drain();
    });
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.queue.length) {
        const group = this.queue.splice(0, this.maxGroup);
        if (this.sink.appendMany && group.length > 1) {
          try {
            await this.sink.appendMany(group.map((g) => g.event));
            for (const g of group) g.resolve(undefined);
          } catch (e) {
            for (const g of group) g.reject(e);
          }
        } else {
          for (const g of group) {
            try {
              g.resolve(await this.sink.append(g.event));
            } catch (e) {
              g.reject(e);
            }
          }
        }
      }
    } finally {
      this.draining = false;
    }
  }
}
