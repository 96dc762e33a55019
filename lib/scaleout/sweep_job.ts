/**
 * The `sweep-cells` job: a consecutive batch of cells of a sweep over a stored run (`candor sweep --queue`), each
 * backtested in a worker process by exactly the code a local sweep uses (lib/production/sweep.ts: `loadStoredRun`,
 * `planSweep`, `runSweepCells`).
 *
 * - **Inputs**: the run's out-of-sample predictions are read from the shared store (Postgres), its prices from the
 *   absolute path in the job (a filesystem every worker reads at the same path; the files must still have the
 *   study's fingerprint, which `loadStoredRun` checks). The loaded run and its sweep plan are cached per process (one
 *   run, one grid), so the batches after a worker's first one of a sweep only backtest.
 * - **The plan is recomputed** from the grid in the job: it is deterministic, and a worker whose plan has another
 *   number of cells than the coordinator's refuses the job (permanently) rather than return results under the wrong
 *   cell numbers.
 * - **Results go back as the job's return value** ({@link EncodedSweepCell}: the row and the daily net returns, bit for
 *   bit), not to the store: the deflated Sharpe ratio of every cell needs every cell, so the coordinator assembles
 *   the sweep and stores all its trials once, in one transaction (`assembleSweep`, as a local sweep). A retried or
 *   twice-run batch therefore cannot store a trial twice — the trial registry's N counts each cell once. Nothing is
 *   written to the store by this job, so {@link JobHandler.recordFailure} has nothing to record: a batch that fails for
 *   good fails the sweep in the coordinator, with the cell and the error, and no sweep is stored (as when a local
 *   sweep throws).
 * - **Failures**: the message names the cell (number and coordinates); a refused configuration (ConfigError, e.g. a
 *   window holding no prediction of the cell's symbol) is permanent — retrying cannot help.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { ConfigError, LeakageError } from "../errors.ts";
import type { SweepRow } from "../backtest/sweep.ts";
import { loadStoredRun, type StoredRun } from "../production/rebacktest.ts";
import {
  parseSweepGrid,
  planSweep,
  runSweepCells,
  type SweepCellCache,
  type SweepCellResult,
  type SweepPlan,
} from "../production/sweep.ts";
import { sizingLabel } from "../pipeline/sizing.ts";
import type { Store } from "../store/store.ts";
import { checkReadable } from "./fold_job.ts";
import {
  type EncodedSweepCell,
  type JobContext,
  JobError,
  type JobHandler,
  type JobOutcome,
  type SweepCellsJob,
} from "./jobs.ts";

/** JSON has no NaN, ±Infinity or −0: they travel as strings, every other number as itself. */
function encodeNumber(_k: string, v: unknown): unknown {
  if (typeof v !== "number") return v;
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "Infinity";
  if (v === -Infinity) return "-Infinity";
  if (Object.is(v, -0)) return "-0";
  return v;
}

const SPECIAL: Record<string, number> = { NaN: NaN, Infinity: Infinity, "-Infinity": -Infinity, "-0": -0 };

/** Reverses {@link encodeNumber} inside a metrics object. */
function decodeNumbers(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) out[k] = typeof v === "string" && v in SPECIAL ? SPECIAL[v] : v;
  return out;
}

/** A cell's result as a job's return value carries it (see {@link EncodedSweepCell}). */
export function encodeSweepCell(cell: number, r: SweepCellResult): EncodedSweepCell {
  return {
    cell,
    row: JSON.parse(JSON.stringify(r.row, encodeNumber)),
    dates: [...r.dates],
    net: Buffer.from(r.net.buffer, r.net.byteOffset, r.net.byteLength).toString("base64"),
  };
}

/** The cell result an {@link EncodedSweepCell} carries, bit for bit what the worker computed. */
export function decodeSweepCell(e: EncodedSweepCell): SweepCellResult {
  const bytes = Buffer.from(e.net, "base64");
  const net = new Float64Array(bytes.byteLength / 8); // its own, aligned buffer
  new Uint8Array(net.buffer).set(bytes);
  const row = decodeNumbers(e.row) as unknown as SweepRow;
  row.metrics = decodeNumbers(row.metrics as unknown as Record<string, unknown>) as unknown as SweepRow["metrics"];
  row.buyAndHold = decodeNumbers(row.buyAndHold as unknown as Record<string, unknown>) as unknown as SweepRow[
    "buyAndHold"
  ];
  return { row, dates: e.dates, net };
}

