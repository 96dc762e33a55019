/**
 * Run configuration for the validate → backtest → store pipeline.
 *
 * A config is plain JSON: it is stored verbatim with every run, so a run can be reproduced from its record.
 * `resolveConfig` fills defaults and validates; every problem is a ConfigError that names the field.
 *
 * @module
 */

import type { BackendRequest } from "../models/nn/backend.ts"; // type only: no tfjs is loaded for XGBoost runs
import { ConfigError } from "../errors.ts";

/** The built-in synthetic market. */
export interface SyntheticSourceConfig {
  /** Selects the built-in synthetic market. */
  kind: "synthetic";
  /** Number of symbols. */
  symbols: number;
  /** Trading days. */
  days: number;
  /** "planted": an observable driver of next-day returns; "random-walk": nothing is predictable. */
  mode: "planted" | "random-walk";
  /** Strength of the planted driver (generator units; see lib/data/synthetic.ts). Default: the generator's. */
  signalStrength?: number;
  /** Seed of the generator. */
  seed: number;
}

/** Price files: a CSV / CSV.gz / Parquet file or a folder of them. */
export interface FilesSourceConfig {
  /** Selects price files. */
  kind: "files";
  /** A `.csv`, `.csv.gz` or `.parquet` file, or a folder of them (see `loadPanel`). */
  path: string;
  /** Keep only these symbols (all when absent). */
  symbols?: string[];
}

/** Where prices come from: the built-in synthetic market, or price files. */
export type DataSourceConfig = SyntheticSourceConfig | FilesSourceConfig;

/** XGBoost settings (XGBoost's own parameter names in `params`). */
export interface XGBoostConfig {
  /** Selects XGBoost (the default model). */
  kind: "xgboost";
  /** XGBoost parameters under XGBoost's own names (objective, max_depth, eta, ...); the run's seed overrides `seed`. */
  params: Record<string, string | number | boolean>;
  /** Maximum boosting rounds. */
  numBoostRound: number;
  /** Stop when the validation loss has not improved for this many rounds. */
  earlyStoppingRounds: number;
}

/** Settings shared by the neural models (lib/models/nn); see README "Neural models". */
export interface NeuralTrainingConfig {
  /** Maximum training epochs per fold. */
  epochs: number;
  /** Rows per gradient step. */
  batchSize: number;
  /** Adam learning rate (constant). */
  learningRate: number;
  /** Stop when the validation-tail loss has not improved for this many epochs; the best epoch's weights are kept. */
  patience: number;
  /** Global gradient-norm clipping threshold (the pre-clip norm is logged every epoch). */
  clipNorm: number;
  /** tfjs backend request; absent = `TFJS_BACKEND`, else `auto`. The backend actually used is stored with the run. */
  backend?: BackendRequest;
}

/** A multi-layer perceptron on each row's standardized features (binary classifier, P(up) out). */
export interface MLPConfig extends NeuralTrainingConfig {
  /** Selects the MLP. */
  kind: "mlp";
  /** Hidden layer widths. */
  hidden: number[];
}

/**
 * An LSTM classifier on per-symbol sliding windows of the last `timesteps` standardized feature rows (oldest first).
 * Rows without `timesteps` rows of history for their symbol are dropped — from fitting, from the early-stopping tail
 * and from the test window alike (so fold metrics and baselines are computed on the rows actually predicted).
 */
export interface LSTMConfig extends NeuralTrainingConfig {
  /** Selects the LSTM. */
  kind: "lstm";
  /** Window length in trading days. */
  timesteps: number;
  /** LSTM hidden units. */
  units: number;
}

/** The model a run trains: XGBoost (default), an MLP or an LSTM. */
export type ModelConfig = XGBoostConfig | MLPConfig | LSTMConfig;

/** The model kinds a run can train. */
export const MODEL_KINDS: readonly ModelConfig["kind"][] = ["xgboost", "mlp", "lstm"];

/** A partial model config: `kind` picks the model (default "xgboost"), anything omitted takes that model's default. */
export type ModelConfigInput =
  | (Partial<XGBoostConfig> & { kind?: "xgboost" })
  | (Partial<MLPConfig> & { kind: "mlp" })
  | (Partial<LSTMConfig> & { kind: "lstm" });

