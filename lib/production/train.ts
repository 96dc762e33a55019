/**
 * Production training: each gate-passing entry of a study retrained on all labelled data and registered.
 *
 * - **The gate decides.** An entry whose study gate failed (no edge over its strongest naive baseline, or a
 *   walk-forward efficiency below the threshold) is refused, with the gate's numbers, unless the gate is skipped
 *   (`--skip-gate` or `gate.skip`), which is stored with the model.
 * - **Same rules as the folds.** One production "fold" over every date with a label: the last `validationFraction`
 *   of the dates is the early-stopping tail, `purge` dates before it dropped, the rest fitted — the rule every study
 *   fold used; anything fitted sees the fitting rows only, and the fitted windows go through the same configuration
 *   gate. A stack's meta-learner is fitted on its bases' out-of-fold predictions from the study (never on the bases'
 *   in-sample production scores), and its bases are retrained as components of the same model.
 * - **Everything needed to predict is kept** (lib/production/model.ts): the components' files, scalers, the feature
 *   list and saved definitions, target statistics, the win-rate prior of the production fit (its tail's direction
 *   accuracy and the fitting rows' share of positive targets), the sizing rule, the configuration, the data
 *   fingerprint and the candor version — in a model folder (default `data/models/<id>/`) and a `models` row.
 *
 * @module
 */

import { join } from "node:path";
import { ConfigError } from "../errors.ts";
import { ensureOutputDir } from "../data/files.ts";
import type { ModelEntry, StudyConfig } from "../pipeline/config.ts";
import type { PreparedStudy } from "../pipeline/study.ts";
import type { FeatureSelection, Market } from "../pipeline/data.ts";
import { configurationGate, type FoldPlan, MIN_FIT_DATES, rowsForDates } from "../pipeline/plan.ts";
import type { FamilyVerdict, Gate } from "../pipeline/evaluate.ts";
import { targetDistribution } from "../pipeline/evaluate.ts";
import { directionAccuracy, priorOf, shareUp } from "../pipeline/backtest.ts";
import { trainerOf } from "../pipeline/trainers/registry.ts";
import type {
  FoldOutput,
  OutOfFoldPredictions,
  PlannedFold,
  StudyData,
  TrainedModel,
} from "../pipeline/trainers/contract.ts";
import { windowsOfRows } from "../pipeline/trainers/inputs.ts";
import { carveValidationTail, makeFold } from "../validation/purge.ts";
import { CANDOR_VERSION } from "../version.ts";
import { newModelId } from "../store/run_id.ts";
import type { Store } from "../store/store.ts";
import { saveFeature } from "./features.ts";
import { type Calibrator, fitIsotonic } from "../models/calibration/calibration.ts";
import { MODEL_FORMAT, type ModelComponent, type ModelManifest, writeManifest } from "./model.ts";

/** Default folder of production models. */
export const DEFAULT_MODELS_DIR = "data/models";

/** An entry's gate as the study recorded it. */
export interface EntryGate {
  /** The gate. */
  gate: Gate;
  /** The entry's run in the study, when stored. */
  runId?: string;
  /** Its verdict as one of the study's tests (Holm's correction over its entries), when the study had two or more. */
  family?: FamilyVerdict;
}

/** The parts of a study production training reads: prices, features, dataset, plan. */
export interface ProductionStudy {
  /** The prices, where they came from, their fingerprint. */
  market: Pick<Market, "panel" | "source" | "fingerprint">;
  /** The features selected (built-in definitions and file columns). */
  selection: FeatureSelection;
  /** The dataset every entry trained on. */
  data: StudyData;
  /** Feature names in column order. */
  features: string[];
  /** The study's fold plan. */
  plan: FoldPlan;
}

/** The production view of a prepared study. */
export function productionStudy(p: Pick<PreparedStudy, "market" | "selection" | "prepared" | "plan">): ProductionStudy {
  return {
    market: p.market,
    selection: p.selection,
    data: p.prepared.data,
    features: p.prepared.features,
    plan: p.plan,
  };
}

