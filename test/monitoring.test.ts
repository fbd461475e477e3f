// The alert rules and the dashboard that ship in deploy/monitoring (issue 15 item 4): their shape,
// and every metric they name is exported by a running `iaca serve` (RA and DTS /metrics).
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { startServe } from "./support/serve-process.ts";
import { createSoftHsm, type SoftHsm } from "./support/softhsm.ts";

const ROOT = resolve(import.meta.dirname, "..");
let hsm: SoftHsm;
let dataDir: string;
let child: ChildProcess | undefined;
let exported: Set<string>;

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: string };
  annotations: { summary: string; runbook: string };
}

const alerts = parse(readFileSync(join(ROOT, "deploy/monitoring/alerts.yaml"), "utf8")) as {
  groups: { name: string; rules: Rule[] }[];
};
const dashboard = JSON.parse(readFileSync(join(ROOT, "deploy/monitoring/dashboard.json"), "utf8")) as {
  panels: { title: string; targets: { expr: string }[] }[];
};

/** Metric names an expression uses (histogram series resolved to their family). */
const metricsIn = (expr: string) =>
  [...expr.matchAll(/\b((?:iaca|dts)_[a-z_]+)/g)].map((m) => m[1]!.replace(/_(bucket|sum|count)$/, ""));

/** The RA's /metrics over HTTPS with the service CA (a public route). */
function raMetrics(url: string): Promise<string> {
  const ca = readFileSync(join(dataDir, "tls/service-ca.crt"), "utf8");
  return new Promise((ok, fail) => {
    request(`${url}/metrics`, { ca }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => ok(Buffer.concat(chunks).toString("utf8")));
    })
      .on("error", fail)
      .end();
  });
}

beforeAll(async () => {
  hsm = createSoftHsm(["iaca-root", "iaca-ds"]);
  dataDir = mkdtempSync(join(tmpdir(), "iaca-monitoring-"));
  const served = await startServe(["--port", "0"], {
    ...hsm.env,
    SOFTHSM2_CONF: hsm.conf,
    DATABASE_URL: "",
    IACA_DATA_DIR: dataDir,
    IACA_DTS_PORT: "0",
  });
  child = served.proc;
  const { ra, dts } = served;
  const text = (await raMetrics(ra)) + (await (await fetch(`${dts}/metrics`)).text());
  exported = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
}, 180_000);

afterAll(() => {
  child?.kill("SIGKILL");
  hsm?.cleanup();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe("deploy/monitoring", () => {
  it("alert rules: each has an expression, a severity (page|ticket), a summary and a runbook; names are unique", () => {
    const rules = alerts.groups.flatMap((g) => g.rules);
    expect(rules.length).toBeGreaterThanOrEqual(10);
    expect(new Set(rules.map((r) => r.alert)).size).toBe(rules.length);
    for (const r of rules) {
      expect(r.alert, JSON.stringify(r)).toMatch(/^Iaca[A-Za-z]+$/);
      expect(r.expr.trim().length, r.alert).toBeGreaterThan(0);
      expect(["page", "ticket"], r.alert).toContain(r.labels.severity);
      expect(r.annotations.summary.length, r.alert).toBeGreaterThan(10);
      expect(r.annotations.runbook.length, r.alert).toBeGreaterThan(3);
      if (r.for) expect(r.for, r.alert).toMatch(/^\d+[smh]$/);
    }
  });

  it("every metric the alert rules and the dashboard name is exported by iaca serve", () => {
    const named = new Set([
      ...alerts.groups.flatMap((g) => g.rules.flatMap((r) => metricsIn(r.expr))),
      ...dashboard.panels.flatMap((p) => p.targets.flatMap((t) => metricsIn(t.expr))),
    ]);
    expect(named.size).toBeGreaterThan(10);
    expect([...named].filter((m) => !exported.has(m))).toEqual([]);
    expect(dashboard.panels.every((p) => p.targets.length > 0)).toBe(true);
  });
});
