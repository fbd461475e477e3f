/**
 * Status list indexes (control issuer.status.index-random): the n-th entry handed out in a list is
 * at position P(n), where P is a keyed pseudo-random permutation of 0..size-1 (an 8-round balanced
 * Feistel network over the smallest even number of bits that covers the size, cycle-walking back
 * into range). Indexes are unique by construction, with no lookup or retry, and consecutive
 * allocations (the mdocs of one batch) land at unrelated positions: without the list's key nobody
 * can tell which entries were handed out together. The key is random per list and lives in the
 * list's row; whoever reads the database also reads which issuance belongs to which request, so
 * it reveals nothing new there.
 */
import { createHash } from "node:crypto";

const ROUNDS = 8;

export class IndexPermutation {
  readonly size: number;
  private readonly half: number;
  private readonly mask: number;
  /** Round function tables: ROUNDS × 2^half entries of `half` bits. */
  private readonly tables: Uint32Array[];

  constructor(key: Uint8Array, size: number) {
    if (!Number.isInteger(size) || size < 2 || size > 2 ** 30)
      throw new RangeError(`status list size ${size} must be an integer in 2..2^30`);
    this.size = size;
    const bits = Math.ceil(Math.log2(size));
    this.half = Math.ceil(bits / 2);
    this.mask = (1 << this.half) - 1;
    this.tables = Array.from({ length: ROUNDS }, (_, r) => this.table(key, r));
  }

  private table(key: Uint8Array, round: number): Uint32Array {
    const n = 1 << this.half;
    const t = new Uint32Array(n);
    // 8 outputs of 32 bits per SHA-256 block
    for (let i = 0; i < n; i += 8) {
      const h = createHash("sha256").update(key).update(`status-index:${round}:${i}`).digest();
      for (let j = 0; j < 8 && i + j < n; j++) t[i + j] = h.readUInt32BE(j * 4) & this.mask;
    }
    return t;
  }

  private encrypt(x: number): number {
    let l = (x >>> this.half) & this.mask;
    let r = x & this.mask;
    for (const t of this.tables) [l, r] = [r, l ^ t[r]!];
    return l * (1 << this.half) + r;
  }

  /** The index of the `position`-th allocation (0 ≤ position < size). */
  at(position: number): number {
    if (!Number.isInteger(position) || position < 0 || position >= this.size)
      throw new RangeError(`position ${position} outside 0..${this.size - 1}`);
    let x = this.encrypt(position);
    // cycle walking: the domain is at most 4 × size, so this ends after a few steps on average
    while (x >= this.size) x = this.encrypt(x);
    return x;
  }
}
