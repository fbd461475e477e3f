// The requirements register (docs/cpcps/requirements/*.yaml): what WebTrust, 特定認証業務,
// NCSSR, ETSI EN 319 411-1 and RFC 3647 require, row by row, with the CP/CPS items and the
// tested controls that meet each row. The survey (関連ドキュメント調査結果報告書), the plan
// (目次案) and every item's 参照規定 are generated from it, so they cannot disagree.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { allClauses } from "@iaca/policy";
import { parse } from "yaml";
import type { TraceResult } from "./cpcps-trace.ts";

export const REQ_DIR = new URL("../docs/cpcps/requirements/", import.meta.url).pathname;
/** The seed's order (5.ア): WebTrust, 特定認証業務, NCSSR, ETSI, RFC 3647. */
export const REGISTER_FILES = ["webtrust", "jipdec", "ncssr", "etsi-en-319-411-1", "rfc3647"] as const;
export const APPLICABILITY = ["適用", "一部適用", "適用外"] as const;
export type Applicability = (typeof APPLICABILITY)[number];

export interface Source {
  key: string;
  label: string;
  title: string;
  edition: string;
  consulted: "full" | "partial" | "none";
  /** false: the text was not consulted, so nothing may cite it item by item. */
  citable: boolean;
  text: string;
}

export interface Requirement {
  id: string;
  summary: string;
  applicability: Applicability;
  reason: string | undefined;
  kind: "technical" | "procedural";
  /** CP/CPS items, "x.y*" expanded to x.y and every item under it. */
  clauses: string[];
  /** The items as written in the register ("x.y*" kept). */
  patterns: string[];
  controls: string[];
  source: Source;
}

export interface RegisterDoc {
  file: string;
  label: string;
  title: string;
  source: Source;
  scope: string;
  note: string;
  requirements: Requirement[];
}

export interface Register {
  sources: Map<string, Source>;
  documents: RegisterDoc[];
}

const CONSULTED = { full: "全文を参照", partial: "一部を参照", none: "本文を参照できず" } as const;
export const consultedJa = (s: Source) => CONSULTED[s.consulted];

export function loadSources(dir = REQ_DIR): Map<string, Source> {
  const raw = parse(readFileSync(join(dir, "sources.yaml"), "utf8")) as { sources: Record<string, unknown>[] };
  const out = new Map<string, Source>();
  for (const s of raw.sources) {
    const src: Source = {
      key: String(s.key),
      label: String(s.label),
      title: String(s.title),
      edition: String(s.edition ?? ""),
      consulted: (s.consulted as Source["consulted"]) ?? "none",
      citable: s.citable === undefined ? s.consulted !== "none" : Boolean(s.citable),
      text: String(s.text ?? ""),
    };
    if (!src.edition) throw new Error(`sources.yaml: ${src.key} names no edition`);
    out.set(src.key, src);
  }
  return out;
}

/** Item ids matching "x.y" (exactly) or "x.y*" (x.y and every item under it). */
export function expandClauses(patterns: string[], ids = allClauses().map((c) => c.id)): string[] {
  const out: string[] = [];
  for (const p of patterns) {
    const base = p.endsWith("*") ? p.slice(0, -1) : p;
    if (!ids.includes(base)) throw new Error(`names item ${base}, which the CP/CPS does not have`);
    for (const id of ids)
      if (id === base || (p.endsWith("*") && id.startsWith(`${base}.`))) if (!out.includes(id)) out.push(id);
  }
  return out;
}

function toRequirement(r: Record<string, unknown>, doc: Source, sources: Map<string, Source>): Requirement {
  const id = String(r.id ?? "");
  const source = r.source ? sources.get(String(r.source)) : doc;
  if (!source) throw new Error(`row ${id}: unknown source ${String(r.source)}`);
  let clauses: string[];
  const patterns = ((r.clauses as string[]) ?? []).map(String);
  try {
    clauses = expandClauses(patterns);
  } catch (e) {
    throw new Error(`row ${id}: ${(e as Error).message}`);
  }
  return {
    id,
    summary: String(r.summary ?? ""),
    applicability: r.applicability as Applicability,
    reason: r.reason === undefined ? undefined : String(r.reason),
    kind: r.kind as Requirement["kind"],
    clauses,
    patterns,
    controls: ((r.controls as string[]) ?? []).map(String),
    source,
  };
}

