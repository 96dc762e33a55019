/**
 * The fold plan of a study: the folds of its validation scheme on the study's date axis, the dataset rows of each
 * fold's fitting part, early-stopping tail and test window, and the configuration gate over every entry's fitted
 * windows.
 *
 * Schemes (lib/validation):
 * - `anchored` / `rolling`: walk-forward test windows tiling the end of the data (every date from the first test date
 *   on is tested once); training before each test window, `purge` dates apart. The early-stopping tail is the last
 *   `validationFraction` of each training window, purged from the fitting part.
 * - `three-way`: one fold, train | purge | validation | purge | test (default 60/20/20); the validation part is the
 *   early-stopping tail.
 * - `purged-kfold`: K contiguous test blocks, training on both sides minus purge and embargo (model selection only:
 *   its backtest trades with models that saw the future, and the study says so).
 * - `cpcv`: C(N, k) splits of N date groups, each testing k groups; φ = C(N−1, k−1) backtest paths.
 *
 * Every fold must leave at least {@link MIN_FIT_DATES} fitting dates; fewer is refused before anything is trained or
 * stored, with the numbers found.
 *
 * @module
 */

import { walkForwardSplits } from "../validation/walk_forward.ts";
import { type CpcvSplits, cpcvSplits, purgedKFoldSplits, threeWaySplit } from "../validation/splits.ts";
import { carveValidationTail, makeFold } from "../validation/purge.ts";
import type { Fold } from "../validation/fold.ts";
import { checkConfiguration, type ConfigurationFinding, type FittedTransformRecord } from "../leakage/configuration.ts";
import { ConfigError, LeakageError } from "../errors.ts";
import type { StudyConfig } from "./config.ts";
import type { FittedSpec, FoldRows, PlannedFold, StudyData } from "./trainers/contract.ts";
import { fittedOn } from "./trainers/inputs.ts";

/** The fewest fitting dates a fold may have: below this a model has too little history to learn anything from. */
export const MIN_FIT_DATES = 60;

/** A study's folds and, for CPCV, its backtest paths. */
export interface FoldPlan {
  /** The scheme the folds come from. */
  scheme: StudyConfig["validation"]["scheme"];
  /** Folds with their dataset rows. */
  folds: PlannedFold[];
  /** CPCV: the splits (groups, paths); absent for other schemes. */
  cpcv?: CpcvSplits;
}

/** Dataset rows whose date index is in `dateIdx`. */
export function rowsForDates(dateIndex: Int32Array, dateIdx: ArrayLike<number>, nDates: number): Int32Array {
  const wanted = new Uint8Array(nDates);
  for (let i = 0; i < dateIdx.length; i++) wanted[dateIdx[i]] = 1;
  let n = 0;
  for (let r = 0; r < dateIndex.length; r++) n += wanted[dateIndex[r]];
  const out = new Int32Array(n);
  let k = 0;
  for (let r = 0; r < dateIndex.length; r++) if (wanted[dateIndex[r]]) out[k++] = r;
  return out;
}

/** The splitter's folds for the configured scheme, each with an early-stopping tail. */
function splitFolds(axis: readonly string[], v: StudyConfig["validation"], horizon: number): {
  folds: Fold[];
  cpcv?: CpcvSplits;
} {
  const purge = { horizon, purge: v.purge, embargo: v.embargo };
  const withTail = (folds: Fold[]): Fold[] =>
    folds.map((f) => {
      const { fit, validation } = carveValidationTail(f.trainIndices, v.validationFraction, v.purge);
      return makeFold(f.index, axis, fit, f.testIndices, { ...purge, embargo: f.embargo }, validation);
    });
  switch (v.scheme) {
    case "anchored":
    case "rolling": {
      const folds = walkForwardSplits(axis, {
        ...purge,
        embargo: 0,
        mode: v.scheme,
        folds: v.folds,
        ...(v.testDays === undefined ? {} : { testSize: v.testDays }),
        ...(v.trainDays === undefined ? {} : { trainSize: v.trainDays }),
        ...(v.step === undefined ? {} : { step: v.step }),
        validation: v.validationFraction,
      });
      const test = folds[0].testIndices.length;
      if (v.step !== undefined && v.step < test) {
        throw new ConfigError(
          `validation.step: ${v.step} is shorter than the test window (${test} dates): test windows would overlap ` +
            `and rows be predicted twice; use step ≥ ${test}`,
        );
      }
      return { folds };
    }
    case "three-way":
      return {
        folds: [threeWaySplit(axis, { ...purge, embargo: 0, ...v.split })],
      };
    case "purged-kfold":
      return { folds: withTail(purgedKFoldSplits(axis, { ...purge, folds: v.folds })) };
    case "cpcv": {
      const cpcv = cpcvSplits(axis, { ...purge, groups: v.groups, testGroups: v.testGroups });
      return { folds: withTail(cpcv.folds), cpcv };
    }
  }
}

