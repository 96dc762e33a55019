/**
 * A run's stored folds read back as the {@link FoldResult}s the study loop produced, so an entry can be pooled
 * (`finishEntry`) from folds trained elsewhere — by scale-out workers (lib/scaleout/) or before an interruption
 * (resume) — exactly as if they had just been trained here.
 *
 * What comes from where:
 * - the fold's row of the fold table ({@link FoldReport}) from the stored fold and its fit report
 *   ({@link StoredFoldDetails}: tail size, target distribution, health, majority class, warnings); `efficiency` is
 *   left null (pooling sets it), the target statistics get their NaN back (JSON stores them as null), and `fit` is
 *   the stored fit report without those details (a JSON round trip: a NaN inside it reads back as null);
 * - the scores ({@link FoldScores}) from the stored prediction records, mapped back to dataset rows by
 *   (date, symbol): the test record, and the early-stopping tail's record where the store holds one;
 * - `majority` and `warnings` from the fit report.
 *
 * The fit rows are not stored (nothing downstream of a fold reads them): `scores.rows.fit` is empty and the fold's
 * `nTrain` says how many there were.
 *
 * Guards: a stored row that is not a row of this dataset, a record of the wrong width, or baselines that do not
 * recompute to the stored ones on the stored rows (the data or the baseline code changed since the fold was stored)
 * is a StoreError naming the run and fold — pooling folds of another dataset would be a silent, wrong result.
 *
 * @module
 */

import { StoreError } from "../errors.ts";
import type { PredictionSplit, Store, StoredFold, StoredPredictions } from "../store/store.ts";
import { foldBaselines, type FoldScores, type TargetDistribution, type TargetStats } from "./evaluate.ts";
import type { EntryOutcome, FoldResult } from "./entry.ts";
import type { FoldReport } from "./records.ts";
import type { StoredFoldDetails } from "./recorder.ts";
import type { FoldFitReport, StudyData } from "./trainers/contract.ts";

/** Dataset row of each (symbol, date), for mapping stored records back to rows. */
class RowIndex {
  readonly #symbol = new Map<string, number>();
  readonly #date: Map<string, number>;
  readonly #row: Int32Array;
  readonly #nDates: number;

