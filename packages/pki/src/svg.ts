// The plan as a hand-written SVG timeline: root certificates, link certificates, DS certificates
// (validity and usage period), root-room visits, CRL/ARL re-issues and invariant violations.
import type { Plan } from "./planner.ts";

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const iso = (d: Date) => d.toISOString().slice(0, 10);
const STYLE = `
    text{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;font-size:13px;fill:#222}
    .lane{font-weight:600}.small{font-size:11px}.axis{font-size:12px;font-weight:600}.in{fill:#fff}
    .title{font-size:16px;font-weight:700}
    .sep{stroke:#ddd}.gy{stroke:#999;stroke-dasharray:3 3}.gm{stroke:#eee}
    .root{fill:#1f4e79}.link{fill:#7b3fa0}.dsv{fill:#9ecae1}.dsu{fill:#2171b5}.dsc{fill:#e6550d}
    .visit{fill:#31a354}.visitk{fill:#000}.crl{fill:#bdbdbd;stroke:#fff;stroke-width:.5}
    .violation{fill:#d62728}.warning{fill:#ff9f1c}`;

/** The drawing: lanes stacked downwards, time mapped to x between the plan's start and end. */
class Timeline {
  readonly W: number;
  readonly left = 170;
  readonly right = 30;
  readonly t0: number;
  readonly t1: number;
  readonly out: string[] = [];
  y = 60;
  readonly p: Plan;

  constructor(p: Plan, width: number) {
    this.p = p;
    this.W = width;
    this.t0 = p.from.getTime();
    this.t1 = p.until.getTime();
  }

  x(d: Date): number {
    const { t0, t1 } = this;
    return this.left + ((Math.min(Math.max(d.getTime(), t0), t1) - t0) / (t1 - t0)) * (this.W - this.left - this.right);
  }

  /** A labelled lane of height h; returns its top. */
  lane(label: string, h: number): number {
    this.out.push(`<text x="10" y="${this.y + h / 2 + 5}" class="lane">${esc(label)}</text>`);
    this.out.push(
      `<line x1="${this.left}" y1="${this.y + h + 6}" x2="${this.W - this.right}" y2="${this.y + h + 6}" class="sep"/>`,
    );
    const top = this.y;
    this.y += h + 14;
    return top;
  }

  roots(): void {
    const p = this.p;
    // Roots.
    const rootTop = this.lane("IACA root certificates", 26);
    for (const r of p.roots) {
      const a = this.x(r.notBefore);
      const b = this.x(r.notAfter);
      this.out.push(
        `<rect x="${a}" y="${rootTop}" width="${Math.max(1, b - a)}" height="22" class="root"><title>root #${r.gen} ${iso(r.notBefore)} .. ${iso(r.notAfter)}</title></rect>`,
      );
      this.out.push(`<text x="${a + 4}" y="${rootTop + 15}" class="in">root #${r.gen} → ${iso(r.notAfter)}</text>`);
    }
  }

  links(): void {
    const p = this.p;
    // Links.
    const linkTop = this.lane("Link certificates", 18);
    for (const c of p.ceremonies.filter((c) => c.kind === "rekey")) {
      const old = p.roots[c.root - 2];
      if (!old) continue;
      const a = this.x(c.at);
      const b = this.x(old.notAfter);
      this.out.push(
        `<rect x="${a}" y="${linkTop}" width="${Math.max(2, b - a)}" height="14" class="link"><title>links old↔new ${iso(c.at)} .. ${iso(old.notAfter)}</title></rect>`,
      );
      this.out.push(`<text x="${a + 4}" y="${linkTop + 12}" class="small">old↔new links ${iso(c.at)}</text>`);
    }
  }

  /** DS certificates in 3 staggered rows. */
  documentSigners(): void {
    const p = this.p;
    // DS certificates in 3 staggered rows.
    const rows = 3;
    const dsTop = this.lane("DS certificates", rows * 20);
    this.out.push(
      `<text x="10" y="${dsTop + rows * 20 + 3}" class="small">light: validity; dark: may sign MSOs</text>`,
    );
    for (const d of p.ds) {
      const ry = dsTop + ((d.seq - 1) % rows) * 20;
      const a = this.x(d.notBefore);
      const b = this.x(d.notAfter);
      const u = this.x(d.usageEnd);
      this.out.push(`<rect x="${a}" y="${ry}" width="${Math.max(1, b - a)}" height="16" class="dsv"/>`);
      this.out.push(
        `<rect x="${a}" y="${ry}" width="${Math.max(1, u - a)}" height="16" class="${d.capped ? "dsc" : "dsu"}"><title>DS #${d.seq} ${iso(d.notBefore)} .. ${iso(d.notAfter)}; signs MSOs until ${iso(d.usageEnd)}; root #${d.root}</title></rect>`,
      );
      if (b - a > 28) this.out.push(`<text x="${a + 3}" y="${ry + 12}" class="in small">${d.seq}</text>`);
    }
  }

