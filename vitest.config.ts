import { defineConfig } from "vitest/config";

// Each test file runs in its own forked process: SoftHSM reads SOFTHSM2_CONF at
// C_Initialize and a PKCS#11 module is initialised once per process, so a file
// gets its own token directory and its own database without sharing state.
export default defineConfig({
  test: {
    pool: "forks",
    include: ["packages/*/test/**/*.test.ts", "apps/*/test/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    globalSetup: ["test/support/global-setup.ts"],
  },
});
