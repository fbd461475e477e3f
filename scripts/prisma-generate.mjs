// Generates the Prisma client into packages/db/src/generated on `npm ci`.
// Prisma 7 generation needs no engine binary, but the CLI insists on a path
// for the schema engine; any existing file satisfies it (we never call it:
// migrations are applied by packages/db's own runner).
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const env = { ...process.env, PRISMA_HIDE_UPDATE_MESSAGE: "1", CHECKPOINT_DISABLE: "1" };
env.PRISMA_SCHEMA_ENGINE_BINARY ??= process.execPath;
const r = spawnSync(process.execPath, ["node_modules/prisma/build/index.js", "generate"], {
  cwd: root,
  env,
  stdio: "inherit",
});
process.exit(r.status ?? 1);