  visits(): void {
    const p = this.p;
    // Root-room visits.
    const visitTop = this.lane("Root-room visits", 22);
    for (const c of p.ceremonies) {
      const cx = this.x(c.at);
      const cls = c.kind === "routine" ? "visit" : "visitk";
      this.out.push(
        `<path d="M${cx} ${visitTop} l7 10 l-7 10 l-7 -10 z" class="${cls}"><title>${iso(c.at)} ${c.kind}: ${esc(c.reason)}; signs ${c.signs.map((s) => `DS #${s}`).join(", ") || "no DS"}; CRL/ARL next update ${iso(c.nextUpdate)}</title></path>`,
      );
    }
  }

  /** CRL/ARL validity. */
  lists(): void {
    const p = this.p;
    // CRL/ARL validity.
    const crlTop = this.lane("CRL + ARL validity", 12);
    for (const c of p.ceremonies) {
      const a = this.x(c.at);
      const b = this.x(c.nextUpdate);
      this.out.push(`<rect x="${a}" y="${crlTop}" width="${Math.max(1, b - a)}" height="10" class="crl"/>`);
    }
  }

  findings(): void {
    const p = this.p;
    // Findings.
    const bad = p.findings.filter((f) => f.severity !== "info" && f.at);
    const fTop = this.lane("Invariant findings", 16);
    for (const f of bad) {
      const cx = this.x(f.at!);
      this.out.push(
        `<circle cx="${cx}" cy="${fTop + 8}" r="6" class="${f.severity}"><title>${esc(`${f.rule}: ${f.message}`)}</title></circle>`,
      );
    }
  }

  /** Axis: years (and months when the plan is short). */
  axis(): void {
    const { p, t0, t1 } = this;
    const axisTop = 44;
    const gridBottom = this.y;
    const years = (t1 - t0) / (365.25 * 86_400_000);
    for (let d = new Date(Date.UTC(p.from.getUTCFullYear(), p.from.getUTCMonth(), 1)); d <= p.until; ) {
      const isYear = d.getUTCMonth() === 0;
      if (d >= p.from && (isYear || years <= 3)) {
        const gx = this.x(d);
        this.out.push(
          `<line x1="${gx}" y1="${axisTop}" x2="${gx}" y2="${gridBottom}" class="${isYear ? "gy" : "gm"}"/>`,
        );
        const label = isYear ? String(d.getUTCFullYear()) : years <= 1.5 ? d.toISOString().slice(5, 7) : "";
        if (label)
          this.out.push(`<text x="${gx + 2}" y="${axisTop - 4}" class="${isYear ? "axis" : "small"}">${label}</text>`);
      }
      d = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1));
    }
  }

  /** Legend, then the whole document. */
  render(title: string | undefined): string {
    const { p, W } = this;
    // Legend and summary.
    const v = p.findings.filter((f) => f.severity === "violation").length;
    const w = p.findings.filter((f) => f.severity === "warning").length;
    const summary = `${iso(p.from)} .. ${iso(p.until)} · ${p.ceremonies.length} root-room visits · ${p.ds.length} DS certificates · ${v} violations, ${w} warnings`;
    this.y += 6;
    this.out.push(
      `<g transform="translate(${this.left},${this.y})">` +
        `<rect width="14" height="10" class="root"/><text x="18" y="10" class="small">root</text>` +
        `<rect x="70" width="14" height="10" class="dsu"/><text x="88" y="10" class="small">DS usage period</text>` +
        `<rect x="200" width="14" height="10" class="dsc"/><text x="218" y="10" class="small">DS cut at root expiry</text>` +
        `<path d="M345 0 l5 5 l-5 5 l-5 -5 z" class="visit"/><text x="356" y="10" class="small">routine visit</text>` +
        `<path d="M455 0 l5 5 l-5 5 l-5 -5 z" class="visitk"/><text x="466" y="10" class="small">init / re-key</text>` +
        `<circle cx="575" cy="5" r="5" class="violation"/><text x="585" y="10" class="small">violation</text>` +
        `<circle cx="660" cy="5" r="5" class="warning"/><text x="670" y="10" class="small">warning</text></g>`,
    );
    const H = this.y + 26;
    return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">
<style>${STYLE}</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="10" y="20" class="title">${esc(title ?? `IACA validity plan (policy ${p.policy.version})`)}</text>
<text x="${this.left}" y="20" class="small" dx="300">${esc(summary)}</text>
${this.out.join("\n")}
</svg>
`;
  }
}

export function planSvg(p: Plan, opts: { width?: number; title?: string } = {}): string {
  const t = new Timeline(p, opts.width ?? 1400);
  t.roots();
  t.links();
  t.documentSigners();
  t.visits();
  t.lists();
  t.findings();
  t.axis();
  return t.render(opts.title);
}
