// Minimal types for autocannon (it ships none), as bench/dts.ts uses it.
declare module "autocannon" {
  interface AutocannonResult {
    requests: { average: number; mean: number; total: number };
    latency: { p50: number; p99: number };
    non2xx: number;
    errors: number;
  }
  function autocannon(opts: {
    url: string;
    connections?: number;
    duration?: number;
    pipelining?: number;
  }): Promise<AutocannonResult>;
  export default autocannon;
}