/** The full, resolved pipeline configuration. */
export interface PipelineConfig {
  /** Where the prices come from. */
  data: DataSourceConfig;
  /** Label horizon in trading days: the target at t is log(adj_close[t+h] / adj_close[t]). */
  horizon: number;
  /** Number of walk-forward test folds. */
  folds: number;
  /** Dates dropped between training and test (and between fitting and validation); ≥ horizon. */
  purge: number;
  /** Dates dropped after each test window (walk-forward folds never train after their test, so 0 is usual). */
  embargo: number;
  /** Share of each fold's training dates held out at its end for early stopping. */
  validationFraction: number;
  /** Built-in feature names; empty = the default base set. */
  features: string[];
  /**
   * Extra numeric columns of the price files used as features (user-supplied, precomputed): "all" (default), "none",
   * or a list. They pass the leakage audit's predictiveness and lead/lag checks before training.
   */
  columns: "all" | "none" | string[];
  /** The model trained in every fold, with its settings. */
  model: ModelConfig;
  /** How the stitched out-of-sample predictions are backtested (conventions stored with the run). */
  backtest: {
    /** Days between the decision (close of t) and the first return earned; ≥ 1. */
    lag: number;
    /** Commission per unit of turnover, in basis points. */
    costBps: number;
    /** Slippage per unit of turnover, in basis points. */
    slippageBps: number;
    /** "long-short": +1/N when P(up) > 0.5, −1/N otherwise; "long-only": +1/N or flat. */
    portfolio: "long-short" | "long-only";
    /** Periods per year for annualized figures. */
    annualization: number;
  };
  /** Seed for every random choice (model subsampling). */
  seed: number;
  /** Train even when the leakage audit finds leaking features (stored with the run). */
  allowLeakage: boolean;
}

/** A partial config: anything omitted takes its default. */
export interface PipelineConfigInput {
  /** Price source; default the synthetic market (20 × 2520, planted, seed 42). */
  data?: (Partial<SyntheticSourceConfig> & { kind?: "synthetic" }) | FilesSourceConfig;
  /** See {@link PipelineConfig.horizon} (default 1). */
  horizon?: number;
  /** See {@link PipelineConfig.folds} (default 5). */
  folds?: number;
  /** See {@link PipelineConfig.purge} (default = horizon; less is refused). */
  purge?: number;
  /** See {@link PipelineConfig.embargo} (default 0). */
  embargo?: number;
  /** See {@link PipelineConfig.validationFraction}; in (0, 0.5). */
  validationFraction?: number;
  /** See {@link PipelineConfig.features} (default: the base set). */
  features?: string[];
  /** See {@link PipelineConfig.columns} (default "all"). */
  columns?: "all" | "none" | string[];
  /** Model kind and settings; omitted settings take that model's defaults, unknown ones are refused. */
  model?: ModelConfigInput;
  /** Backtest conventions; omitted ones take their defaults (lag 1, 5 bps, long-short, 252). */
  backtest?: Partial<PipelineConfig["backtest"]>;
  /** See {@link PipelineConfig.seed} (default 42). */
  seed?: number;
  /** See {@link PipelineConfig.allowLeakage} (default false). */
  allowLeakage?: boolean;
}

/**
 * Defaults of the neural models: small enough that the demo-sized market (20 symbols × 2520 days, 5 folds) trains in
 * seconds (MLP) to half a minute (LSTM) on two cores (README "The candor command" gives the measured times).
 */
export const DEFAULT_NEURAL: { mlp: MLPConfig; lstm: LSTMConfig } = {
  mlp: {
    kind: "mlp",
    hidden: [32, 16],
    epochs: 20,
    batchSize: 256,
    learningRate: 1e-3,
    patience: 4,
    clipNorm: 1,
  },
  lstm: {
    kind: "lstm",
    timesteps: 10,
    units: 16,
    epochs: 10,
    batchSize: 256,
    learningRate: 2e-3,
    patience: 3,
    clipNorm: 1,
  },
};

