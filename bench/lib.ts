/**
 * Shared benchmark plumbing: timing with medians, running Python reference implementations side by side, and the
 * result rows `deno task bench` writes to bench/results.json.
 *
 * Performance targets are ratios against reference implementations measured in the same run (the machines are
 * noisy), never timed assertions in `deno test`.
 *
 * @module
 */

/** One machine-readable benchmark result. `ratio` is reference time / candor time for speed (> 1: candor faster),
 * or as documented in `notes` for other units. */
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  /** Smallest and largest of the runs `value` is the median of (README shows them as the run-to-run range). */
  range?: [number, number];
  reference?: number;
  /** The same for the reference. */
  referenceRange?: [number, number];
  ratio?: number;
  target?: string;
  pass?: boolean;
  notes?: string;
}

/** Median of a list of numbers. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Smallest and largest of a list of numbers (a benchmark's run-to-run range). */
export function minMax(xs: number[]): [number, number] {
  return [Math.min(...xs), Math.max(...xs)];
}

/** A run-to-run range as text, `min–max` with `digits` decimals (for a benchmark's notes). */
export function rangeText(xs: number[], digits: number): string {
  return `${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}`;
}

/** Runs `fn` `warmup` times untimed, then `runs` times, returning every wall time in seconds. */
export async function timeRuns(fn: () => unknown | Promise<unknown>, runs = 5, warmup = 1): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push((performance.now() - t0) / 1000);
  }
  return times;
}

/**
 * Runs a Python reference script with Debian's interpreter (`/usr/bin/python3`, one BLAS thread) and parses the JSON
 * object it prints on its last stdout line.
 */
export async function runPython(script: string, args: string[] = [], env: Record<string, string> = {}): Promise<
  Record<string, unknown>
> {
  const cmd = new Deno.Command("/usr/bin/python3", {
    args: [script, ...args],
    env: { OPENBLAS_NUM_THREADS: "1", OMP_NUM_THREADS: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  });
  const out = await cmd.output();
  const stdout = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) {
    throw new Error(`${script} failed (${out.code}): ${new TextDecoder().decode(out.stderr)}`);
  }
  const last = stdout.split("\n").at(-1) ?? "{}";
  return JSON.parse(last);
}
