/**
 * Group commit for one kind of write: calls that arrive while a statement of this kind is in
 * flight wait, and go together in the next statement (one round trip, one commit, instead of one
 * each). A caller's promise settles when the statement that carried its items has committed, or
 * has failed: when a statement of several callers fails, each caller's items are written again
 * alone, so one caller's bad rows never fail another caller.
 */
export class GroupWriter<T> {
  private readonly queue: { items: T[]; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private inFlight = 0;

  /** Writes the items of one group in one statement (autocommit: committed when it resolves). */
  private readonly write: (items: T[]) => Promise<void>;
  /** Items per statement (a caller's items are never split). */
  private readonly maxItems: number;
  private readonly maxInFlight: number;
  constructor(write: (items: T[]) => Promise<void>, maxItems = 2000, maxInFlight = 1) {
    this.write = write;
    this.maxItems = maxItems;
    this.maxInFlight = maxInFlight;
  }

  submit(items: T[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ items, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length) {
      let n = 0;
      let count = 0;
      while (n < this.queue.length && (n === 0 || count + this.queue[n]!.items.length <= this.maxItems))
        count += this.queue[n++]!.items.length;
      const group = this.queue.splice(0, n);
      this.inFlight++;
      void this.flush(group).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async flush(group: typeof this.queue): Promise<void> {
    try {
      await this.write(group.flatMap((g) => g.items));
      for (const g of group) g.resolve();
    } catch (e) {
      if (group.length === 1) return group[0]!.reject(e);
      await Promise.all(
        group.map(async (g) => {
          try {
            await this.write(g.items);
            g.resolve();
          } catch (alone) {
            g.reject(alone);
          }
        }),
      );
    }
  }
}
