// The key and certificate schedule printed in CP/CPS 6.3.2 comes from the pki planner
// (packages/pki/src/planner.ts), which is the authority on validity periods, the invariants
// between them and where the seed's numbers must be adjusted.
import { type Plan, plan } from "@iaca/pki";
import { addDuration, type Policy } from "@iaca/policy";
import type { Schedule, ScheduleRow } from "./cpcps-render.ts";

/** Nominal start of the plan printed in the CP/CPS (the first root ceremony). */
export const PLAN_START = new Date(Date.UTC(2026, 3, 1));
/** Horizon: long enough to include the first root re-key. */
export const PLAN_YEARS = 6;

const SEVERITY_JA: Record<string, string> = { violation: "違反", warning: "警告", info: "情報" };
const iso = (d: Date) => d.toISOString().slice(0, 10);
/** Same-day rows: the root first, then its link certificates, then DS certificates. */
const rank = (r: ScheduleRow) => (r.subject.startsWith("IACA") ? 0 : r.subject.startsWith("リンク") ? 1 : 2);

/** Rows worth printing: every root and link, the first DS keys, and the DS keys around each re-key. */
export function scheduleFromPlan(p: Plan, firstDs = 6): Schedule {
  const rows: ScheduleRow[] = [];
  for (const r of p.roots) {
    rows.push({
      subject: `IACA #${r.gen}`,
      notBefore: r.notBefore,
      notAfter: r.notAfter,
      usageEnd: addDuration(r.notAfter, p.policy.ds.validity, -1),
      ceremony: r.notBefore,
      note: r.gen === 1 ? "初回キーセレモニー" : "鍵更新（同一の主体者名）",
    });
    const prev = p.roots[r.gen - 2];
    if (prev)
      rows.push({
        subject: `リンク証明書 #${prev.gen}↔#${r.gen}`,
        notBefore: r.notBefore,
        notAfter: prev.notAfter,
        ceremony: r.notBefore,
        note: "旧鍵→新鍵及び新鍵→旧鍵の2枚",
      });
  }
  const rekeys = p.roots.slice(1).map((r) => r.notBefore.getTime());
  const near = (d: Plan["ds"][number]) => rekeys.some((t) => Math.abs(d.notBefore.getTime() - t) < 1000 * 86_400 * 130);
  for (const d of p.ds) {
    if (d.seq > firstDs && !near(d)) continue;
    rows.push({
      subject: `DS #${d.seq}`,
      notBefore: d.notBefore,
      notAfter: d.notAfter,
      usageEnd: d.usageEnd,
      ...(d.signedAt ? { ceremony: d.signedAt } : {}),
      note: `IACA #${d.root} が署名${d.capped ? "（IACA の有効期間の終了に合わせて短縮）" : ""}`,
    });
  }
  const findings = p.findings.map(
    (f) => `〔${SEVERITY_JA[f.severity] ?? f.severity}〕 \`${f.rule}\`${f.at ? `（${iso(f.at)}）` : ""}: ${f.message}`,
  );
  const proposal = (p.proposal?.changes ?? []).map((c) => `\`${c.path}\`: ${c.from} → ${c.to}（${c.why}）`);
  return {
    source: "packages/pki の計画機能（plan）",
    start: p.from,
    years: Math.round((p.until.getTime() - p.from.getTime()) / (365.25 * 86_400_000)),
    rows: rows.sort((a, b) => a.notBefore.getTime() - b.notBefore.getTime() || rank(a) - rank(b)),
    ceremonies: p.ceremonies.length,
    dsCount: p.ds.length,
    findings,
    proposal,
    violations: p.findings.filter((f) => f.severity === "violation").length,
  };
}

export function loadSchedule(policy: Policy, log: (m: string) => void = () => {}): Schedule {
  const s = scheduleFromPlan(plan(policy, PLAN_START, PLAN_YEARS));
  if (s.violations)
    log(`cpcps: the planner reports ${s.violations} invariant violation(s) for this policy (see 6.3.2)`);
  return s;
}