/** What production training needs. */
export interface ProductionInput {
  /** The resolved study configuration. */
  config: StudyConfig;
  /** The study's prices, features, dataset and plan. */
  study: ProductionStudy;
  /** The study's gate per entry name. */
  gates: ReadonlyMap<string, EntryGate>;
  /** The study's id, when stored. */
  studyId?: string;
  /** The study's out-of-sample scores per entry over the dataset rows (for stacks). */
  oof: OutOfFoldPredictions;
  /** Train only this entry (default: every gate-passing entry). */
  only?: string;
  /** Train entries whose gate failed anyway (stored with the model). */
  skipGate?: boolean;
  /** Where to register the models; omitted → folders only. */
  store?: Store;
  /** Folder of model folders (default {@link DEFAULT_MODELS_DIR}). */
  modelsDir?: string;
  /** Progress lines. */
  onProgress?: (message: string) => void;
}

/** A trained and registered production model. */
export interface ProductionModel {
  /** Model id. */
  id: string;
  /** Its folder. */
  path: string;
  /** The manifest written there. */
  manifest: ModelManifest;
}

/** What production training did. */
export interface ProductionResult {
  /** Models trained and registered. */
  models: ProductionModel[];
  /** Entries refused by their gate (with the gate's reason). */
  refused: { name: string; reason: string }[];
}

/** Out-of-sample scores for entries that combine others, built from stitched (row, score) pairs per entry. */
export function outOfFoldFrom(
  plan: FoldPlan,
  data: StudyData,
  entries: ReadonlyMap<string, { rows: ArrayLike<number>; scores: ArrayLike<number> }>,
): OutOfFoldPredictions {
  const foldOfRow = new Int32Array(data.dates.length).fill(-1);
  for (const f of plan.folds) for (const r of f.rows.test) foldOfRow[r] = f.index;
  const cache = new Map<string, { scores: Float64Array; width: number }>();
  const get = (name: string) => {
    let c = cache.get(name);
    if (c === undefined) {
      const e = entries.get(name);
      if (e === undefined) throw new ConfigError(`no out-of-sample predictions of entry ${name} in the study`);
      const width = e.rows.length === 0 ? 1 : e.scores.length / e.rows.length;
      const scores = new Float64Array(data.dates.length * width).fill(NaN);
      for (let i = 0; i < e.rows.length; i++) {
        for (let k = 0; k < width; k++) scores[e.rows[i] * width + k] = e.scores[i * width + k];
      }
      c = { scores, width };
      cache.set(name, c);
    }
    return c;
  };
  return { foldOfRow, scores: (n) => get(n).scores, width: (n) => get(n).width };
}

/**
 * The production fold over every date with a label: the last `validationFraction` of the dates as the
 * early-stopping tail, `purge` dates before it dropped, the rest fitted; no test window. `index` follows the study's
 * folds, so a stack fits on out-of-sample predictions of every study fold.
 */
export function productionFold(data: StudyData, v: StudyConfig["validation"], index: number): PlannedFold {
  const all = Int32Array.from({ length: data.axis.length }, (_, i) => i);
  const { fit, validation } = carveValidationTail(all, v.validationFraction, v.purge);
  if (fit.length < MIN_FIT_DATES) {
    throw new ConfigError(
      `production fit: ${fit.length} fitting dates after the early-stopping tail and its purge; at least ` +
        `${MIN_FIT_DATES} are needed`,
    );
  }
  const fold = makeFold(index, data.axis, fit, new Int32Array(0), {
    horizon: data.horizon,
    purge: v.purge,
    embargo: 0,
  }, validation);
  const n = data.axis.length;
  return {
    index,
    fold,
    rows: {
      fit: rowsForDates(data.dateIndex, fit, n),
      validation: rowsForDates(data.dateIndex, validation, n),
      test: new Int32Array(0),
    },
  };
}

/** The entry and the entries it combines, bases first (in the study's training order). */
function componentsOf(config: StudyConfig, name: string): ModelEntry[] {
  const byName = new Map(config.models.map((m) => [m.name, m]));
  const need = new Set<string>();
  const visit = (n: string) => {
    if (need.has(n)) return;
    const e = byName.get(n);
    if (e === undefined) throw new ConfigError(`entry ${n} is not in the study`);
    for (const b of e.base ?? []) visit(b);
    need.add(n);
  };
  visit(name);
  return config.models.filter((m) => need.has(m.name));
}

