/**
 * `xgboost`: gradient-boosted trees through XGBoost's C library (lib/models/xgboost). The objective follows the
 * study's task (binary:logistic, multi:softprob with 3 classes, reg:squarederror); early stopping on the fold's
 * tail. Missing feature values are passed as missing (no scaling, no filling).
 *
 * Everything the booster reports is kept: the device fallback, the sign-bias check of the training predictions and
 * the SHAP-selection fallback become diagnostics and run warnings; a fold whose early stopping kept a single tree (a
 * near-constant model) is warned.
 *
 * @module
 */

import { z } from "zod";
import { takeRows } from "../../data/matrix.ts";
import { XGBoostModel } from "../../models/xgboost/model.ts";
import { openXGBoost } from "../../models/xgboost/library.ts";
import { defaultThreads, probeParams } from "../../models/xgboost/params.ts";
import { ConfigError } from "../../errors.ts";
import type { DiagnosticRecord } from "../../store/store.ts";
import { band, integer, oneOf, suggest } from "../schema.ts";
import { join } from "node:path";
import type { FoldFitReport, FoldTrainer, SettingProblem, Task, TrainedModel } from "./contract.ts";
import { fittedOn, pick32 } from "./inputs.ts";

/** XGBoost parameters candor sets unless the entry overrides them (XGBoost's own names). */
export const XGBOOST_DEFAULT_PARAMS: Readonly<Record<string, string | number | boolean>> = {
  tree_method: "hist",
  max_depth: 3,
  eta: 0.05,
  subsample: 0.8,
  colsample_bytree: 0.8,
  min_child_weight: 20,
  lambda: 1,
};

const settings = z.strictObject({
  params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]), {
    error: "expected XGBoost parameters under XGBoost's own names, e.g. { max_depth: 4, eta: 0.1 }",
  }).default({}).describe(
    `XGBoost parameters (its own names) over candor's defaults { ${
      Object.entries(XGBOOST_DEFAULT_PARAMS).map(([k, v]) => `${k}: ${v}`).join(", ")
    } }; ` +
      "objective, seed and nthread are candor's; eval_metric, the early-stopping loss, defaults to logloss, " +
      "mlogloss or rmse",
  ),
  numBoostRound: integer().default(400).describe("maximum boosting rounds"),
  earlyStoppingRounds: integer().default(30).describe("stop after this many rounds without a better tail loss"),
  threads: integer().optional().describe(
    "XGBoost threads per fold (default: 1 below 25,000 training rows, where XGBoost's per-round thread " +
      "synchronization costs more than a second core gains; else the cores each fold gets: the machine's cores ÷ the " +
      "folds training at once, at least 1)",
  ),
  foldsAtOnce: integer().optional().describe(
    "most folds trained side by side, each boosting on a thread of its own (default: the machine's cores ÷ " +
      "threads, or every core when threads is unset); each holds its fold's matrices in memory; 1 trains them one " +
      "after another",
  ),
  waitPolicy: oneOf(["passive", "active"]).default("passive").describe(
    "OpenMP wait policy of XGBoost's threads (passive: idle threads sleep; active spins and can slow a busy " +
      "machine 30-fold); read once per process, when the library loads; OMP_WAIT_POLICY in the environment wins",
  ),
  classWeights: oneOf(["none", "balanced"]).default("none").describe(
    "binary: weight rows so both classes weigh the same in the fit (a cure for a sign-biased booster)",
  ),
  positiveShareBand: band(0, 1).default([0.2, 0.8]).describe(
    "binary: accepted share of 'up' calls on the training rows; outside it the fold is warned",
  ),
  selectTopK: integer().optional().describe("keep the k features with the largest mean |SHAP| (fitted in the fold)"),
});

/** Resolved `xgboost` settings. */
export type XGBoostSettings = z.output<typeof settings>;

/** The typed fit report of an XGBoost fold. */
export interface XGBoostFoldReport extends FoldFitReport {
  /** Trees kept (the best iteration, or all rounds without early stopping). */
  trees: number;
  /** XGBoost threads it trained with (`threads`, else the default for its training rows and the folds beside it). */
  threads: number;
  /** Folds of the entry that trained side by side with it, itself included (absent in runs stored before). */
  foldsAtOnce?: number;
  /** Where it trained. */
  device: unknown;
  /** XGBoost library version and path. */
  library: unknown;
  /** The early-stopping loss (`eval_metric`: logloss, mlogloss, rmse unless the entry's params say) and its best value. */
  metric?: string;
  /** The best value of {@link XGBoostFoldReport.metric} on the fold's tail. */
  bestScore?: number;
  /** Share of "up" calls on the training rows (binary). */
  trainPositiveShare?: number;
  /** Columns kept by SHAP selection. */
  selectedColumns?: unknown;
}

/** The diagnostic kind of a booster note. */
function noteKind(note: string): string {
  if (/gpu|cuda|device/i.test(note)) return "device-fallback";
  if (/sign[- ]bias|share of|positive/i.test(note)) return "sign-bias";
  if (/shap|gain importance|feature selection/i.test(note)) return "feature-selection";
  return "model-note";
}

