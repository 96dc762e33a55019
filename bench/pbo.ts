/**
 * PBO by CSCV with S = 16 on a 5,000-day × 1,000-trial return matrix (target ≤ 5 s), side by side with a numpy
 * implementation of the same algorithm (bench/reference/pbo.py) on the same matrix, runs interleaved.
 *
 * Run alone: `deno run -A bench/pbo.ts`.
 *
 * @module
 */

import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";
import { uniformFloat64 } from "pure-rand/distribution/uniformFloat64";
import { probabilityOfBacktestOverfitting } from "../lib/metrics/pbo.ts";
import { type BenchResult, median, minMax, runPython } from "./lib.ts";

const ROWS = 5000;
const COLS = 1000;
const S = 16;

function returnsMatrix(seed: number): Float64Array {
  const rng = xoroshiro128plus(seed);
  const data = new Float64Array(ROWS * COLS);
  for (let i = 0; i < data.length; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - uniformFloat64(rng)));
    const a = 2 * Math.PI * uniformFloat64(rng);
    data[i] = 0.01 * r * Math.cos(a);
    if (i + 1 < data.length) data[i + 1] = 0.01 * r * Math.sin(a);
  }
  // A few trials with a small real edge, so the selection is not pure noise.
  for (let t = 0; t < ROWS; t++) for (let j = 0; j < 10; j++) data[t * COLS + j] += 0.0005;
  return data;
}

/** Benchmark entry point for bench/run.ts. */
export async function run(runs = 3): Promise<BenchResult[]> {
  const data = returnsMatrix(16);
  const file = await Deno.makeTempFile({ suffix: ".f64" });
  try {
    await Deno.writeFile(file, new Uint8Array(data.buffer));
    const script = new URL("./reference/pbo.py", import.meta.url).pathname;
    const ours: number[] = [];
    const theirs: number[] = [];
    let pbo = NaN;
    let refPbo = NaN;
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      const r = probabilityOfBacktestOverfitting({ data, rows: ROWS, cols: COLS }, { groups: S });
      ours.push((performance.now() - t0) / 1000);
      pbo = r.pbo;
      const py = await runPython(script, [file, String(ROWS), String(COLS), String(S)]);
      theirs.push(py.seconds as number);
      refPbo = py.pbo as number;
    }
    const value = median(ours);
    const reference = median(theirs);
    return [{
      name: `PBO CSCV S=${S}, ${ROWS} days x ${COLS} trials`,
      value,
      unit: "s",
      range: minMax(ours),
      reference,
      referenceRange: minMax(theirs),
      ratio: reference / value,
      target: "≤ 5 s",
      pass: value <= 5 && pbo === refPbo,
      notes:
        `median of ${runs} interleaved runs; PBO ${pbo} (numpy reference ${refPbo}); reference = numpy, same algorithm`,
    }];
  } finally {
    await Deno.remove(file);
  }
}

if (import.meta.main) console.table(await run());