/** Retrains the selected entries on all labelled data and registers them (see the module notes). */
export async function trainProduction(input: ProductionInput): Promise<ProductionResult> {
  const { config, study } = input;
  const data = study.data;
  const names = config.models.map((m) => m.name);
  if (input.only !== undefined && !names.includes(input.only)) {
    throw new ConfigError(`--model: no entry ${JSON.stringify(input.only)} in the study; entries: ${names.join(", ")}`);
  }
  const skip = input.skipGate === true || config.gate.skip;
  const refused: { name: string; reason: string }[] = [];
  const selected: string[] = [];
  for (const name of input.only === undefined ? names : [input.only]) {
    const g = input.gates.get(name);
    if (g === undefined) {
      refused.push({ name, reason: "the study has no gate for this entry (it failed or was not trained)" });
    } else if (!g.gate.passed && !skip) {
      refused.push({
        name,
        reason: `gate failed — ${g.gate.reason} (walk-forward efficiency ${
          g.gate.wfe === null ? "undefined" : g.gate.wfe.toFixed(2)
        }, threshold ${g.gate.threshold}); train anyway with --skip-gate, which is stored with the model`,
      });
    } else selected.push(name);
  }
  if (selected.length === 0) {
    throw new ConfigError(
      `refusing to train a production model: ${refused.map((r) => `${r.name}: ${r.reason}`).join("; ")}`,
    );
  }
  if (input.only !== undefined && refused.length > 0) {
    throw new ConfigError(`refusing to train ${input.only}: ${refused[0].reason}`);
  }
  ensureOutputDir(input.modelsDir ?? DEFAULT_MODELS_DIR, "models folder (--models-dir)"); // before training, not after
  const fold = productionFold(data, config.validation, study.plan.folds.length);
  const progress = input.onProgress ?? (() => {});
  const trained = new Map<string, { model: TrainedModel; out: FoldOutput }>();
  const models: ProductionModel[] = [];
  try {
    for (const name of selected) {
      const components = componentsOf(config, name);
      for (const c of components) {
        if (trained.has(c.name)) continue;
        progress(
          `${c.name}: fitting on ${fold.rows.fit.length} rows, early stopping on ${fold.rows.validation.length}`,
        );
        const trainer = trainerOf(c.kind)!;
        const out = await trainer.fit({
          entry: { name: c.name, kind: c.kind, settings: c.settings, base: c.base, meta: c.meta },
          data,
          fold,
          seed: config.seed,
          oof: input.oof,
          keep: true,
        });
        if (out.model === undefined) {
          const why = (out.report as { skipped?: string }).skipped ?? "the kind returned no model";
          throw new ConfigError(`${c.name}: the production fit produced no model: ${why}`);
        }
        trained.set(c.name, { model: out.model, out });
        // The windows the fit actually used must lie inside the production fold (a bug here would be a leak).
        configurationGate(data.horizon, { scheme: study.plan.scheme, folds: [fold] }, out.fitted);
      }
      models.push(await register(input, name, components, trained));
    }
  } finally {
    for (const t of trained.values()) t.model.dispose();
  }
  return { models, refused };
}

