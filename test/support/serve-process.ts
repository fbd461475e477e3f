// `iaca serve` as a child process for the tests that need the real entry point: resolves once it
// prints "ready", with the URLs its banner names (RA, issuer, DTS) and its output kept for failures.
import { type ChildProcess, spawn } from "node:child_process";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "../..");

export interface ServeProcess {
  proc: ChildProcess;
  ra: string;
  issuer: string;
  dts: string;
  exited: Promise<number | null>;
}

const BANNER = {
  ra: /RA\s+(https:\/\/[\d.]+:\d+)/,
  issuer: /issuer\s+(https:\/\/[\d.]+:\d+)/,
  dts: /DTS\s+(http:\/\/[\d.]+:\d+)/,
} as const;

/** Starts `iaca serve ARGS` with `env` over process.env; `output` collects stdout and stderr. */
export function startServe(args: string[], env: Record<string, string>, output: string[] = []): Promise<ServeProcess> {
  const proc = spawn(process.execPath, [join(ROOT, "apps/cli/bin/iaca.js"), "serve", ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<number | null>((r) => proc.on("exit", (code) => r(code)));
  return new Promise((ok, fail) => {
    const found = { ra: "", issuer: "", dts: "" };
    proc.stdout!.on("data", (c: Buffer) => {
      const text = c.toString("utf8");
      output.push(text);
      for (const k of ["ra", "issuer", "dts"] as const) found[k] ||= BANNER[k].exec(text)?.[1] ?? "";
      if (/^ready$/m.test(text)) ok({ proc, exited, ...found });
    });
    proc.stderr!.on("data", (c: Buffer) => output.push(c.toString("utf8")));
    void exited.then((code) => fail(new Error(`serve exited ${code}:\n${output.join("").slice(-3000)}`)));
  });
}