  constructor(data: StudyData) {
    this.#date = new Map(data.axis.map((d, i) => [d, i]));
    this.#nDates = data.axis.length;
    for (const s of data.symbols) if (!this.#symbol.has(s)) this.#symbol.set(s, this.#symbol.size);
    this.#row = new Int32Array(this.#symbol.size * this.#nDates).fill(-1);
    for (let r = 0; r < data.symbols.length; r++) {
      this.#row[this.#symbol.get(data.symbols[r])! * this.#nDates + data.dateIndex[r]] = r;
    }
  }

  /** Rows of a stored record, in its order; refuses a (date, symbol) that is not a row of the dataset. */
  rowsOf(p: StoredPredictions, where: string): Int32Array {
    const out = new Int32Array(p.dates.length);
    for (let i = 0; i < out.length; i++) {
      const s = this.#symbol.get(p.symbols[i]);
      const d = this.#date.get(p.dates[i]);
      const r = s === undefined || d === undefined ? -1 : this.#row[s * this.#nDates + d];
      if (r < 0) {
        throw new StoreError(
          `${where}: stored row ${i} (${p.dates[i]}, ${p.symbols[i]}) is not a row of this study's dataset — the ` +
            `data changed since the fold was stored`,
        );
      }
      out[i] = r;
    }
    return out;
  }
}

/** Equal as stored numbers: NaN equals NaN. */
function sameNumber(a: number | undefined, b: number | undefined): boolean {
  return a === b || (Number.isNaN(a) && Number.isNaN(b));
}

/** Target statistics as stored (JSON: NaN became null) with their NaN back. */
function targetsOf(t: TargetDistribution): TargetDistribution {
  const stats = (x: TargetStats): TargetStats => ({
    ...x,
    n: x.n ?? NaN,
    shareUp: x.shareUp ?? NaN,
    mean: x.mean ?? NaN,
    std: x.std ?? NaN,
    ...(x.classShares === undefined ? {} : { classShares: x.classShares.map((v) => v ?? NaN) }),
  });
  return { fit: stats(t.fit), validation: stats(t.validation), test: stats(t.test) };
}

/** The fold table row of a stored fold (see the module notes). */
function foldReportOf(f: StoredFold): FoldReport {
  const d = f.fitReport as unknown as StoredFoldDetails;
  const {
    nValidation: _nValidation,
    targets: _targets,
    health: _health,
    previousSignBaseline: _previousSign,
    majority: _majority,
    warnings: _warnings,
    ...fit
  } = d;
  return {
    index: f.index,
    train: f.train,
    validation: f.validation,
    test: f.test,
    purge: f.purge,
    embargo: f.embargo,
    nTrain: f.nTrain,
    nValidation: d.nValidation,
    nTest: f.nTest,
    metrics: f.metrics,
    baselines: f.baselines,
    ...(d.bestIteration === undefined || d.bestIteration === null ? {} : { bestIteration: d.bestIteration }),
    health: d.health,
    targets: targetsOf(d.targets),
    efficiency: null,
    ...(d.skipped === undefined ? {} : { skipped: d.skipped }),
    seconds: d.seconds ?? NaN,
    fit: fit as FoldFitReport,
  };
}

/**
 * The stored folds of run `runId` as {@link FoldResult}s over this study's dataset (`data`, with the previous-period
 * values `previous` the baselines use), in fold order. See the module notes for what comes from where and what is
 * refused.
 */
export async function readFoldResults(
  store: Store,
  runId: string,
  data: StudyData,
  previous: Float64Array,
): Promise<FoldResult[]> {
  const [folds, records] = await Promise.all([store.listFolds([runId]), store.listPredictions([runId])]);
  const width = data.task === "multiclass" ? data.classes : 1;
  const index = new RowIndex(data);
  return folds.map((f): FoldResult => {
    const where = `run ${runId}, fold ${f.index}`;
    const d = f.fitReport as unknown as StoredFoldDetails;
    const report = foldReportOf(f);
    const warnings = [...(d.warnings ?? [])];
    const result: FoldResult = { report, majority: d.majority, warnings };
    if (f.nTest === 0 || d.skipped !== undefined) return result;
    const record = (split: PredictionSplit) => {
      const p = records.find((x) => x.fold === f.index && x.split === split);
      if (p === undefined) return undefined;
      if (p.width !== width) {
        throw new StoreError(`${where}: stored ${split} predictions have width ${p.width}, this study's task ${width}`);
      }
      return { rows: index.rowsOf(p, `${where} (${split} predictions)`), scores: Float64Array.from(p.values) };
    };
    const test = record("test");
    if (test === undefined || test.rows.length !== f.nTest) {
      throw new StoreError(
        `${where}: ${f.nTest} test rows were scored but ${test?.rows.length ?? "no"} stored predictions were found`,
      );
    }
    const tail = record("validation");
    if (tail === undefined && d.nValidation > 0) {
      warnings.push(
        `fold ${f.index + 1}: the early-stopping tail's predictions are not stored; its walk-forward efficiency is ` +
          `undefined`,
      );
    }
    const scores: FoldScores = {
      index: f.index,
      rows: { fit: new Int32Array(0), validation: tail?.rows ?? new Int32Array(0), test: test.rows },
      test: test.scores,
      validation: tail?.scores ?? new Float64Array(0),
    };
    // The stored baselines must recompute on the stored rows: otherwise these folds belong to other data.
    const again = foldBaselines(data, previous, test.rows, test.scores, d.majority).baselines;
    for (const [name, value] of Object.entries(again)) {
      if (!sameNumber(value, f.baselines[name])) {
        throw new StoreError(
          `${where}: the ${name} baseline recomputes to ${value} on the stored rows but ${f.baselines[name]} was ` +
            `stored — the data changed since the fold was stored`,
        );
      }
    }
    return { ...result, scores };
  });
}

/**
 * An entry's out-of-sample scores for every dataset row, scattered from its folds' test predictions (NaN where no
 * fold predicted the row), in the shape entries that combine it (stacking) read through `outOfFold`.
 */
export function outOfSampleScores(
  data: StudyData,
  results: readonly FoldResult[],
): Pick<EntryOutcome, "scores" | "width"> {
  const width = data.task === "multiclass" ? data.classes : 1;
  const scores = new Float64Array(data.dates.length * width).fill(NaN);
  for (const { scores: s } of results) {
    if (s === undefined) continue;
    s.rows.test.forEach((r, j) => {
      for (let c = 0; c < width; c++) scores[r * width + c] = s.test[j * width + c];
    });
  }
  return { scores, width };
}