/** Defaults of the demo: 20 synthetic symbols × 10 years with a planted signal, 5-fold walk-forward, 1-day target. */
export const DEFAULT_CONFIG: PipelineConfig = {
  data: { kind: "synthetic", symbols: 20, days: 2520, mode: "planted", seed: 42 },
  horizon: 1,
  folds: 5,
  purge: 1,
  embargo: 0,
  validationFraction: 0.15,
  features: [],
  columns: "all",
  model: {
    kind: "xgboost",
    params: {
      objective: "binary:logistic",
      eval_metric: "logloss",
      tree_method: "hist",
      max_depth: 3,
      eta: 0.05,
      subsample: 0.8,
      colsample_bytree: 0.8,
      min_child_weight: 20,
      lambda: 1,
      nthread: 2,
    },
    numBoostRound: 400,
    earlyStoppingRounds: 30,
  },
  backtest: { lag: 1, costBps: 5, slippageBps: 0, portfolio: "long-short", annualization: 252 },
  seed: 42,
  allowLeakage: false,
};

function positiveInt(value: number, field: string, min = 1): number {
  if (!Number.isInteger(value) || value < min) {
    throw new ConfigError(`${field} must be an integer ≥ ${min}, got ${value}`);
  }
  return value;
}

function finiteNonNegative(value: number, field: string): number {
  if (!Number.isFinite(value) || value < 0) throw new ConfigError(`${field} must be a finite number ≥ 0, got ${value}`);
  return value;
}

function positiveFinite(value: number, field: string): number {
  if (!(typeof value === "number" && Number.isFinite(value) && value > 0)) {
    throw new ConfigError(`${field} must be a finite number > 0, got ${value}`);
  }
  return value;
}

/**
 * The settings each model kind accepts (besides `kind`). Anything else in a model config is refused: a misspelt or
 * foreign setting (`epochs` for XGBoost, `timesteps` for the MLP) would otherwise be stored with the run as if it had
 * been used.
 */
export const MODEL_SETTINGS: Readonly<Record<ModelConfig["kind"], readonly string[]>> = {
  xgboost: ["params", "numBoostRound", "earlyStoppingRounds"],
  mlp: ["epochs", "batchSize", "learningRate", "patience", "clipNorm", "backend", "hidden"],
  lstm: ["epochs", "batchSize", "learningRate", "patience", "clipNorm", "backend", "timesteps", "units"],
};

/** The given settings without `undefined` values (an `undefined` setting means "use the default"). */
function definedSettings(input: object | undefined): Record<string, unknown> {
  return Object.fromEntries(Object.entries(input ?? {}).filter(([, v]) => v !== undefined));
}

/** Refuses settings the model kind does not have, naming the setting, the kinds it belongs to and the allowed ones. */
function refuseUnknownSettings(kind: ModelConfig["kind"], given: Record<string, unknown>): void {
  const allowed = MODEL_SETTINGS[kind];
  for (const key of Object.keys(given)) {
    if (key === "kind" || allowed.includes(key)) continue;
    const owners = MODEL_KINDS.filter((k) => MODEL_SETTINGS[k].includes(key));
    throw new ConfigError(
      `model.${key} is ${
        owners.length === 0 ? "not a model setting" : `a setting of ${owners.join(" and ")}, not of ${kind}`
      }; ${kind} accepts: kind, ${allowed.join(", ")}`,
    );
  }
}

/**
 * Fills a model config's defaults for its kind and validates it. An unknown kind, a setting the kind does not have
 * (see {@link MODEL_SETTINGS}) or an invalid value is a ConfigError; a setting given as `undefined` takes its default.
 */