/** A cell in words, for error messages. */
export function describeCell(plan: SweepPlan, i: number): string {
  const c = plan.cells[i];
  const w = plan.windows[c.window];
  return `cell ${i} (${c.symbol}, ${w.start}..${w.end}, lag ${c.lag}, ${sizingLabel(c.sizing)}, slippage ` +
    `${c.slippageBps} bps, cost ${c.costBps} bps)`;
}

/** The handler of `sweep-cells` jobs (see the module notes). */
export function sweepCellsHandler(): JobHandler<SweepCellsJob> {
  // The stored run of the last sweep this process worked on (predictions and prices: loaded once per sweep).
  let cached: { key: string; run: Promise<StoredRun>; plans: Map<string, SweepPlan> } | undefined;
  return {
    kind: "sweep-cells",
    prepares: "the run",
    afterFailure: "its coordinator fails the sweep",
    async run(job: SweepCellsJob, ctx: JobContext): Promise<JobOutcome> {
      const t0 = performance.now();
      let stage = "load";
      let prepareMs = 0;
      try {
        const key = JSON.stringify([job.runId, job.dataPath ?? null]);
        let entry = cached;
        if (entry?.key !== key) {
          if (job.dataPath !== undefined) await checkReadable(job.dataPath, ctx.worker, "the swept run's");
          ctx.progress(0, "loading the run's predictions and prices");
          const run = loadStoredRun(ctx.store, job.runId, job.dataPath);
          const fresh = { key, run, plans: new Map<string, SweepPlan>() };
          entry = cached = fresh;
          run.catch(() => {
            if (cached === fresh) cached = undefined;
          });
          await run;
          prepareMs = performance.now() - t0;
        }
        const stored = await entry.run;
        // The plan of a grid is computed once per process (the windows come from every prediction date).
        const gridKey = JSON.stringify(job.grid);
        let plan = entry.plans.get(gridKey);
        if (plan === undefined) {
          plan = planSweep(stored, parseSweepGrid(job.grid));
          entry.plans.clear();
          entry.plans.set(gridKey, plan);
        }
        if (plan.cells.length !== job.cells || job.to > plan.cells.length || job.from < 0 || job.from >= job.to) {
          throw new ConfigError(
            `worker ${ctx.worker} plans ${plan.cells.length} cells for sweep ${job.sweepId}, the coordinator ` +
              `${job.cells} (batch ${job.from}..${job.to}): the run or the grid differs between them`,
          );
        }
        stage = "backtest";
        const tWork = performance.now();
        const cache: SweepCellCache = new Map();
        const cells: EncodedSweepCell[] = [];
        for (let i = job.from; i < job.to; i++) {
          let result: SweepCellResult;
          try {
            [result] = runSweepCells(plan, i, i + 1, cache);
          } catch (e) {
            const cause = e as Error;
            const err = new (e instanceof ConfigError ? ConfigError : Error)(
              `${describeCell(plan, i)}: ${cause.message}`,
              { cause },
            );
            throw new JobError(stage, err, { permanent: e instanceof ConfigError });
          }
          cells.push(encodeSweepCell(i, result));
          // A cell's backtest is synchronous: yield between cells so the job's lock is renewed (a 455-symbol book's
          // batch would otherwise block the event loop longer than the lock, and look stalled).
          await new Promise((resolve) => setTimeout(resolve, 0));
          ctx.progress((i + 1 - job.from) / (job.to - job.from), `cell ${i + 1} of ${job.cells}`);
        }
        return {
          outcome: "written",
          worker: ctx.worker,
          ms: { prepare: prepareMs, work: performance.now() - tWork, store: 0, total: performance.now() - t0 },
          cells,
        };
      } catch (e) {
        if (e instanceof JobError) throw e;
        throw new JobError(stage, e, { permanent: e instanceof ConfigError || e instanceof LeakageError });
      }
    },
    recordFailure(_job: SweepCellsJob, _error: JobError, _store: Store): Promise<void> {
      return Promise.resolve(); // nothing of the sweep is stored before it is assembled (module notes)
    },
  };
}
