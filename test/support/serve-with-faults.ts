// Test-only entry: `iaca serve` on the embedded defaults with a fault in the issuance pipeline.
// TEST_KILL_AFTER_SIGN=N kills the process (SIGKILL) right after its Nth MSO signature, so the
// crash test sees what a power cut mid-batch leaves behind. Production code has no such switch:
// the fault is an injected PipelineFaults object that only this script passes.
import { applyLocalDefaults, serve } from "@iaca/cli/serve";

const killAfter = Number(process.env.TEST_KILL_AFTER_SIGN ?? 0);
let signed = 0;
applyLocalDefaults();
const running = await serve({
  port: 0,
  dtsPort: 0,
  faults: {
    afterSign: () => {
      if (++signed === killAfter) process.kill(process.pid, "SIGKILL");
    },
  },
});
process.stdout.write(`RA       ${running.raUrl}\nready\n`);