export function resolveModel(input: ModelConfigInput | undefined): ModelConfig {
  const kind = input?.kind ?? "xgboost";
  if (kind === "xgboost") {
    const xgb = DEFAULT_CONFIG.model as XGBoostConfig;
    const given = definedSettings(input) as Partial<XGBoostConfig>;
    refuseUnknownSettings(kind, given);
    const model: XGBoostConfig = {
      ...xgb,
      ...given,
      params: { ...xgb.params, ...(given.params ?? {}) },
      kind: "xgboost",
    };
    positiveInt(model.numBoostRound, "model.numBoostRound");
    positiveInt(model.earlyStoppingRounds, "model.earlyStoppingRounds");
    return model;
  }
  if (kind !== "mlp" && kind !== "lstm") {
    throw new ConfigError(`model.kind must be one of ${MODEL_KINDS.join(", ")}; got ${JSON.stringify(kind)}`);
  }
  const given = definedSettings(input);
  refuseUnknownSettings(kind, given);
  const model = { ...DEFAULT_NEURAL[kind], ...given, kind } as MLPConfig | LSTMConfig;
  positiveInt(model.epochs, "model.epochs");
  positiveInt(model.batchSize, "model.batchSize");
  positiveFinite(model.learningRate, "model.learningRate");
  positiveInt(model.patience, "model.patience");
  positiveFinite(model.clipNorm, "model.clipNorm");
  if (model.backend !== undefined && !["auto", "tensorflow", "wasm", "cpu"].includes(model.backend)) {
    throw new ConfigError(
      `model.backend must be auto, tensorflow, wasm or cpu; got ${JSON.stringify(model.backend)}`,
    );
  }
  if (model.kind === "mlp") {
    if (!Array.isArray(model.hidden) || model.hidden.length === 0) {
      throw new ConfigError(
        `model.hidden must be a non-empty list of layer widths, got ${JSON.stringify(model.hidden)}`,
      );
    }
    model.hidden = model.hidden.map((w, i) => positiveInt(w, `model.hidden[${i}]`));
  } else {
    positiveInt(model.timesteps, "model.timesteps");
    positiveInt(model.units, "model.units");
  }
  return model;
}

/**
 * Fills defaults and validates. The purge defaults to the horizon and may never be shorter (a shorter purge lets
 * training labels overlap the test window); the lag must be ≥ 1 (same-bar trading is look-ahead).
 */
export function resolveConfig(input: PipelineConfigInput = {}): PipelineConfig {
  const d = DEFAULT_CONFIG;
  const horizon = positiveInt(input.horizon ?? d.horizon, "horizon");
  const data = input.data?.kind === "files"
    ? { kind: "files" as const, path: String(input.data.path ?? ""), symbols: input.data.symbols }
    : {
      ...(d.data as Extract<DataSourceConfig, { kind: "synthetic" }>),
      ...(input.data ?? {}),
      kind: "synthetic" as const,
    };
  if (data.kind === "files" && data.path === "") throw new ConfigError("data.path is required for file data");
  if (data.kind === "synthetic") {
    positiveInt(data.symbols, "data.symbols");
    positiveInt(data.days, "data.days", 60);
    if (data.mode !== "planted" && data.mode !== "random-walk") {
      throw new ConfigError(`data.mode must be "planted" or "random-walk", got ${JSON.stringify(data.mode)}`);
    }
  }
  const purge = positiveInt(input.purge ?? horizon, "purge", 0);
  if (purge < horizon) {
    throw new ConfigError(
      `purge (${purge}) is shorter than the label horizon (${horizon}): training labels would overlap the test ` +
        `window. Use purge ≥ ${horizon}.`,
    );
  }
  const validationFraction = input.validationFraction ?? d.validationFraction;
  if (!(validationFraction > 0 && validationFraction < 0.5)) {
    throw new ConfigError(`validationFraction must be in (0, 0.5), got ${validationFraction}`);
  }
  const model = resolveModel(input.model);
  const backtest = { ...d.backtest, ...(input.backtest ?? {}) };
  positiveInt(backtest.lag, "backtest.lag");
  finiteNonNegative(backtest.costBps, "backtest.costBps");
  finiteNonNegative(backtest.slippageBps, "backtest.slippageBps");
  positiveInt(backtest.annualization, "backtest.annualization");
  if (backtest.portfolio !== "long-short" && backtest.portfolio !== "long-only") {
    throw new ConfigError(
      `backtest.portfolio must be "long-short" or "long-only", got ${JSON.stringify(backtest.portfolio)}`,
    );
  }
  return {
    data,
    horizon,
    folds: positiveInt(input.folds ?? d.folds, "folds", 2),
    purge,
    embargo: positiveInt(input.embargo ?? d.embargo, "embargo", 0),
    validationFraction,
    features: [...(input.features ?? d.features)],
    columns: Array.isArray(input.columns) ? [...input.columns] : input.columns ?? d.columns,
    model,
    backtest,
    seed: positiveInt(input.seed ?? d.seed, "seed", 0),
    allowLeakage: input.allowLeakage ?? d.allowLeakage,
  };
}
