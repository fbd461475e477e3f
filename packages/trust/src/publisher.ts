import type { Policy } from "@iaca/policy";
import { DTS_TRUST_LIST_SIGNED } from "./controls.ts";
import { type PublishedSet, type PublishedSetInput, parsePublishedSet } from "./published.ts";
import { buildTree, type PublishedTree } from "./tree.ts";
import { type SignedTrustList, signTrustListIfChanged, type TrustListSigner, type VicalOptions } from "./vical.ts";

/** Where the DTS reads the published set from (the database in production; memory in tests). */
export interface DtsSource {
  load(): Promise<PublishedSetInput>;
  /** Records a newly signed trust-list issue (so the export and every replica serve the same bytes). */
  saveTrustList?(issue: SignedTrustList): Promise<void>;
}

export interface PublisherOptions {
  source: DtsSource;
  policy: Policy;
  /** The online trust-list signer; without one the last stored issue is served as it is. */
  signer?: TrustListSigner | undefined;
  vical?: Partial<VicalOptions>;
  clock?: () => Date;
}

/**
 * Keeps the published tree: loads the set, re-signs the trust list when its content changed
 * (control dts.trust-list.signed), builds the tree, and rebuilds it when a status transition passes.
 */
export class Publisher {
  readonly policy: Policy;
  readonly clock: () => Date;
  #tree: PublishedTree | undefined;
  #set: PublishedSet | undefined;
  #refreshing: Promise<PublishedTree> | undefined;

  private readonly opts: PublisherOptions;
  constructor(opts: PublisherOptions) {
    this.opts = opts;
    this.policy = opts.policy;
    this.clock = opts.clock ?? (() => new Date());
  }

  /** The current tree, rebuilt synchronously when a transition (status, freshness) has passed. */
  get tree(): PublishedTree | undefined {
    const t = this.#tree;
    const now = this.clock().getTime();
    if (t && this.#set && ((t.changesAt && now >= t.changesAt.getTime()) || now < t.at.getTime())) {
      this.#tree = buildTree(this.#set, this.policy, this.clock());
    }
    return this.#tree;
  }

  /** Reloads from the source; concurrent callers share one refresh. */
  refresh(): Promise<PublishedTree> {
    this.#refreshing ??= this.#doRefresh().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async #doRefresh(): Promise<PublishedTree> {
    const now = this.clock();
    let input = await this.opts.source.load();
    let set = parsePublishedSet(input);
    if (this.opts.signer) {
      void DTS_TRUST_LIST_SIGNED;
      const issued = await signTrustListIfChanged(
        set,
        this.opts.signer,
        {
          provider: this.policy.iaca.name.O ?? this.policy.iaca.name.CN,
          profile: this.policy.profile,
          ...this.opts.vical,
        },
        now,
      );
      if (issued) {
        await this.opts.source.saveTrustList?.(issued);
        input = { ...input, trustList: issued };
        set = parsePublishedSet(input);
      }
    }
    this.#set = set;
    this.#tree = buildTree(set, this.policy, now);
    return this.#tree;
  }
}

/** A source over a mutable in-memory set (tests, `runDemo` output, benchmarks). */
export class MemorySource implements DtsSource {
  set: PublishedSetInput;
  constructor(set: PublishedSetInput) {
    this.set = set;
  }
  async load(): Promise<PublishedSetInput> {
    return { ...this.set, certificates: [...this.set.certificates] };
  }
  async saveTrustList(issue: SignedTrustList): Promise<void> {
    this.set = { ...this.set, trustList: issue };
  }
}