async function register(
  input: ProductionInput,
  name: string,
  components: ModelEntry[],
  trained: Map<string, { model: TrainedModel; out: FoldOutput }>,
): Promise<ProductionModel> {
  const { config, study } = input;
  const data = study.data;
  const main = trained.get(name)!.out;
  const id = newModelId();
  const path = join(input.modelsDir ?? DEFAULT_MODELS_DIR, id);
  const holdoutAccuracy = directionAccuracy(data, main.rows.validation, main.validation);
  const trainShareUp = shareUp(data, main.rows.fit);
  const targets = targetDistribution(data, main.rows);
  const gate = input.gates.get(name)!;
  const skipped = !gate.gate.passed;
  const dates = Array.from(main.rows.fit, (r) => data.dates[r]).concat(
    Array.from(main.rows.validation, (r) => data.dates[r]),
  );
  dates.sort();
  const entry = config.models.find((m) => m.name === name)!;
  const manifest: ModelManifest = {
    calibration: data.task === "binary" ? calibrationOf(data, input.oof.scores(name)) : null,
    format: MODEL_FORMAT,
    id,
    name,
    kind: entry.kind,
    task: data.task,
    classes: data.classes,
    target: config.target,
    components: components.map((c): ModelComponent => ({
      name: c.name,
      kind: c.kind,
      settings: c.settings,
      ...(c.base === undefined ? {} : { base: c.base }),
      ...(c.meta === undefined ? {} : { meta: c.meta }),
      dir: `entries/${c.name}`,
      fit: JSON.parse(JSON.stringify(trained.get(c.name)!.out.report)),
    })),
    features: {
      names: [...study.features],
      builtIn: study.selection.builtIn.map(saveFeature),
      columns: [...study.selection.columns],
    },
    backtest: config.backtest,
    winRatePrior: { holdoutAccuracy, trainShareUp, prior: priorOf(holdoutAccuracy, trainShareUp) },
    targetStats: { fit: targets.fit, validation: targets.validation },
    trainedOn: {
      from: dates[0],
      to: dates[dates.length - 1],
      lastPriceDate: study.market.panel.dates[study.market.panel.dates.length - 1],
      fit: windowsOfRows(main.rows.fit, data),
      validation: windowsOfRows(main.rows.validation, data),
      rows: { fit: main.rows.fit.length, validation: main.rows.validation.length },
    },
    symbols: [...study.market.panel.symbols],
    config,
    dataFingerprint: study.market.fingerprint,
    dataSource: study.market.source,
    version: CANDOR_VERSION,
    study: {
      id: input.studyId ?? null,
      runId: gate.runId ?? null,
      gate: gate.gate,
      skipGate: skipped,
      ...(gate.family === undefined ? {} : { family: gate.family }),
    },
    createdAt: new Date().toISOString(),
  };
  try {
    for (const c of components) await trained.get(c.name)!.model.save(join(path, `entries/${c.name}`));
    await writeManifest(path, manifest);
    await input.store?.registerModel({
      id,
      name,
      kind: entry.kind,
      path,
      studyId: input.studyId ?? null,
      runId: gate.runId ?? null,
      config: config as unknown as Record<string, unknown>,
      features: manifest.features.names,
      dataFingerprint: manifest.dataFingerprint,
      dataSource: manifest.dataSource,
      version: CANDOR_VERSION,
      targetKind: config.target.kind,
      horizon: config.target.horizon,
      trainedFrom: manifest.trainedOn.from,
      trainedTo: manifest.trainedOn.to,
      lastPriceDate: manifest.trainedOn.lastPriceDate,
      symbols: manifest.symbols,
      gate: gate.gate as unknown as Record<string, unknown>,
      skipGate: skipped,
      summary: JSON.parse(JSON.stringify({
        components: components.map((c) => c.name),
        winRatePrior: manifest.winRatePrior,
        targetStats: manifest.targetStats,
        sizing: config.backtest.sizing,
        portfolio: config.backtest.portfolio,
        rows: manifest.trainedOn.rows,
      })),
    });
  } catch (e) {
    // Nothing half-registered: a folder without a record (or a record without its files) is removed.
    await Deno.remove(path, { recursive: true }).catch(() => {});
    throw e;
  }
  return { id, path, manifest };
}

/**
 * The isotonic calibration of P(up) on an entry's out-of-fold predictions (each from a model that never saw its row)
 * against the realized direction; reduced to the ends of its constant blocks, which keeps the same piecewise-linear
 * function. Null with fewer than 50 such rows.
 */
function calibrationOf(data: StudyData, oof: Float64Array): ModelManifest["calibration"] {
  const rows: number[] = [];
  for (let r = 0; r < data.dates.length; r++) {
    if (Number.isFinite(oof[r]) && Number.isFinite(data.target[r])) rows.push(r);
  }
  if (rows.length < 50) return null;
  const fitted = fitIsotonic(rows.map((r) => oof[r]), rows.map((r) => (data.target[r] > 0 ? 1 : 0)));
  if (fitted.kind !== "isotonic") return null;
  const dates = rows.map((r) => data.dates[r]).sort();
  return {
    method: "isotonic",
    rows: rows.length,
    from: dates[0],
    to: dates[dates.length - 1],
    calibrator: compact(fitted),
  };
}

/**
 * An isotonic calibrator reduced to the first and last point of each constant block: the same piecewise-linear
 * function (inside a block it is constant; between blocks it interpolates between their facing ends), with as many
 * points as blocks rather than distinct predictions.
 */
export function compact(c: Extract<Calibrator, { kind: "isotonic" }>): Extract<Calibrator, { kind: "isotonic" }> {
  const x: number[] = [], y: number[] = [];
  c.x.forEach((v, i) => {
    const first = i === 0 || c.y[i - 1] !== c.y[i];
    const last = i === c.x.length - 1 || c.y[i + 1] !== c.y[i];
    if (first || last) {
      x.push(v);
      y.push(c.y[i]);
    }
  });
  return { kind: "isotonic", x, y };
}