/** The objective candor sets for a task, and the early-stopping loss it uses unless `params.eval_metric` says. */
function objectiveFor(task: string): { objective: Record<string, string | number>; evalMetric: string } {
  if (task === "binary") return { objective: { objective: "binary:logistic" }, evalMetric: "logloss" };
  if (task === "multiclass") {
    return { objective: { objective: "multi:softprob", num_class: 3 }, evalMetric: "mlogloss" };
  }
  return { objective: { objective: "reg:squarederror" }, evalMetric: "rmse" };
}

/** The booster's parameters: candor's defaults, the entry's, then what candor owns (objective, threads, seed). */
function paramsFor(
  s: XGBoostSettings,
  task: Task,
  threads: number,
  seed: number,
): Record<string, string | number | boolean> {
  const { objective, evalMetric } = objectiveFor(task);
  return { ...XGBOOST_DEFAULT_PARAMS, eval_metric: evalMetric, ...s.params, ...objective, nthread: threads, seed };
}

/** Arguments of Python's scikit-learn wrapper that are not XGBoost parameters, with candor's setting. */
const WRAPPER_PARAMS: Readonly<Record<string, string>> = {
  n_estimators: "an argument of Python's XGBClassifier, not an XGBoost parameter: set settings.numBoostRound",
  early_stopping_rounds:
    "an argument of Python's xgb.train, not an XGBoost parameter: set settings.earlyStoppingRounds",
};

/** Parameters candor sets itself, with what to do instead. */
const OWNED_PARAMS: Readonly<Record<string, string>> = {
  objective: "set by candor: the objective follows target.kind (binary:logistic, multi:softprob, reg:squarederror); " +
    "remove it",
  num_class: "set by candor: 3 classes for target.kind direction3; remove it",
  seed: "set by candor: every fold is seeded from the study's seed; remove it and set seed",
  random_state:
    "set by candor (XGBoost's other name for seed): every fold is seeded from the study's seed; remove it " +
    "and set seed",
  nthread: "set by candor from settings.threads; remove it and set threads",
  n_jobs: "set by candor from settings.threads (XGBoost's other name for nthread); remove it and set threads",
};

