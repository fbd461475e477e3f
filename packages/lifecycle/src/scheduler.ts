// The rotation job inside a long-running process (`iaca serve`): croner fires it on a cron pattern,
// overlapping runs are skipped (protect) and across processes the advisory lock serialises them.
import { Cron } from "croner";
import { type RotationDeps, type RotationResult, rotationMetrics, runRotation } from "./rotate.ts";

export interface RotationSchedulerOptions extends RotationDeps {
  /** Cron pattern (croner syntax with seconds, UTC); default DEFAULT_ROTATION_PATTERN (every 15 minutes). */
  pattern?: string;
  /** Called with each result (log it, export rotationMetrics(result)). */
  onResult?: (r: RotationResult) => void;
  /** Called when a run throws (the scheduler keeps running). */
  onError?: (e: unknown) => void;
  /** Run once right away as well (default true). */
  runNow?: boolean;
}

export interface RotationScheduler {
  /** The last result (undefined before the first run). */
  readonly last: RotationResult | undefined;
  /** Prometheus text of the last result ("" before the first run). */
  metrics(): string;
  /** Runs a pass now (also what the cron trigger calls). */
  runOnce(): Promise<RotationResult | undefined>;
  nextRun(): Date | null;
  stop(): void;
}

export const DEFAULT_ROTATION_PATTERN = "0 */15 * * * *";

export function startRotationScheduler(o: RotationSchedulerOptions): RotationScheduler {
  let last: RotationResult | undefined;
  let running: Promise<RotationResult | undefined> | undefined;
  const runOnce = () => {
    running ??= runRotation(o)
      .then((r) => {
        last = r;
        o.onResult?.(r);
        return r;
      })
      .catch((e) => {
        o.onError?.(e);
        return undefined;
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  const job = new Cron(o.pattern ?? DEFAULT_ROTATION_PATTERN, { timezone: "UTC", protect: true, unref: true }, () => {
    void runOnce();
  });
  if (o.runNow !== false) void runOnce();
  return {
    get last() {
      return last;
    },
    metrics: () => (last ? rotationMetrics(last) : ""),
    runOnce,
    nextRun: () => job.nextRun(),
    stop: () => job.stop(),
  };
}
