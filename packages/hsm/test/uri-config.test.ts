import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { derToRaw, formatPkcs11Uri, hsmConfigFromEnv, parsePinFile, parsePkcs11Uri, rawToDer } from "../src/index.ts";

const MODULE = "/usr/lib/softhsm/libsofthsm2.so";
const dir = mkdtempSync(join(tmpdir(), "iaca-hsm-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("RFC 7512 pkcs11: URIs", () => {
  it("parses and formats round trip, percent-encoding per RFC 7512", () => {
    const text = "pkcs11:token=iaca-ds;object=DS%202025%2F01;type=private;id=%01%A2%FF";
    const u = parsePkcs11Uri(text);
    expect(u).toMatchObject({ token: "iaca-ds", object: "DS 2025/01", type: "private" });
    expect(u.id?.toString("hex")).toBe("01a2ff");
    const out = formatPkcs11Uri(u);
    expect(out).toBe("pkcs11:token=iaca-ds;object=DS%202025%2F01;type=private;id=%01%A2%FF");
    expect(parsePkcs11Uri(out)).toEqual(u);
  });

  it("round trips UTF-8 labels, reserved characters and query attributes", () => {
    const u = {
      token: "鍵 トークン",
      object: "a;b=c?d%e&f",
      manufacturer: "SoftHSM project",
      query: { "pin-source": "file:/run/secrets/pin", "module-name": "softhsm2" },
    };
    const text = formatPkcs11Uri(u);
    expect(text).not.toMatch(/[ ;]object=a;/);
    expect(text).toContain("object=a%3Bb=c%3Fd%25e&f");
    expect(text).toContain("?pin-source=file:/run/secrets/pin&module-name=softhsm2");
    expect(parsePkcs11Uri(text)).toEqual(u);
  });

  it("RFC 7512 examples parse", () => {
    expect(parsePkcs11Uri("pkcs11:")).toEqual({});
    expect(parsePkcs11Uri("pkcs11:object=my-pubkey;type=public")).toEqual({ object: "my-pubkey", type: "public" });
    expect(
      parsePkcs11Uri("pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;manufacturer=Snake%20Oil,%20Inc.;model=1.0"),
    ).toEqual({ token: "The Software PKCS#11 Softtoken", manufacturer: "Snake Oil, Inc.", model: "1.0" });
    expect(parsePkcs11Uri("pkcs11:object=x;x-vendor=ignored")).toEqual({ object: "x" });
  });

  it("rejects malformed URIs with HSM_URI_INVALID", () => {
    for (const bad of [
      "file:/x",
      "pkcs11:object",
      "pkcs11:object=a b",
      "pkcs11:object=%zz",
      "pkcs11:bogus=1",
      "pkcs11:type=weird",
      "pkcs11:object=a;object=b",
    ])
      expect(() => parsePkcs11Uri(bad), bad).toThrow(expect.objectContaining({ code: "HSM_URI_INVALID" }));
  });

  it("ECDSA raw <-> DER conversion round trips (high bit, leading zeros, P-521 long form)", () => {
    for (const size of [32, 48, 66]) {
      for (const fill of [0x00, 0x7f, 0x80, 0xff]) {
        const raw = Buffer.alloc(2 * size, fill);
        raw[0] = 0;
        raw[size] = fill;
        expect(derToRaw(rawToDer(raw), size).equals(raw)).toBe(true);
      }
    }
  });
});

