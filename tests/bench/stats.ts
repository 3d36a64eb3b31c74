// Number formatting and order statistics shared by the benchmarks in tests/bench.

export function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

export const median = (xs: number[]) => quantile(xs, 0.5);
export const fmt = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : "-");
export const ratio = (x: number) => (Number.isFinite(x) ? `${x.toFixed(2)}x` : "-");
export const pad = (s: string, n: number) => s.padEnd(n);
export const lpad = (s: string, n: number) => s.padStart(n);

/** The first line a tool prints about its version (stdout, else stderr). */
export function version(argv: string[]): string {
  const r = Bun.spawnSync(argv, { stderr: "pipe" });
  return (r.stdout.toString() || r.stderr.toString()).split("\n")[0]!.trim();
}