export function loadRegister(dir = REQ_DIR): Register {
  const sources = loadSources(dir);
  const documents = REGISTER_FILES.map((file): RegisterDoc => {
    const raw = parse(readFileSync(join(dir, `${file}.yaml`), "utf8")) as {
      document: Record<string, string>;
      requirements: Record<string, unknown>[];
    };
    const source = sources.get(raw.document.source ?? "");
    if (!source) throw new Error(`${file}.yaml: unknown source ${raw.document.source}`);
    const rows = raw.requirements.map((r, i) => {
      try {
        return toRequirement(r, source, sources);
      } catch (e) {
        throw new Error(`${file}.yaml row ${i + 1}: ${(e as Error).message}`);
      }
    });
    return {
      file,
      label: raw.document.label ?? source.label,
      title: raw.document.title ?? source.title,
      source,
      scope: raw.document.scope ?? "",
      note: raw.document.note ?? "",
      requirements: rows,
    };
  });
  return { sources, documents };
}

function rowFailures(doc: RegisterDoc, r: Requirement, trace: TraceResult | undefined): string[] {
  const at = `${doc.file}.yaml ${r.id || "(no id)"}`;
  const out: string[] = [];
  if (!r.id) out.push(`${at}: no id`);
  if (!r.summary) out.push(`${at}: no summary`);
  if (!APPLICABILITY.includes(r.applicability)) out.push(`${at}: applicability must be 適用, 一部適用 or 適用外`);
  if (r.applicability !== "適用" && !r.reason) out.push(`${at}: ${r.applicability} needs a reason`);
  if (r.kind !== "technical" && r.kind !== "procedural") out.push(`${at}: kind must be technical or procedural`);
  if (r.clauses.length === 0) out.push(`${at}: names no CP/CPS item`);
  if (!trace) return out;
  const byId = new Map(trace.controls.map((c) => [c.id, c]));
  for (const id of r.controls) {
    const c = byId.get(id);
    if (!c) out.push(`${at}: control ${id} does not exist`);
    else if (c.tests.length === 0) out.push(`${at}: control ${id} has no test`);
  }
  const tested = r.controls.filter((id) => (byId.get(id)?.tests.length ?? 0) > 0);
  if (r.kind === "technical" && r.applicability !== "適用外" && tested.length === 0)
    out.push(`${at}: an applicable technical requirement reaches no tested control`);
  return out;
}

/** Every reason the register cannot be published: bad rows, unknown items, untested controls. */
export function registerFailures(reg: Register, trace?: TraceResult): string[] {
  const out: string[] = [];
  for (const doc of reg.documents) {
    const seen = new Set<string>();
    for (const r of doc.requirements) {
      if (seen.has(r.id)) out.push(`${doc.file}.yaml ${r.id}: listed twice`);
      seen.add(r.id);
      out.push(...rowFailures(doc, r, trace));
    }
  }
  return out;
}

export interface RowRef {
  doc: RegisterDoc;
  row: Requirement;
}

/** Item id → the register rows naming it. */
export function rowsByClause(reg: Register): Map<string, RowRef[]> {
  const out = new Map<string, RowRef[]>();
  for (const doc of reg.documents)
    for (const row of doc.requirements)
      for (const id of row.clauses) out.set(id, [...(out.get(id) ?? []), { doc, row }]);
  return out;
}

/** "NCSSR（Version 1.7、2021年4月5日）1.c" — a row as a citation with its edition. */
export function rowCitation({ doc, row }: RowRef): string {
  const label = row.source === doc.source ? doc.label : row.source.label;
  return `${label}（${row.source.edition}）${row.id}`;
}

/**
 * A 参照規定 line "- @key section: text" with the source's label and edition in place of the key.
 * Throws on an unknown key, a source whose text was not consulted, or a missing section.
 */
export function expandCitation(line: string, sources: Map<string, Source>): string {
  const m = /^(\s*-\s+)@([\w.-]+)\s+([^:：]*?)\s*[:：]\s*(.*)$/.exec(line);
  if (!m) throw new Error(`参照規定 "${line.trim()}": write "- @source section: what it requires"`);
  const [, lead = "", key = "", section = "", text = ""] = m;
  const s = sources.get(key);
  if (!s) throw new Error(`参照規定 "${line.trim()}": unknown source @${key} (docs/cpcps/requirements/sources.yaml)`);
  if (!s.citable) throw new Error(`参照規定 "${line.trim()}": @${key} was not consulted and cannot be cited`);
  if (!section) throw new Error(`参照規定 "${line.trim()}": names no section of @${key}`);
  return `${lead}${s.label}（${s.edition}）${section}: ${text}`;
}
