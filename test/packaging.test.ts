import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { dependencyProblems, type Manifest, rootProblems, workspaceDirs } from "./support/declared-deps.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const read = (file: string) => readFileSync(join(ROOT, file), "utf8");
const manifest = (dir: string) =>
  JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as Manifest & {
    engines?: { node?: string };
  };

describe("each workspace declares its own dependencies", () => {
  it.each(workspaceDirs(ROOT).map((d) => [d.slice(ROOT.length), d]))("%s", (_name, dir) => {
    expect(dependencyProblems(dir)).toEqual([]);
  });

  it("the root's test/, bench/ and scripts/ import only root devDependencies and workspaces", () => {
    expect(rootProblems(ROOT)).toEqual([]);
    expect(manifest(ROOT).dependencies ?? {}).toEqual({});
  });

  const tmp = mkdtempSync(join(tmpdir(), "iaca-deps-"));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it("catches a planted undeclared import, a test-only import and an unused dependency", () => {
    mkdirSync(join(tmp, "src"));
    mkdirSync(join(tmp, "test"));
    writeFileSync(
      join(tmp, "package.json"),
      JSON.stringify({ name: "@iaca/planted", dependencies: { fastify: "^5.0.0", yaml: "^2.0.0" } }),
    );
    writeFileSync(
      join(tmp, "src/index.ts"),
      'import fastify from "fastify";\nimport type { Logger } from "pino";\nimport { readFile } from "node:fs/promises";\nexport const x = { fastify, readFile } as unknown as Logger;\n',
    );
    writeFileSync(join(tmp, "src/lazy.ts"), 'export const load = () => import("@peculiar/x509/sub");\n');
    writeFileSync(
      join(tmp, "test/index.test.ts"),
      'import { it } from "vitest";\nimport "../src/index.ts";\nit("", () => {});\n',
    );
    expect(dependencyProblems(tmp).sort()).toEqual([
      "dependency yaml is not imported by src/",
      "src/index.ts imports pino, not in dependencies",
      "src/lazy.ts imports @peculiar/x509, not in dependencies",
      "test/index.test.ts imports vitest, not in dependencies or devDependencies",
    ]);
  });
});

describe("one Node.js version everywhere", () => {
  const engines = manifest(ROOT).engines?.node ?? "";
  const [major, minor, patch] = engines.replace(/^\^/, "").split(".").map(Number);
  const satisfies = (version: string) => {
    const [a, b, c] = version.replace(/^v/, "").split(".").map(Number);
    return a === major && (b! > minor! || (b === minor && c! >= patch!));
  };

  it("engines.node is the same caret range in every package.json", () => {
    expect(engines).toMatch(/^\^\d+\.\d+\.\d+$/);
    for (const dir of workspaceDirs(ROOT)) expect([dir, manifest(dir).engines?.node]).toEqual([dir, engines]);
  });

  it("scripts/node.sh installs a version the engines range accepts, and this suite runs on one", () => {
    const pinned = /^NODE_VERSION=(\S+)$/m.exec(read("scripts/node.sh"))?.[1] ?? "";
    expect(satisfies(pinned), `scripts/node.sh NODE_VERSION=${pinned} vs ${engines}`).toBe(true);
    expect(satisfies(process.version), `running on ${process.version}, engines ${engines}`).toBe(true);
  });

  it("setup.sh, .ci/run and the Dockerfile all take Node.js from scripts/node.sh", () => {
    for (const file of ["scripts/setup.sh", ".ci/run", "Dockerfile"])
      expect([file, read(file)]).toEqual([file, expect.stringContaining("scripts/node.sh")]);
    expect(read("Dockerfile")).not.toMatch(/^FROM node:/m);
  });
});
