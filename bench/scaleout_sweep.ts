/**
 * Sweep-on-the-queue benchmark: what one sweep cell costs against what one job costs, to choose how many cells a
 * `sweep-cells` job carries (`candor sweep --queue --cells-per-job N`).
 *
 * A stored run (a logistic model on a synthetic market of `CANDOR_BENCH_SWEEP_SYMBOLS` symbols × 1,500 days, default
 * 100) is swept over the same grid
 * (the book and 4 symbols × yearly windows × 2 lags × 2 costs) locally, then on the queue with one `candor worker`
 * process on this machine at several batch sizes, in interleaved rounds. Reported (medians, ranges over rounds):
 * - a cell's backtest (ms per cell, the portfolio and single-symbol cells together; the stored run loaded once);
 * - the whole sweep's wall time locally and on the queue per batch size;
 * - the queue's cost per job: (T(1 cell per job) − T(all cells in one job)) / (jobs difference) — BullMQ's round
 *   trips, the job's return value (each cell's row and daily net returns), the coordinator's reading it back.
 *
 * Needs redis-server and Postgres (Debian's; the same throwaway services the tests use). `CANDOR_BENCH_SWEEP_ROUNDS`
 * (default 3) sets the rounds.
 *
 * @module
 */

import { join } from "node:path";
import { runStudy } from "../lib/pipeline/study.ts";
import { loadStoredRun } from "../lib/production/rebacktest.ts";
import { parseSweepGrid, planSweep, runSweepCells, sweepRun } from "../lib/production/sweep.ts";
import { sweepOnQueue } from "../lib/scaleout/sweep_coordinator.ts";
import { openStore } from "../lib/store/mod.ts";
import { freshDatabase, scaleoutServices, startRedis, startWorkerProcess } from "../tests/scaleout/_services.ts";
import { type BenchResult, median, rangeText } from "./lib.ts";

const SYMBOLS = Number(Deno.env.get("CANDOR_BENCH_SWEEP_SYMBOLS") ?? 100);
const ROUNDS = Number(Deno.env.get("CANDOR_BENCH_SWEEP_ROUNDS") ?? 3);
const BATCHES = [1, 4, 16, 60];

/** The book and the first 4 symbols × yearly windows × 2 lags × 2 costs (symbols set from the run). */
const GRID = { windows: "yearly", lags: [1, 2], costBps: [0, 10], pboGroups: 8 };

/** Runs the benchmark; returns its rows. */
export async function run(): Promise<BenchResult[]> {
  const services = await scaleoutServices();
  if ("skip" in services) throw new Error(`scaleout_sweep bench: ${services.skip}`);
  const redis = await startRedis();
  const db = await freshDatabase(services.postgresUrl);
  const store = openStore(db.url);
  const tmp = await Deno.makeTempDir({ prefix: "candor-bench-sweep-" });
  const worker = await startWorkerProcess("bench", redis.url, db.url, [], [], 30);
  try {
    const r = await runStudy({
      data: { synthetic: { symbols: SYMBOLS, days: 1500, seed: 7 } },
      validation: { folds: 3 },
      models: [{ name: "lin", kind: "logistic" }],
    }, { store });
    const runId = r.report.entries[0].runId!;
    const names = r.panel.symbols;
    const grid = parseSweepGrid({ ...GRID, symbols: ["portfolio", ...names.slice(0, 4)] });
    const local: number[] = [];
    const perCell: number[] = [];
    const plan = planSweep(await loadStoredRun(store, runId), grid);
    const queued = new Map<number, number[]>(BATCHES.map((b) => [b, []]));
    let cells = 0;
    for (let round = 0; round < ROUNDS; round++) {
      let t = performance.now();
      runSweepCells(plan);
      perCell.push((performance.now() - t) / plan.cells.length);
      t = performance.now();
      const l = await sweepRun(store, runId, grid, { save: false });
      local.push((performance.now() - t) / 1000);
      cells = l.rows.length;
      for (const b of BATCHES) {
        t = performance.now();
        await sweepOnQueue({
          store,
          queue: redis.url,
          runId,
          grid,
          save: false,
          cellsPerJob: Math.min(b, cells),
          pollMs: 50,
          outDir: join(tmp, "out"),
        });
        queued.get(b)!.push((performance.now() - t) / 1000);
      }
    }
    const jobsOf = (b: number) => Math.ceil(cells / Math.min(b, cells));
    const perJob = [...Array(ROUNDS).keys()].map((i) =>
      1000 * (queued.get(1)![i] - queued.get(BATCHES.at(-1)!)![i]) / (jobsOf(1) - jobsOf(BATCHES.at(-1)!))
    );
    const rows: BenchResult[] = [
      {
        name: `a sweep cell's backtest, ${SYMBOLS}-symbol run (book and single-symbol cells together)`,
        value: median(perCell),
        unit: "ms",
        notes: `range ${rangeText(perCell, 1)} ms`,
      },
      {
        name: `sweep of ${cells} cells, ${SYMBOLS}-symbol run: local (load, plan, backtests, PBO)`,
        value: median(local),
        unit: "s",
        notes: `range ${rangeText(local, 2)} s`,
      },
    ];
    for (const b of BATCHES) {
      const xs = queued.get(b)!;
      rows.push({
        name: `the same on the queue, 1 worker, ${Math.min(b, cells)} cell(s) per job (${jobsOf(b)} jobs)`,
        value: median(xs),
        unit: "s",
        notes: `range ${rangeText(xs, 2)} s`,
      });
    }
    rows.push({
      name: "queue cost per sweep-cells job (round trips, return value, read back)",
      value: median(perJob),
      unit: "ms",
      notes: `range ${rangeText(perJob, 1)} ms`,
    });
    return rows;
  } finally {
    worker.kill();
    await worker.done();
    await store.close();
    await redis.stop();
    await db.drop();
    await Deno.remove(tmp, { recursive: true });
  }
}

if (import.meta.main) console.log(JSON.stringify(await run(), null, 2));