/**
 * The fold plan over the study's dataset. Refuses (ConfigError) a fold with fewer than {@link MIN_FIT_DATES} fitting
 * dates or without rows in any part.
 */
export function planFolds(data: StudyData, v: StudyConfig["validation"]): FoldPlan {
  const { folds, cpcv } = splitFolds(data.axis, v, data.horizon);
  const n = data.axis.length;
  const planned = folds.map((fold): PlannedFold => {
    const rows: FoldRows = {
      fit: rowsForDates(data.dateIndex, fold.trainIndices, n),
      validation: rowsForDates(data.dateIndex, fold.validationIndices ?? [], n),
      test: rowsForDates(data.dateIndex, fold.testIndices, n),
    };
    const fitDates = fold.trainIndices.length;
    if (fitDates < MIN_FIT_DATES) {
      throw new ConfigError(
        `fold ${fold.index + 1} of the ${v.scheme} plan has ${fitDates} fitting dates (${
          fold.train.map((w) => `${w.start}..${w.end}`).join(", ")
        }); at least ${MIN_FIT_DATES} are needed. The data has ${n} dates with a target: use fewer folds, a shorter ` +
          `horizon or purge, or more data`,
      );
    }
    for (const [part, r] of Object.entries(rows)) {
      if (r.length === 0) {
        throw new ConfigError(`fold ${fold.index + 1} of the ${v.scheme} plan has no ${part} rows; use more data`);
      }
    }
    return { index: fold.index, fold, rows };
  });
  return { scheme: v.scheme, folds: planned, ...(cpcv === undefined ? {} : { cpcv }) };
}

/** The planned fitted windows of one entry's fitted things over every fold (for the configuration gate). */
export function plannedFitted(
  entry: string,
  specs: readonly FittedSpec[],
  plan: FoldPlan,
  data: StudyData,
): FittedTransformRecord[] {
  return plan.folds.flatMap((f) =>
    specs.flatMap((s) =>
      fittedOn(`${entry}: ${s.name}`, f.index, s.rows === "fit" ? f.rows.fit : f.rows.validation, data)
    )
  );
}

/**
 * The configuration gate: purge ≥ horizon, and every fitted window inside its fold's training period (fitting part
 * plus early-stopping tail). Returns every finding; a `leak` throws LeakageError whatever `allowLeakage` says (the
 * override covers leaking features only).
 */
export function configurationGate(
  horizon: number,
  plan: FoldPlan,
  fitted: readonly FittedTransformRecord[],
): ConfigurationFinding[] {
  const folds = plan.folds.map((p) => p.fold);
  const findings = checkConfiguration({
    horizon,
    purge: Math.min(...folds.map((f) => f.purge)),
    folds: folds.map((f) => ({ index: f.index, train: [...f.train, ...(f.validation ?? [])], test: f.test })),
    fitted,
  });
  const leaks = findings.filter((f) => f.verdict === "leak");
  if (leaks.length > 0) {
    throw new LeakageError(
      `refusing to train: the split or a fit lets test information in: ` +
        leaks.map((f) => `${f.subject}: ${f.reason}`).join("; ") +
        ". This is a configuration error, not a feature, so --allow-leakage does not override it.",
    );
  }
  return findings;
}
