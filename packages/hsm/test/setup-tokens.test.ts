import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { discardAudit } from "@iaca/policy";
import { afterAll, describe, expect, it } from "vitest";
import { ClusterKeyStore, hsmConfigFromEnv } from "../src/index.ts";

const script = resolve(import.meta.dirname, "../../../softhsm/setup-tokens.sh");
const dir = mkdtempSync(join(tmpdir(), "iaca-setup-tokens-"));
let cluster: ClusterKeyStore | undefined;
afterAll(() => {
  cluster?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("softhsm/setup-tokens.sh", () => {
  it("hsm.activation.pin-from-environment: creates both tokens once, PIN file 0600 reused, usable via hsmConfigFromEnv", async () => {
    const out1 = execFileSync("sh", [script, dir], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    const pins1 = readFileSync(join(dir, "pins.env"), "utf8");
    const out2 = execFileSync("sh", [script, dir], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    expect(readFileSync(join(dir, "pins.env"), "utf8")).toBe(pins1);
    expect(out2).toBe(out1);
    expect(out1).toContain(`export SOFTHSM2_CONF=${join(dir, "softhsm2.conf")}`);
    expect(statSync(join(dir, "pins.env")).mode & 0o777).toBe(0o600);
    const slots = execFileSync("softhsm2-util", ["--show-slots"], {
      encoding: "utf8",
      env: { ...process.env, SOFTHSM2_CONF: join(dir, "softhsm2.conf") },
    });
    expect(slots.match(/Label:\s+iaca-root\s*$/gm)).toHaveLength(1);
    expect(slots.match(/Label:\s+iaca-ds\s*$/gm)).toHaveLength(1);

    process.env.SOFTHSM2_CONF = join(dir, "softhsm2.conf"); // before the module is initialised
    const config = hsmConfigFromEnv({ IACA_HSM_PIN_FILE: join(dir, "pins.env") });
    cluster = await ClusterKeyStore.forRole(config, "ds", discardAudit);
    const ds = await cluster.node("iaca-ds");
    await ds.generateEcKey("ds-smoke");
    const sig = await cluster.sign("pkcs11:object=ds-smoke", Buffer.from("x"));
    expect(sig.node).toBe("iaca-ds");
  });
});
