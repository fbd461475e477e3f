// Runs once before all test files. Per-file resources (databases, SoftHSM tokens) are made by
// the helpers in this folder, so test files never share state.
import { sweepStaleTestDatabases } from "./db.ts";

export default async function setup(): Promise<void> {
  process.env.PRISMA_HIDE_UPDATE_MESSAGE = "1";
  // Databases left by crashed runs (freshDatabase names carry their creation time).
  await sweepStaleTestDatabases().catch((e: Error) => {
    console.warn(`global-setup: could not sweep stale test databases: ${e.message}`);
  });
}
