// Runs once before all test files. Per-file resources (databases, SoftHSM tokens) are made by
// the helpers in this folder, so test files never share state.
export default function setup(): void {
  process.env.PRISMA_HIDE_UPDATE_MESSAGE = "1";
}
