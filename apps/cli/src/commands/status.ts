import { migrationStatus, openDatabase } from "@iaca/db";
import { type HsmRole, hsmConfigFromEnv, KeyStore, roleConfig } from "@iaca/hsm";
import { type DoctypeProfile, getProfile, SEED_2024 } from "@iaca/mdoc";
import { discardAudit, IacaError, type Policy, seedLimitOverrideRecord } from "@iaca/policy";
import type { Command } from "commander";
import { policyOf } from "../context.ts";
import { dataDir, openToOthers } from "../data-dir.ts";
import { CliExit, printJson } from "../output.ts";

interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

type Probe = () => Promise<Omit<Check, "name">>;

/** Each probe reports instead of throwing, so one broken part does not hide the others. */
async function run(name: string, probe: Probe): Promise<Check> {
  try {
    return { name, ...(await probe()) };
  } catch (e) {
    const code = (e as { code?: string }).code;
    return { name, ok: false, detail: `${code ? `${code}: ` : ""}${(e as Error).message}` };
  }
}

const databaseProbe: Probe = async () => {
  const db = await openDatabase({ migrate: false });
  try {
    const s = await migrationStatus(db);
    const applied = s.migrations.filter((m) => m.state === "applied").length;
    const problems = [
      s.pending.length ? `${s.pending.length} pending (run: npx iaca db migrate)` : "",
      s.failed.length ? `failed: ${s.failed.join(", ")}` : "",
      s.modified.length ? `modified after apply: ${s.modified.join(", ")}` : "",
      s.missingLocally.length ? `unknown to this code: ${s.missingLocally.join(", ")}` : "",
    ].filter(Boolean);
    return {
      ok: s.upToDate,
      detail: `${db.kind} ${db.location}; migrations ${applied}/${s.migrations.length} applied${problems.length ? `; ${problems.join("; ")}` : ""}`,
    };
  } finally {
    await db.close();
  }
};

function hsmProbe(role: HsmRole): Probe {
  return async () => {
    // only this role's configuration: the operations room has no root PIN, the root room no DS PIN
    const nodes = roleConfig(hsmConfigFromEnv(process.env, { roles: [role] }), role).nodes;
    const parts: string[] = [];
    let ok = true;
    for (const node of nodes) {
      try {
        // Status only reads: nothing it does is an auditable decision.
        const ks = await KeyStore.open({ module: node.module, token: node.token, pin: node.pin, audit: discardAudit });
        try {
          const keys = await ks.listKeys();
          parts.push(`${node.name}: token "${node.token}" logged in, ${keys.length} key(s)`);
        } finally {
          ks.close();
        }
      } catch (e) {
        ok = false;
        parts.push(`${node.name}: ${(e as { code?: string }).code ?? "ERROR"}: ${(e as Error).message}`);
      }
    }
    return { ok, detail: `${nodes[0]?.module ?? "?"}; ${parts.join("; ")}` };
  };
}

/** The data directory holds keys and secrets: nothing in it may be open to group or others. */
const dataDirProbe: Probe = async () => {
  const dir = dataDir();
  const open = openToOthers(dir);
  if (!open.length) return { ok: true, detail: `${dir}: owner-only (0700/0600)` };
  const shown = open.slice(0, 5).join(", ");
  return {
    ok: false,
    detail: `ERROR ${open.length} path(s) readable by group or others: ${shown}${open.length > 5 ? ", ..." : ""}; fix: chmod -R go-rwx ${dir}`,
  };
};

function policySummary(p: Policy): string {
  const override = seedLimitOverrideRecord(p);
  return [
    `version ${p.version}, profile ${p.profile}`,
    `IACA ${p.iaca.validity} (${p.iaca.key.curve}), re-key every ${p.iaca.rekeyInterval} (first after ${p.iaca.firstRekeyAfter})`,
    `DS ${p.ds.validity} (${p.ds.key.curve}), new key every ${p.ds.rotationInterval}`,
    `MSO ${p.mso.validity}, ${p.mso.digestAlgorithm}, batch <= ${p.mso.maxBatch}`,
    ...(override
      ? [
          `SEED LIMITS OVERRIDDEN: ${override.fields.map((f) => `${f.field} ${f.value} (seed: ${f.bound} ${f.limit})`).join(", ")}, reason: ${override.reason}`,
        ]
      : []),
  ].join("; ");
}

/** The doctype profile in use, and how far its element identifiers are from the seed's figures 4/5 (a draft). */
function profileSummary(p: Policy): string {
  const profile = getProfile(p.profile);
  const ids = (x: DoctypeProfile) =>
    Object.entries(x.namespaces).flatMap(([ns, e]) => Object.keys(e).map((id) => `${ns}/${id}`));
  const seed = new Set(ids(SEED_2024));
  const notInSeed = ids(profile).filter((id) => !seed.has(id)).length;
  const namespaces = Object.entries(profile.namespaces).map(([ns, e]) => `${ns} ${Object.keys(e).length} elements`);
  return `${profile.id}: docType ${profile.docType}; ${namespaces.join(", ")}; ${
    notInSeed === 0
      ? "the element identifiers of the seed's figures 4/5 (draft)"
      : `${notInSeed} element identifiers not in the seed's figures 4/5 (draft; profile ${SEED_2024.id}), see docs/api.md`
  }`;
}

export function registerStatus(program: Command): void {
  program
    .command("status")
    .description("database, migrations, HSM tokens and policy at a glance (exit 1 when something is not ready)")
    .option("--json", "machine-readable output")
    .option("--room <room>", "only this room's HSM: root (root room) or ops (operations room); default both")
    .action(async (opts: { json?: boolean; room?: string }, cmd: Command) => {
      if (opts.room !== undefined && opts.room !== "root" && opts.room !== "ops")
        throw new IacaError("CLI_INVALID", "--room: root or ops");
      const roles: HsmRole[] = opts.room === "root" ? ["root"] : opts.room === "ops" ? ["ds"] : ["root", "ds"];
      const checks: Check[] = [];
      checks.push(await run("policy", async () => ({ ok: true, detail: policySummary(policyOf(cmd)) })));
      checks.push(await run("profile", async () => ({ ok: true, detail: profileSummary(policyOf(cmd)) })));
      checks.push(await run("data-dir", dataDirProbe));
      checks.push(await run("database", databaseProbe));
      for (const role of roles) checks.push(await run(`hsm.${role}`, hsmProbe(role)));
      if (opts.json) printJson({ ok: checks.every((c) => c.ok), checks });
      else for (const c of checks) process.stdout.write(`${c.ok ? "OK  " : "FAIL"}  ${c.name.padEnd(9)} ${c.detail}\n`);
      if (!checks.every((c) => c.ok)) throw new CliExit(1);
    });
}
