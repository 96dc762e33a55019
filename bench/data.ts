/**
 * Data-layer performance, measured side by side with a pandas reference (bench/reference/data.py):
 *
 * - loading the real S&P 500 folder (455 `.csv.gz` files, 2.16 M rows) into a validated Panel, against pandas doing
 *   the same reads, the same checks and the same sort (target ≤ 5 s on 2 cores);
 * - loading 2 symbols out of that folder (only their files are read);
 * - generating the default synthetic market (20 symbols × 2,520 days, with its theoretical accuracy).
 *
 * Rounds alternate candor and pandas; medians are reported; ratio = pandas time / candor time (> 1: candor faster).
 * Skipped (no rows) when the real-data folder is absent.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { type BenchResult, median, minMax, runPython, timeRuns } from "./lib.ts";
import { loadPanel } from "../lib/data/load.ts";
import { syntheticMarket } from "../lib/data/synthetic.ts";
import { realDataDir } from "../tests/_helpers/real_data.ts";

/** Runs the benchmark and returns its rows. */
export async function run(): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  const dir = realDataDir();
  if (dir === undefined) {
    console.error("bench/data: real-data folder absent (set CANDOR_REAL_DATA); load benchmarks skipped");
  } else {
    const script = fileURLToPath(new URL("./reference/data.py", import.meta.url));
    const mine: number[] = [];
    const ref: number[] = [];
    let rows = 0;
    await loadPanel(dir); // warm-up: polars initialization, file cache
    for (let round = 0; round < 3; round++) {
      mine.push(
        ...await timeRuns(
          async () => {
            rows = (await loadPanel(dir)).frame.height;
          },
          1,
          0,
        ),
      );
      const py = await runPython(script, ["bench", dir]);
      if (py.rows !== rows) throw new Error(`pandas loaded ${py.rows} rows, candor ${rows}`);
      ref.push(py.load_s as number);
    }
    const value = median(mine);
    const reference = median(ref);
    out.push({
      name: `loadPanel S&P 500 folder (455 files, ${(rows / 1e6).toFixed(2)} M rows)`,
      value,
      unit: "s",
      range: minMax(mine),
      reference,
      referenceRange: minMax(ref),
      ratio: reference / value,
      target: "≤ 5 s",
      pass: value <= 5,
      notes: "median of 3, alternating; reference = pandas read_csv + same checks + sort; ratio = pandas / candor",
    });
    const two = await timeRuns(() => loadPanel(dir, { symbols: ["AAPL", "MSFT"] }), 5, 1);
    out.push({
      name: "loadPanel 2 symbols from the S&P 500 folder",
      value: median(two),
      unit: "s",
      range: minMax(two),
      notes: "median of 5",
    });
  }
  const synth = await timeRuns(() => syntheticMarket(), 5, 1);
  out.push({
    name: "syntheticMarket default (20 × 2,520, planted, with theoretical accuracy)",
    value: median(synth),
    unit: "s",
    range: minMax(synth),
    notes: "median of 5",
  });
  return out;
}

if (import.meta.main) console.table(await run());
