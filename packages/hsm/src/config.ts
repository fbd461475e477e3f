import { existsSync, readFileSync, statSync } from "node:fs";
import { ACTIVATION_PIN_FROM_ENVIRONMENT } from "./controls.ts";
import { HsmError } from "./errors.ts";

export type HsmRole = "root" | "ds";

/** One HSM (module + token) holding a role's keys. */
export interface HsmNodeConfig {
  /** Name reported when this node served a request (default: token label). */
  name: string;
  module: string;
  token: string;
  pin: string;
}

export interface HsmRoleConfig {
  role: HsmRole;
  /** First node is the primary; the rest are failover nodes (HSM cluster). */
  nodes: HsmNodeConfig[];
}

export interface HsmConfig {
  /** Default PKCS#11 library. */
  module: string;
  /** Sessions per token (undefined: KeyStore default). */
  sessions?: number;
  /** Signing worker threads per token (undefined: KeyStore default = cores - 1, at least 1; 0 = none). */
  signWorkers?: number;
  /** First retry delay for a failed cluster node, doubled per failure up to 60 s. */
  retryBackoffMs: number;
  roles: Partial<Record<HsmRole, HsmRoleConfig>>;
}

export const DEFAULT_MODULE = "/usr/lib/softhsm/libsofthsm2.so";
const DEFAULT_TOKENS: Record<HsmRole, string> = { root: "iaca-root", ds: "iaca-ds" };
const ENV_PREFIX: Record<HsmRole, string> = { root: "IACA_HSM_ROOT", ds: "IACA_HSM_DS" };

type Env = Record<string, string | undefined>;

function invalid(message: string, details?: Record<string, unknown>): HsmError {
  return new HsmError("HSM_CONFIG_INVALID", message, details);
}

