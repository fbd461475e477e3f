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

  it("hsm.activation.pin-generated: every run in a new place draws fresh random PINs, distinct per token and role, kept 0600 even under umask 022", () => {
    const pins = (d: string) => {
      execFileSync("sh", ["-c", 'umask 022; exec sh "$0" "$1"', script, d], { stdio: ["ignore", "pipe", "pipe"] });
      expect(statSync(join(d, "pins.env")).mode & 0o777).toBe(0o600);
      return Object.fromEntries(
        readFileSync(join(d, "pins.env"), "utf8")
          .split("\n")
          .filter((l) => /^[A-Z_]+=/.test(l))
          .map((l) => l.split("=") as [string, string]),
      );
    };
    const a = pins(join(dir, "a"));
    const b = pins(join(dir, "b"));
    const names = ["IACA_HSM_ROOT_PIN", "IACA_HSM_ROOT_SO_PIN", "IACA_HSM_DS_PIN", "IACA_HSM_DS_SO_PIN"];
    expect(Object.keys(a).sort()).toEqual([...names].sort());
    for (const n of names) {
      expect(a[n]).toMatch(/^[0-9a-f]{24}$/); // 96 bits from /dev/urandom
      expect(a[n]).not.toBe(b[n]);
    }
    expect(new Set([...Object.values(a), ...Object.values(b)]).size).toBe(8);
  });
});
