// The data directory (embedded database, TLS keys, client keys, demo operator secrets) is private
// to the service account: the CLI creates everything 0700/0600 (umask at start) and `iaca status`
// finds anything more open.
import { lstatSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { DATA_DIR_PRIVATE } from "./controls.ts";

/** $IACA_DATA_DIR, default ./var. */
export function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.IACA_DATA_DIR || "./var");
}

/** Where the signed audit checkpoints are appended: $IACA_AUDIT_CHECKPOINTS, default <data dir>/audit/checkpoints.jsonl. */
export function auditCheckpointFile(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.IACA_AUDIT_CHECKPOINTS || join(dataDir(env), "audit", "checkpoints.jsonl"));
}

/** Files and directories below `dir` that group or others may read, write or enter (symlinks not followed). */
export function openToOthers(dir: string, limit = 1000): string[] {
  void DATA_DIR_PRIVATE;
  const found: string[] = [];
  const stack = [dir];
  while (stack.length && found.length < limit) {
    const p = stack.pop()!;
    let st: ReturnType<typeof lstatSync>;
    try {
      st = lstatSync(p);
    } catch {
      continue;
    }
    if (st.isSymbolicLink()) continue;
    if ((st.mode & 0o077) !== 0) found.push(`${p} (${(st.mode & 0o777).toString(8)})`);
    if (st.isDirectory()) for (const name of readdirSync(p)) stack.push(join(p, name));
  }
  return found.sort();
}