/** KEY=value lines; `#` comments, optional `export `, optional quotes. */
export function parsePinFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const l = line.trim();
    if (!l || l.startsWith("#")) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(l);
    if (!m) continue;
    out[m[1]!] = m[2]!.replace(/^(["'])(.*)\1$/, "$2");
  }
  return out;
}

function readPinFile(path: string): Record<string, string> {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch (e) {
    throw invalid(`cannot read IACA_HSM_PIN_FILE ${path}: ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
  // ACTIVATION_PIN_FROM_ENVIRONMENT: activation data must be readable by the owner only.
  if (process.platform !== "win32" && (Number(st.mode) & 0o077) !== 0)
    throw invalid(`IACA_HSM_PIN_FILE ${path} is accessible by group/others; chmod 600 it`, {
      control: ACTIVATION_PIN_FROM_ENVIRONMENT.id,
    });
  return parsePinFile(readFileSync(path, "utf8"));
}

/**
 * Cluster nodes: JSON (`[{"token":"ds-a","module":"/x.so","name":"a","pinEnv":"IACA_HSM_DS_A_PIN"}]`)
 * or a comma list of `module|token` / `token` entries (module defaults to IACA_PKCS11_MODULE).
 */
function parseNodes(
  text: string,
  varName: string,
  module: string,
  rolePin: string | undefined,
  pinOf: (k: string) => string | undefined,
): HsmNodeConfig[] {
  let raw: Array<{ name?: string; module?: string; token?: string; pinEnv?: string }>;
  const t = text.trim();
  if (t.startsWith("[")) {
    try {
      raw = JSON.parse(t);
    } catch {
      throw invalid(`${varName} is not valid JSON`);
    }
    if (!Array.isArray(raw)) throw invalid(`${varName} must be a JSON array`);
  } else {
    raw = t
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean)
      .map((entry) => {
        const bar = entry.lastIndexOf("|");
        return bar < 0 ? { token: entry } : { module: entry.slice(0, bar), token: entry.slice(bar + 1) };
      });
  }
  if (raw.length === 0) throw invalid(`${varName} lists no nodes`);
  const nodes = raw.map((n, i) => {
    if (!n || typeof n.token !== "string" || !n.token)
      throw invalid(`${varName}[${i}]: token label missing`, { field: `${varName}[${i}].token` });
    const pin = n.pinEnv ? pinOf(n.pinEnv) : rolePin;
    if (!pin)
      throw new HsmError("HSM_PIN_MISSING", `${varName}[${i}]: no PIN (${n.pinEnv ?? "role PIN"} unset)`, {
        control: ACTIVATION_PIN_FROM_ENVIRONMENT.id,
      });
    return { name: n.name ?? n.token, module: n.module ?? module, token: n.token, pin };
  });
  const names = new Set(nodes.map((n) => n.name));
  if (names.size !== nodes.length) throw invalid(`${varName}: node names must be unique`);
  return nodes;
}

/**
 * Reads the HSM configuration from the environment. ACTIVATION_PIN_FROM_ENVIRONMENT: PINs come only
 * from IACA_HSM_<ROLE>_PIN or from IACA_HSM_PIN_FILE (KEY=value lines, mode 0600), never from code.
 *
 * - IACA_PKCS11_MODULE              PKCS#11 library (default /usr/lib/softhsm/libsofthsm2.so)
 * - IACA_HSM_ROOT_TOKEN / _DS_TOKEN token labels (default iaca-root / iaca-ds)
 * - IACA_HSM_ROOT_PIN / _DS_PIN     user PINs (or in IACA_HSM_PIN_FILE)
 * - IACA_HSM_ROOT_NODES / _DS_NODES cluster nodes (JSON or `module|token,...`); replaces _TOKEN
 * - IACA_HSM_SESSIONS               sessions per token
 * - IACA_HSM_SIGN_WORKERS           ECDSA worker threads per token (0: sign on the session pool)
 * - IACA_HSM_RETRY_BACKOFF_MS       first retry delay of a failed node (default 1000)
 *
 * Only `roles` are resolved (a DS signer needs no root PIN); a missing PIN is HSM_PIN_MISSING.
 */
export function hsmConfigFromEnv(env: Env = process.env, opts: { roles?: HsmRole[] } = {}): HsmConfig {
  const module = env.IACA_PKCS11_MODULE || DEFAULT_MODULE;
  if (!existsSync(module))
    throw new HsmError("HSM_MODULE_LOAD_FAILED", `PKCS#11 module ${module} does not exist (IACA_PKCS11_MODULE)`, {
      module,
    });
  const file = env.IACA_HSM_PIN_FILE ? readPinFile(env.IACA_HSM_PIN_FILE) : {};
  const pinOf = (k: string) => env[k] || file[k] || undefined;

  const config: HsmConfig = { module, retryBackoffMs: 1000, roles: {} };
  if (env.IACA_HSM_SESSIONS) {
    const n = Number(env.IACA_HSM_SESSIONS);
    if (!Number.isInteger(n) || n < 1 || n > 1024) throw invalid("IACA_HSM_SESSIONS must be an integer 1..1024");
    config.sessions = n;
  }
  if (env.IACA_HSM_SIGN_WORKERS) {
    const n = Number(env.IACA_HSM_SIGN_WORKERS);
    if (!Number.isInteger(n) || n < 0 || n > 64) throw invalid("IACA_HSM_SIGN_WORKERS must be an integer 0..64");
    config.signWorkers = n;
  }
  if (env.IACA_HSM_RETRY_BACKOFF_MS) {
    const n = Number(env.IACA_HSM_RETRY_BACKOFF_MS);
    if (!Number.isFinite(n) || n < 0) throw invalid("IACA_HSM_RETRY_BACKOFF_MS must be a number >= 0");
    config.retryBackoffMs = n;
  }
  for (const role of opts.roles ?? (["root", "ds"] as HsmRole[])) {
    const p = ENV_PREFIX[role];
    const rolePin = pinOf(`${p}_PIN`);
    const nodesText = env[`${p}_NODES`];
    let nodes: HsmNodeConfig[];
    if (nodesText) nodes = parseNodes(nodesText, `${p}_NODES`, module, rolePin, pinOf);
    else {
      const token = env[`${p}_TOKEN`] || DEFAULT_TOKENS[role];
      if (!rolePin)
        throw new HsmError(
          "HSM_PIN_MISSING",
          `no PIN for the ${role} HSM token "${token}": set ${p}_PIN or put it in IACA_HSM_PIN_FILE`,
          { role, control: ACTIVATION_PIN_FROM_ENVIRONMENT.id },
        );
      nodes = [{ name: token, module, token, pin: rolePin }];
    }
    for (const n of nodes)
      if (!existsSync(n.module))
        throw new HsmError("HSM_MODULE_LOAD_FAILED", `PKCS#11 module ${n.module} (node ${n.name}) does not exist`, {
          module: n.module,
        });
    config.roles[role] = { role, nodes };
  }
  return config;
}

export function roleConfig(config: HsmConfig, role: HsmRole): HsmRoleConfig {
  const r = config.roles[role];
  if (!r) throw invalid(`HSM role "${role}" is not configured`);
  return r;
}
