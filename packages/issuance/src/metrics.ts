/**
 * Prometheus text exposition (format 0.0.4) without a dependency: counters, gauges computed at
 * scrape time, and fixed-bucket histograms. Label values are ids and outcomes, never personal data.
 */
type Labels = Record<string, string>;

function labelText(l: Labels): string {
  const parts = Object.entries(l).map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

export class Counter {
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  readonly name: string;
  readonly help: string;
  constructor(name: string, help: string) {
    this.name = name;
    this.help = help;
  }
  inc(labels: Labels = {}, by = 1): void {
    const k = labelText(labels);
    const v = this.values.get(k);
    if (v) v.value += by;
    else this.values.set(k, { labels, value: by });
  }
  get(labels: Labels = {}): number {
    return this.values.get(labelText(labels))?.value ?? 0;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const { labels, value } of this.values.values()) lines.push(`${this.name}${labelText(labels)} ${value}`);
    return lines.join("\n");
  }
}

export class Histogram {
  private readonly series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
  readonly name: string;
  readonly help: string;
  readonly buckets: number[];
  constructor(
    name: string,
    help: string,
    buckets: number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  ) {
    this.name = name;
    this.help = help;
    this.buckets = buckets;
  }
  observe(seconds: number, labels: Labels = {}): void {
    const k = labelText(labels);
    let s = this.series.get(k);
    if (!s) {
      s = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(k, s);
    }
    for (let i = 0; i < this.buckets.length; i++) if (seconds <= this.buckets[i]!) s.counts[i]!++;
    s.sum += seconds;
    s.count++;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const s of this.series.values()) {
      for (const [i, b] of this.buckets.entries())
        lines.push(`${this.name}_bucket${labelText({ ...s.labels, le: String(b) })} ${s.counts[i]}`);
      lines.push(`${this.name}_bucket${labelText({ ...s.labels, le: "+Inf" })} ${s.count}`);
      lines.push(`${this.name}_sum${labelText(s.labels)} ${s.sum}`);
      lines.push(`${this.name}_count${labelText(s.labels)} ${s.count}`);
    }
    return lines.join("\n");
  }
}

export class Gauge {
  readonly name: string;
  readonly help: string;
  private readonly read: () =>
    | Promise<Array<{ labels?: Labels; value: number }>>
    | Array<{ labels?: Labels; value: number }>;
  constructor(
    name: string,
    help: string,
    read: () => Promise<Array<{ labels?: Labels; value: number }>> | Array<{ labels?: Labels; value: number }>,
  ) {
    this.name = name;
    this.help = help;
    this.read = read;
  }
  async render(): Promise<string> {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`];
    try {
      for (const { labels, value } of await this.read())
        if (Number.isFinite(value)) lines.push(`${this.name}${labelText(labels ?? {})} ${value}`);
    } catch {
      // a gauge that cannot be read is omitted from this scrape
    }
    return lines.join("\n");
  }
}

export class MetricsRegistry {
  private readonly metrics: Array<Counter | Histogram | Gauge> = [];
  register<T extends Counter | Histogram | Gauge>(m: T): T {
    this.metrics.push(m);
    return m;
  }
  async render(): Promise<string> {
    const parts = await Promise.all(this.metrics.map((m) => m.render()));
    return `${parts.join("\n")}\n`;
  }
}

/** Metrics of the issuance path, shared by the RA and the issuer when they run in one process. */
export class IssuanceMetrics {
  readonly registry = new MetricsRegistry();
  readonly issuances = this.registry.register(
    new Counter("iaca_issuances_total", "mdocs issued (MSOs signed and delivered), by profile and kind"),
  );
  readonly batches = this.registry.register(
    new Counter("iaca_issuance_batches_total", "issuance batches by outcome (issued, refused, failed)"),
  );
  readonly batchLatency = this.registry.register(
    new Histogram("iaca_issuance_batch_seconds", "time to issue one batch, from records to completion"),
  );
  readonly signLatency = this.registry.register(
    new Histogram(
      "iaca_hsm_sign_seconds",
      "HSM MSO signature latency",
      [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    ),
  );
  readonly signFailures = this.registry.register(
    new Counter("iaca_hsm_sign_failures_total", "HSM signature failures by error code"),
  );
  readonly httpRequests = this.registry.register(
    new Counter("iaca_http_requests_total", "HTTP requests by service, route and status"),
  );
  readonly httpLatency = this.registry.register(
    new Histogram("iaca_http_request_seconds", "HTTP request latency by service and route"),
  );
}
