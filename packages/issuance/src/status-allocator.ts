/**
 * Hands out status list entries to the MSOs of this issuer process (control
 * issuer.status.index-random): positions come in blocks from the newest list (one UPDATE per
 * block, reserved ahead while half the current block is left, so replicas do not contend per
 * batch and no batch waits for it) and go through the list's keyed permutation, so
 * the entries of one batch are spread at random over the list. Entries are fixed before the MSOs
 * are composed and written with the pending issuance rows (issuer.record-before-sign unchanged).
 */
import type { StatusListStore } from "@iaca/db";
import type { AllocatedStatus } from "@iaca/mdoc";
import { type Policy, statusListUrl } from "@iaca/policy";
import { STATUS_INDEX_RANDOM } from "./controls.ts";
import { IndexPermutation } from "./status-index.ts";

/** Positions reserved per round trip: enough for many batches; at most this many lost on exit. */
const BLOCK = 256;

interface Block {
  listNo: number;
  uri: string;
  next: number;
  end: number;
}

export class StatusAllocator {
  private readonly store: StatusListStore;
  private readonly policy: Pick<Policy, "status">;
  private block: Block | undefined;
  /** The next block, reserved while the current one still has half left: batches never wait for it. */
  private ahead: Promise<Block> | undefined;
  private readonly permutations = new Map<number, IndexPermutation>();
  /** Allocations queue here so concurrent batches never take the same position. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(store: StatusListStore, policy: Pick<Policy, "status">) {
    this.store = store;
    this.policy = policy;
  }

  allocate(count: number): Promise<AllocatedStatus[]> {
    void STATUS_INDEX_RANDOM;
    const run = this.tail.then(() => this.take(count));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async take(count: number): Promise<AllocatedStatus[]> {
    const out: AllocatedStatus[] = [];
    while (out.length < count) {
      if (!this.block || this.block.next === this.block.end) {
        const need = count - out.length;
        const ahead = this.ahead;
        this.ahead = undefined;
        // a reservation made ahead that failed is made again now, for this batch
        this.block = await (ahead ? ahead.catch(() => this.reserve(need)) : this.reserve(need));
      }
      const b = this.block;
      const perm = this.permutations.get(b.listNo)!;
      for (; b.next < b.end && out.length < count; b.next++)
        out.push({ listNo: b.listNo, idx: perm.at(b.next), uri: b.uri });
    }
    const b = this.block!;
    if (!this.ahead && b.end - b.next < BLOCK / 2) {
      this.ahead = this.reserve(BLOCK);
      this.ahead.catch(() => undefined); // handled where it is awaited
    }
    return out;
  }

  private async reserve(atLeast: number): Promise<Block> {
    const { listSize, bits } = this.policy.status;
    const r = await this.store.reserve(Math.min(Math.max(BLOCK, atLeast), listSize), { size: listSize, bits });
    if (!this.permutations.has(r.listNo)) this.permutations.set(r.listNo, new IndexPermutation(r.prpKey, r.size));
    return { listNo: r.listNo, uri: statusListUrl(this.policy, r.listNo), next: r.first, end: r.first + r.count };
  }
}
