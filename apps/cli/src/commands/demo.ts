import { resolve } from "node:path";
import { runDemo } from "@iaca/pki";
import { loadPolicy } from "@iaca/policy";
import type { Command } from "commander";

export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description(
      "run every ceremony on throwaway SoftHSM tokens and an embedded database; write the artifacts to --out",
    )
    .requiredOption("--out <dir>", "output folder")
    .option("--keep-state", "keep the tokens and database in <out>/.demo-state")
    .action(async (o: { out: string; keepState?: boolean }) => {
      const out = resolve(o.out);
      const r = await runDemo({
        out,
        policy: loadPolicy(program.opts().policy),
        keepState: !!o.keepState,
        log: (l) => process.stderr.write(`demo: ${l}\n`),
      });
      try {
        await (await import("@iaca/mdoc")).writeDemoMdocs(out, r);
        for (const [name, path] of Object.entries(r.files)) process.stdout.write(`${name.padEnd(22)} ${path}\n`);
      } finally {
        await r.close();
      }
    });
}