describe("hsmConfigFromEnv", () => {
  it("hsm.activation.pin-from-environment: defaults and PINs from the environment", () => {
    const c = hsmConfigFromEnv({ IACA_HSM_ROOT_PIN: "r", IACA_HSM_DS_PIN: "d" });
    expect(c.module).toBe(MODULE);
    expect(c.roles.root?.nodes).toEqual([{ name: "iaca-root", module: MODULE, token: "iaca-root", pin: "r" }]);
    expect(c.roles.ds?.nodes).toEqual([{ name: "iaca-ds", module: MODULE, token: "iaca-ds", pin: "d" }]);
  });

  it("hsm.activation.pin-from-environment: a missing PIN is HSM_PIN_MISSING naming the variable", () => {
    expect(() => hsmConfigFromEnv({ IACA_HSM_DS_PIN: "d" })).toThrow(
      expect.objectContaining({ code: "HSM_PIN_MISSING", message: expect.stringContaining("IACA_HSM_ROOT_PIN") }),
    );
    // a DS-only process needs no root PIN
    expect(hsmConfigFromEnv({ IACA_HSM_DS_PIN: "d" }, { roles: ["ds"] }).roles.root).toBeUndefined();
  });

  it("hsm.activation.pin-from-environment: PIN file must be mode 0600", () => {
    const file = join(dir, "pins.env");
    writeFileSync(file, "# dev pins\nIACA_HSM_ROOT_PIN=from-file\nexport IACA_HSM_DS_PIN='quoted'\n");
    chmodSync(file, 0o600);
    const c = hsmConfigFromEnv({ IACA_HSM_PIN_FILE: file, IACA_HSM_DS_TOKEN: "ds-x" });
    expect(c.roles.root?.nodes[0]?.pin).toBe("from-file");
    expect(c.roles.ds?.nodes[0]).toMatchObject({ token: "ds-x", pin: "quoted" });
    chmodSync(file, 0o644);
    expect(() => hsmConfigFromEnv({ IACA_HSM_PIN_FILE: file })).toThrow(
      expect.objectContaining({ code: "HSM_CONFIG_INVALID" }),
    );
    expect(parsePinFile("A=1\n\n#x\nB = two")).toEqual({ A: "1", B: "two" });
  });

  it("cluster nodes from a comma list or JSON", () => {
    const list = hsmConfigFromEnv(
      { IACA_HSM_DS_PIN: "d", IACA_HSM_DS_NODES: `ds-a, ${MODULE}|ds-b` },
      { roles: ["ds"] },
    );
    expect(list.roles.ds?.nodes.map((n) => [n.name, n.token, n.pin])).toEqual([
      ["ds-a", "ds-a", "d"],
      ["ds-b", "ds-b", "d"],
    ]);
    const json = hsmConfigFromEnv(
      {
        IACA_HSM_DS_NODES: JSON.stringify([
          { name: "tokyo", token: "ds-a", pinEnv: "PIN_A" },
          { name: "osaka", token: "ds-b", pinEnv: "PIN_B" },
        ]),
        PIN_A: "a",
        PIN_B: "b",
        IACA_HSM_SESSIONS: "4",
        IACA_HSM_SIGN_WORKERS: "0",
      },
      { roles: ["ds"] },
    );
    expect(json.sessions).toBe(4);
    expect(json.signWorkers).toBe(0);
    expect(json.roles.ds?.nodes.map((n) => [n.name, n.pin])).toEqual([
      ["tokyo", "a"],
      ["osaka", "b"],
    ]);
  });

  it("invalid settings give clear errors", () => {
    const ds = { roles: ["ds" as const] };
    expect(() => hsmConfigFromEnv({ IACA_PKCS11_MODULE: "/nope.so", IACA_HSM_DS_PIN: "d" }, ds)).toThrow(
      expect.objectContaining({ code: "HSM_MODULE_LOAD_FAILED" }),
    );
    expect(() => hsmConfigFromEnv({ IACA_HSM_DS_PIN: "d", IACA_HSM_DS_NODES: "[{" }, ds)).toThrow(
      expect.objectContaining({ code: "HSM_CONFIG_INVALID" }),
    );
    expect(() => hsmConfigFromEnv({ IACA_HSM_DS_PIN: "d", IACA_HSM_DS_NODES: "a,a" }, ds)).toThrow(
      expect.objectContaining({ code: "HSM_CONFIG_INVALID" }),
    );
    expect(() => hsmConfigFromEnv({ IACA_HSM_DS_PIN: "d", IACA_HSM_SESSIONS: "0" }, ds)).toThrow(
      expect.objectContaining({ code: "HSM_CONFIG_INVALID" }),
    );
  });
});