/** The `xgboost` kind. */
export const xgboostTrainer: FoldTrainer<XGBoostSettings> = {
  kind: "xgboost",
  summary: "gradient-boosted trees (XGBoost C library; hist trees, early stopping on the fold's tail)",
  tasks: ["binary", "multiclass", "regression"],
  settings,
  fitted: (s: XGBoostSettings) => [
    { name: "model fit", rows: "fit" },
    { name: "early-stopping tail", rows: "validation" },
    ...(s.selectTopK === undefined ? [] : [{ name: "SHAP feature selection", rows: "fit" as const }]),
  ],
  check(s, task) {
    const owned = Object.keys(s.params).filter((k) => k in OWNED_PARAMS);
    if (owned.length > 0) return owned.map((k) => ({ path: ["params", k], message: OWNED_PARAMS[k] }));
    const probe = probeParams(paramsFor(s, task, 1, 0), { waitPolicy: s.waitPolicy });
    if (probe === undefined) return []; // no library here: training says so, with the install command
    const problems: SettingProblem[] = [];
    if (probe.refused !== undefined) {
      problems.push({ path: ["params"], message: `XGBoost refused a value: ${probe.refused}` });
    }
    for (const k of probe.unused.filter((k) => k in s.params)) {
      if (k in WRAPPER_PARAMS) {
        problems.push({ path: ["params", k], message: WRAPPER_PARAMS[k] });
        continue;
      }
      const near = suggest(k, probe.used);
      problems.push({
        path: ["params", k],
        message: `XGBoost does not use this parameter${near === undefined ? "" : ` (did you mean "${near}"?)`}, so ` +
          `it would change nothing while the stored configuration says it was set; remove or rename it`,
      });
    }
    return problems;
  },
  foldsAtOnce: (s, cores) => Math.max(1, s.foldsAtOnce ?? Math.floor(cores / (s.threads ?? 1))),
  backend: (s) => {
    const lib = openXGBoost({ waitPolicy: s.waitPolicy });
    return Promise.resolve(`xgboost-c ${lib.version.join(".")} (OpenMP wait ${lib.waitPolicy.toLowerCase()})`);
  },
  async fit(input) {
    const { data, fold, entry, seed } = input;
    const s = entry.settings;
    // New configurations were checked (`check`); a stored one trains as it always did: these three were always
    // refused, the other names candor owns are overridden.
    for (const k of ["objective", "num_class", "seed"]) {
      if (k in s.params) throw new ConfigError(`models: ${entry.name}.settings.params.${k}: ${OWNED_PARAMS[k]}`);
    }
    const { rows } = fold;
    const atOnce = input.foldsAtOnce ?? 1;
    const threads = s.threads ?? defaultThreads(rows.fit.length, navigator.hardwareConcurrency ?? 1, atOnce);
    const yFit = pick32(data.y, rows.fit);
    let sampleWeight: Float32Array | undefined;
    if (s.classWeights === "balanced" && data.task === "binary") {
      let up = 0;
      for (const v of yFit) up += v;
      const wUp = yFit.length / (2 * Math.max(1, up)), wDown = yFit.length / (2 * Math.max(1, yFit.length - up));
      sampleWeight = Float32Array.from(yFit, (v) => (v > 0 ? wUp : wDown));
    }
    const model = new XGBoostModel({
      params: paramsFor(s, data.task, threads, seed),
      numBoostRound: s.numBoostRound,
      earlyStoppingRounds: s.earlyStoppingRounds,
      ...(data.task === "binary" ? { positiveShareBand: s.positiveShareBand as [number, number] } : {}),
      ...(s.selectTopK === undefined ? {} : { selectTopK: s.selectTopK }),
    });
    let kept = false;
    try {
      const validationX = takeRows(data.X, rows.validation);
      const report = await model.fit(takeRows(data.X, rows.fit), yFit, {
        validation: { X: validationX, y: pick32(data.y, rows.validation) },
        ...(sampleWeight === undefined ? {} : { sampleWeight }),
        seed,
        onProgress: input.onProgress,
        // Beside other folds: boost on a thread of its own (the fitting matrix, made here, moves there).
        ...(atOnce > 1 ? { ownThread: true, moveX: true } : {}),
      });
      const test = rows.test.length === 0 ? new Float64Array(0) : model.predict(takeRows(data.X, rows.test));
      const validation = rows.validation.length === 0 ? new Float64Array(0) : model.predict(validationX);
      const d = report.details ?? {};
      const trees = report.bestIteration ?? s.numBoostRound;
      const diagnostics: DiagnosticRecord[] = report.notes.map((note) => ({
        fold: fold.index,
        kind: noteKind(note),
        severity: "warning",
        message: note,
        data: { source: "xgboost" },
      }));
      const warnings = report.notes.map((n) => `${entry.name} fold ${fold.index + 1}: ${n}`);
      if (typeof d.signBiasCheckSkipped === "string") {
        const message = `sign-bias check skipped: ${d.signBiasCheckSkipped}`;
        diagnostics.push({
          fold: fold.index,
          kind: "sign-bias",
          severity: "info",
          message,
          data: { source: "xgboost" },
        });
      }
      const policy = openXGBoost().waitPolicy.toLowerCase();
      if (policy !== s.waitPolicy) {
        const message = `OpenMP wait policy is ${policy}, not ${s.waitPolicy}: the library was loaded earlier in ` +
          `this process (or OMP_WAIT_POLICY says so), and OpenMP reads it once`;
        diagnostics.push({ fold: fold.index, kind: "model-note", severity: "info", message, data: { policy } });
      }
      if (trees <= 1) {
        const message = `early stopping kept ${trees} tree: the booster is close to a constant (its base score); ` +
          `the tail loss never improved after the first round`;
        diagnostics.push({ fold: fold.index, kind: "constant-model", severity: "warning", message, data: { trees } });
        warnings.push(`${entry.name} fold ${fold.index + 1}: ${message}`);
      }
      const health = warnings.length === 0 ? "healthy" : diagnostics.map((x) => x.message).join("; ");
      kept = input.keep === true;
      return {
        ...(kept ? { model: keptBooster(model) } : {}),
        rows,
        validation,
        test,
        report: {
          kind: "xgboost",
          bestIteration: report.bestIteration,
          iterations: trees,
          trees,
          threads,
          foldsAtOnce: atOnce,
          notes: report.notes,
          device: d.device ?? null,
          library: d.library ?? null,
          ...(typeof d.metric === "string" ? { metric: d.metric } : {}),
          ...(typeof d.bestScore === "number" ? { bestScore: d.bestScore } : {}),
          ...(typeof d.trainPositiveShare === "number" ? { trainPositiveShare: d.trainPositiveShare } : {}),
          ...(d.selectedColumns === undefined ? {} : { selectedColumns: d.selectedColumns }),
        } satisfies XGBoostFoldReport,
        fitted: [
          ...fittedOn("model fit", fold.index, rows.fit, data),
          ...fittedOn("early-stopping tail", fold.index, rows.validation, data),
          ...(s.selectTopK === undefined ? [] : fittedOn("SHAP feature selection", fold.index, rows.fit, data)),
        ],
        diagnostics,
        health,
        warnings,
      };
    } finally {
      if (!kept) model.dispose();
    }
  },
  async load(dir) {
    return keptBooster(await XGBoostModel.load(join(dir, MODEL_FILE)));
  },
};

/** The booster's file in a model folder: XGBoost JSON (Python's `xgboost.Booster(model_file=...)` reads it). */
const MODEL_FILE = "xgboost.json";

/** A booster kept for production: raw features in (missing values stay missing), scores out. */
function keptBooster(model: XGBoostModel): TrainedModel {
  return {
    score(data, rows) {
      return { rows, scores: rows.length === 0 ? new Float64Array(0) : model.predict(takeRows(data.X, rows)) };
    },
    async save(dir) {
      await Deno.mkdir(dir, { recursive: true });
      await model.save(join(dir, MODEL_FILE));
    },
    dispose: () => model.dispose(),
  };
}
