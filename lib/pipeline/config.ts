/**
 * The study configuration: one fold plan, any number of model entries trained on exactly the same rows.
 *
 * A config is YAML or JSON (`candor run --config study.yaml`) or an object in code; {@link resolveStudyConfig} fills
 * every default and validates it against one schema ({@link StudyConfigSchema}: the TypeScript type and the
 * validation are one declaration). Every problem is a ConfigError naming the path, what was expected and what was
 * found, e.g. `models[1].settings.units: expected a positive integer, found "abc"`. The resolved config is stored with
 * the study and printed by `candor run --dry-run`, so a study can be reproduced from its record.
 *
 * ```yaml
 * data: { path: prices/ }                      # or { synthetic: ... }; default: the built-in synthetic market
 * target: { kind: direction, horizon: 1 }      # direction | direction3 | return | excess
 * validation: { scheme: rolling, folds: 3, trainDays: 1000 }
 * features: base                               # base | full | [names] | { set, columns, exclude }
 * models:
 *   - { name: gbm, kind: xgboost }
 *   - { name: mlp, kind: mlp, settings: { epochs: 5 } }
 *   - { name: stack, kind: stacking, base: [gbm, mlp], meta: elasticnet }
 * backtest: { costBps: 5 }
 * ```
 *
 * The keys, their defaults and units are documented field by field below and in README ("Study configuration").
 *
 * @module
 */

import { z } from "zod";
import type * as Yaml from "yaml";
import { lazy, lazyNamespace, lazyPackage } from "../lazy_package.ts";
import { ConfigError } from "../errors.ts";
import { FEATURE_REGISTRY } from "../features/catalog.ts";
import {
  band,
  closedInterval,
  flag,
  formatPath,
  integer,
  nonNegative,
  oneOf,
  openInterval,
  parseWith,
  positive,
  suggest,
  text,
} from "./schema.ts";
import { modelKinds, trainerOf } from "./trainers/registry.ts";
import { checkSizing, portfolioSchema, sizingSchema } from "./sizing.ts";
import type { Task } from "./trainers/contract.ts";

/** yaml, loaded on first use (lib/lazy_package.ts). */
const YAML: typeof Yaml = lazyNamespace(lazyPackage<typeof Yaml>("yaml"));

/** Columns of price files that are not features by nature (yfinance's corporate-action columns); excluded by default. */
export const NON_FEATURE_COLUMNS: readonly string[] = ["Dividends", "Stock Splits", "dividends", "stock_splits"];

/** The largest commission or slippage accepted, in basis points per unit of turnover (100 % of the traded value). */
export const MAX_COST_BPS = 10_000;

/** `data` for price files: `{ path, symbols }`. */
const filesData = z.strictObject({
  path: text().describe("a .csv / .csv.gz / .parquet file or a folder of them"),
  symbols: z.array(text(), { error: "expected a list of symbols" }).optional().describe(
    "keep only these symbols (default: all)",
  ),
});

/** `data.synthetic`: the built-in synthetic market. */
const syntheticMarket = z.strictObject({
  symbols: integer().default(20).describe("number of symbols"),
  days: integer(60).default(2520).describe("trading days"),
  mode: oneOf(["planted", "random-walk"]).default("planted").describe(
    "planted: an observable driver of next-day returns; random-walk: nothing is predictable",
  ),
  seed: integer(0).default(42).describe("seed of the generator"),
  signalStrength: positive().optional().describe("strength of the planted driver (default: the generator's)"),
  drift: z.number({ error: "expected a number" }).optional().describe(
    "daily log-return drift (default 0.0002); a larger one makes a bull market where always-long looks accurate",
  ),
});

/**
 * The data source a resolved configuration holds (and the store keeps): the documented `data` tagged by its kind,
 * `{ kind: "files", path, symbols? }` or `{ kind: "synthetic", symbols, days, mode, seed, … }`.
 */
export type DataSource =
  | ({ kind: "files" } & z.output<typeof filesData>)
  | ({ kind: "synthetic" } & z.output<typeof syntheticMarket>);

/**
 * `data` as documented — `{ path, symbols }` or `{ synthetic: { … } }` — from the tagged form a resolved configuration
 * holds ({@link DataSource}); anything else is returned as it is.
 */
export function documentedData(data: unknown): unknown {
  if (data === null || typeof data !== "object" || Array.isArray(data) || !("kind" in data)) return data;
  const { kind, ...rest } = data as Record<string, unknown>;
  if (kind === "files") return rest;
  if (kind === "synthetic") return { synthetic: rest };
  return data;
}

/**
 * `data`: price files (`{ path, symbols }`) or the built-in synthetic market (`{ synthetic: { … } }`, the default).
 * The tagged form of a resolved configuration (a stored study's) is read as the documented one, so problems are named
 * by the documented keys (`data.synthetic.days`).
 */
const dataSchema = z.preprocess(
  documentedData,
  z.strictObject({
    path: filesData.shape.path.optional(),
    symbols: z.array(text(), {
      error: "expected a list of symbols (the number of symbols of the synthetic market is data.synthetic.symbols)",
    }).optional(),
    synthetic: syntheticMarket.optional(),
  }, { error: "expected { path: PRICES } or { synthetic: { symbols, days, mode, seed } }" }).transform(
    (d, ctx): DataSource => {
      if (d.path !== undefined && d.synthetic !== undefined) {
        ctx.issues.push({
          code: "custom",
          message: "expected price files (path) or the synthetic market (synthetic), not both",
          input: undefined, // reported as written
          path: [],
        });
        return z.NEVER;
      }
      if (d.path !== undefined) {
        return { kind: "files", path: d.path, ...(d.symbols === undefined ? {} : { symbols: d.symbols }) };
      }
      if (d.symbols !== undefined) {
        ctx.issues.push({
          code: "custom",
          message: "expected together with data.path (it keeps only these symbols of the price files)",
          input: d.symbols,
          path: ["symbols"],
        });
        return z.NEVER;
      }
      return { kind: "synthetic", ...(d.synthetic ?? syntheticMarket.parse({})) };
    },
  ),
);

const flatBand = z.union([
  z.strictObject({ absolute: nonNegative().describe("half-width of the FLAT band in log-return units") }),
  z.strictObject({
    volatility: nonNegative().describe("half-width in trailing volatilities: k · σ_t · √h"),
    window: integer(2).default(20).describe("trailing window of σ_t (daily log returns up to t)"),
  }),
], { error: "expected { absolute: width } or { volatility: k, window: days }" });

const targetSchema = z.strictObject({
  kind: oneOf(["direction", "direction3", "return", "excess"]).default("direction").describe(
    "direction: up vs not (binary); direction3: DOWN/FLAT/UP; return: the h-day log return; excess: its excess " +
      "over the equal-weight market",
  ),
  horizon: integer().default(1).describe("h in trading days: the target at t is log(adj_close[t+h] / adj_close[t])"),
  flat: flatBand.default({ volatility: 0.5, window: 20 }).describe("direction3: the FLAT band"),
});

const validationSchema = z.strictObject({
  scheme: oneOf(["anchored", "rolling", "three-way", "purged-kfold", "cpcv"]).default("anchored").describe(
    "anchored or rolling walk-forward, a 60/20/20 three-way split, purged k-fold, or CPCV",
  ),
  folds: integer(2).default(5).describe("test windows (anchored, rolling) or blocks (purged-kfold)"),
  testDays: integer().optional().describe("anchored/rolling: dates per test window (default: from folds)"),
  trainDays: integer().optional().describe("rolling: training window in dates (default: the first fold's)"),
  step: integer().optional().describe("rolling: dates between test windows (default: the test window)"),
  purge: integer(0).optional().describe("dates dropped between training and test (default: the horizon; never less)"),
  embargo: integer(0).default(0).describe("dates dropped after each test window (purged-kfold, cpcv)"),
  validationFraction: openInterval(0, 0.5).default(0.15).describe(
    "share of each fold's training dates held out at its end for early stopping (not three-way)",
  ),
  split: z.strictObject({
    train: openInterval(0, 1).default(0.6).describe("three-way: share of the dates for fitting"),
    validation: openInterval(0, 1).default(0.2).describe("three-way: share for the validation part (early stopping)"),
    test: openInterval(0, 1).default(0.2).describe("three-way: share for the test part"),
  }).default({ train: 0.6, validation: 0.2, test: 0.2 }).describe("three-way: shares of the dates"),
  groups: integer(2).default(6).describe("cpcv: date groups N"),
  testGroups: integer().default(2).describe("cpcv: test groups per split k"),
});

const featureSet = z.union([oneOf(["base", "full"]), z.array(text(), { error: "expected a list of feature names" })], {
  error: "expected base, full or a list of feature names",
});

const featuresObject = z.strictObject({
  set: featureSet.default("base").describe("built-in features: base (12), full (191) or a list of names"),
  columns: z.union([oneOf(["all", "none"]), z.array(text())], {
    error: "expected all, none or a list of column names",
  }).default("all").describe(
    "extra numeric columns of the price files used as features: all, none, or a list",
  ),
  exclude: z.array(text()).default([]).describe(
    "extra columns never used (Dividends and Stock Splits are excluded unless listed in columns)",
  ),
});

const featuresSchema = z.preprocess(
  (v) => (typeof v === "string" || Array.isArray(v) ? { set: v } : v),
  featuresObject,
);

const entrySchema = z.strictObject({
  name: text().optional().describe("unique name within the study (default: the kind)"),
  kind: text().describe("model kind (candor models lists them)"),
  settings: z.record(z.string(), z.unknown(), { error: "expected an object of settings" }).default({}).describe(
    "settings of the kind (candor models lists them with their defaults)",
  ),
  base: z.array(text(), { error: "expected a list of entry names" }).optional().describe(
    "stacking: the entries whose out-of-fold predictions it combines",
  ),
  meta: oneOf(["elasticnet", "xgboost"]).optional().describe("stacking: the meta-learner (default elasticnet)"),
});

const backtestSchema = z.strictObject({
  lag: integer().default(1).describe("days between the decision (close of t) and the first return earned; ≥ 1"),
  costBps: closedInterval(0, MAX_COST_BPS).default(5).describe("commission per unit of turnover, basis points"),
  slippageBps: closedInterval(0, MAX_COST_BPS).default(0).describe("slippage per unit of turnover, basis points"),
  borrowBps: closedInterval(0, MAX_COST_BPS).default(0).describe("annual borrow rate on short positions, basis points"),
  portfolio: portfolioSchema.default("long-short").describe(
    "long-short: equal sleeves 1/N holding the sized positions (sign: ±1/N); long-only: shorts flat; or " +
      "{ kind: topk, k, nDrop, short }",
  ),
  sizing: sizingSchema.default({ kind: "sign" }).describe(
    "per-symbol sizing: sign, forecast-over-sigma, vol-target, kelly, hybrid or the preset seed-aapl (Sizing rules)",
  ),
  annualization: integer().default(252).describe("periods per year for annualized figures"),
});

const gateSchema = z.strictObject({
  wfeThreshold: z.number({ error: "expected a number" }).default(0.5).describe(
    "walk-forward efficiency a gate-passing entry must reach (test edge / validation-tail edge)",
  ),
  skip: flag().default(false).describe("override a failed gate for production (stored with the study)"),
});

const healthSchema = z.strictObject({
  upShareBand: band(0, 1).default([0.2, 0.8]).describe(
    "accepted share of 'up' calls per fold and pooled (direction3: the most-called class's share, held to the " +
      "upper end); outside it the entry is warned",
  ),
});

/**
 * The parts of the configuration, for documentation generated from the schema (tools/config_docs.ts): each key's
 * type, default and meaning come from the declarations above.
 */
export const STUDY_CONFIG_PARTS: Readonly<Record<string, z.ZodObject>> = {
  "data (files)": filesData,
  "data (synthetic)": syntheticMarket,
  target: targetSchema,
  validation: validationSchema,
  features: featuresObject,
  "models[]": entrySchema,
  backtest: backtestSchema,
  gate: gateSchema,
  health: healthSchema,
};

/** The whole study configuration (YAML/JSON or code). */
export const StudyConfigSchema = z.strictObject({
  name: text().optional().describe("a name for the study (shown in candor runs)"),
  data: dataSchema.default({ kind: "synthetic", symbols: 20, days: 2520, mode: "planted", seed: 42 }),
  target: targetSchema.default({ kind: "direction", horizon: 1, flat: { volatility: 0.5, window: 20 } }),
  validation: validationSchema.default({
    scheme: "anchored",
    folds: 5,
    embargo: 0,
    validationFraction: 0.15,
    split: { train: 0.6, validation: 0.2, test: 0.2 },
    groups: 6,
    testGroups: 2,
  }),
  features: featuresSchema.default({ set: "base", columns: "all", exclude: [] }),
  models: z.array(entrySchema, { error: "expected a list of model entries" }).min(1, {
    error: "expected at least one model entry",
  }).default([{ kind: "xgboost", settings: {} }]),
  backtest: backtestSchema.default({
    lag: 1,
    costBps: 5,
    slippageBps: 0,
    borrowBps: 0,
    portfolio: "long-short",
    sizing: { kind: "sign" },
    annualization: 252,
  }),
  gate: gateSchema.default({ wfeThreshold: 0.5, skip: false }),
  health: healthSchema.default({ upShareBand: [0.2, 0.8] }),
  seed: integer(0).default(42).describe("seed of every random choice (stored with the study)"),
  allowLeakage: flag().default(false).describe("train despite a leak verdict of the audit (stored with the study)"),
});

/** What a user may write: every key optional. */
export type StudyConfigInput = z.input<typeof StudyConfigSchema>;

/** A resolved model entry: name given or defaulted, settings validated against its kind with defaults filled. */
export interface ModelEntry {
  /** Unique name within the study. */
  name: string;
  /** Model kind (registry key). */
  kind: string;
  /** The kind's settings, every default filled. */
  settings: Record<string, unknown>;
  /** Stacking: base entry names. */
  base?: string[];
  /** Stacking: meta-learner. */
  meta?: "elasticnet" | "xgboost";
}

type Parsed = z.output<typeof StudyConfigSchema>;

/** The resolved study configuration: every default filled, the purge resolved, every entry validated. */
export interface StudyConfig extends Omit<Parsed, "models" | "validation"> {
  /** Validation with the purge resolved (≥ the horizon). */
  validation: Parsed["validation"] & { purge: number };
  /** Model entries in training order (base entries before the entries that combine them). */
  models: ModelEntry[];
}

/** The task a target kind makes the models learn. */
export function taskOf(target: StudyConfig["target"]["kind"]): Task {
  return target === "direction" ? "binary" : target === "direction3" ? "multiclass" : "regression";
}

/**
 * Keys of `validation` that only some schemes read. A key set for another scheme is refused, unless it holds its
 * default: a resolved configuration (`--dry-run`, a stored study) carries every default, and must read back as is.
 */
const SCHEME_KEYS: Record<string, readonly string[]> = {
  testDays: ["anchored", "rolling"],
  trainDays: ["rolling"],
  step: ["rolling"],
  split: ["three-way"],
  groups: ["cpcv"],
  testGroups: ["cpcv"],
  embargo: ["purged-kfold", "cpcv"],
  folds: ["anchored", "rolling", "purged-kfold"],
};

/** "a", "a and b", "a, b and c". */
function inWords(items: readonly string[]): string {
  return items.length <= 1 ? items.join("") : `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`;
}

/** `validation` with every default filled (what a resolved configuration holds for the keys it was not given). */
const validationDefaults = lazy(() => validationSchema.parse({}) as Record<string, unknown>);

function refuseForeignSchemeKeys(input: unknown, scheme: string): void {
  const given = (input as { validation?: Record<string, unknown> })?.validation;
  if (given === undefined || given === null || typeof given !== "object") return;
  for (const [key, schemes] of Object.entries(SCHEME_KEYS)) {
    if (key in given && given[key] !== undefined && !schemes.includes(scheme)) {
      const field = validationSchema.shape[key as keyof typeof validationSchema.shape].safeParse(given[key]);
      if (field.success && JSON.stringify(field.data) === JSON.stringify(validationDefaults()[key])) continue;
      throw new ConfigError(
        `validation.${key}: a setting of the ${inWords(schemes)} scheme${schemes.length > 1 ? "s" : ""}, ` +
          `not of ${scheme}; remove it or change validation.scheme`,
      );
    }
  }
}

/**
 * Validates entries: kinds exist, names unique, settings valid for the kind (and, for a new configuration, the kind's
 * own checks), stacking bases resolvable; orders them.
 */
function resolveEntries(entries: Parsed["models"], task: Task, kindChecks: boolean): ModelEntry[] {
  const kinds = modelKinds();
  const resolved: ModelEntry[] = entries.map((e, i) => {
    const trainer = trainerOf(e.kind);
    if (trainer === undefined) {
      const near = suggest(e.kind, kinds);
      throw new ConfigError(
        `models[${i}].kind: unknown model kind ${JSON.stringify(e.kind)}${
          near === undefined ? "" : ` (did you mean "${near}"?)`
        }; kinds: ${kinds.join(", ")}`,
      );
    }
    if (!trainer.tasks.includes(task)) {
      const can = kinds.filter((k) => trainerOf(k)!.tasks.includes(task));
      throw new ConfigError(
        `models[${i}].kind: ${e.kind} cannot learn a ${task} target (it learns ${trainer.tasks.join(", ")}); ` +
          `kinds for this target: ${can.join(", ")}`,
      );
    }
    const combines = trainer.consumes === "out-of-fold";
    if (!combines && (e.base !== undefined || e.meta !== undefined)) {
      throw new ConfigError(`models[${i}]: base and meta are for stacking entries, not ${e.kind}`);
    }
    if (combines && (e.base === undefined || e.base.length === 0)) {
      throw new ConfigError(`models[${i}].base: ${e.kind} needs the names of the entries it combines`);
    }
    const settings = parseWith(trainer.settings, e.settings, ["models", i, "settings"]) as Record<string, unknown>;
    const problems = kindChecks ? trainer.check?.(settings, task) ?? [] : [];
    if (problems.length > 0) {
      const lines = problems.map((p) => `${formatPath(["models", i, "settings", ...p.path])}: ${p.message}`);
      throw new ConfigError(lines.length === 1 ? lines[0] : `invalid configuration:\n  ${lines.join("\n  ")}`);
    }
    return {
      name: e.name ?? e.kind,
      kind: e.kind,
      settings,
      ...(e.base === undefined ? {} : { base: [...e.base] }),
      ...(combines ? { meta: e.meta ?? "elasticnet" } : {}),
    };
  });
  const names = new Map<string, number>();
  resolved.forEach((e, i) => {
    if (names.has(e.name)) {
      throw new ConfigError(
        `models[${i}].name: ${JSON.stringify(e.name)} is already the name of models[${names.get(e.name)}]; give ` +
          `each entry a unique name`,
      );
    }
    names.set(e.name, i);
  });
  for (const [i, e] of resolved.entries()) {
    for (const b of e.base ?? []) {
      const j = names.get(b);
      if (j === undefined) {
        throw new ConfigError(
          `models[${i}].base: no entry named ${JSON.stringify(b)}; entries: ${[...names.keys()].join(", ")}`,
        );
      }
      if (resolved[j].base !== undefined) {
        throw new ConfigError(`models[${i}].base: ${b} is itself a stacking entry; stack base models only`);
      }
    }
  }
  // Training order: plain entries first (in the order given), then the entries combining them.
  return [...resolved.filter((e) => e.base === undefined), ...resolved.filter((e) => e.base !== undefined)];
}

/**
 * Fills defaults and validates a study configuration. The purge defaults to the horizon and may never be shorter (a
 * shorter purge lets training labels overlap the test window); feature names must be built-in; stacking needs a
 * walk-forward scheme. Each model kind's own checks (`FoldTrainer.check`, e.g. XGBoost parameter names XGBoost
 * would not use) are made too, except with `fromStore` (a configuration read back from the store, which ran as it
 * was: {@link resolveStoredConfig}).
 *
 * @throws ConfigError naming the path of every problem
 */
export function resolveStudyConfig(input: unknown = {}, options: { fromStore?: boolean } = {}): StudyConfig {
  if (typeof input === "object" && input !== null && RESOLVED.has(input)) return input as StudyConfig;
  const parsed = parseWith(StudyConfigSchema, input ?? {});
  const horizon = parsed.target.horizon;
  refuseForeignSchemeKeys(input, parsed.validation.scheme);
  const purge = parsed.validation.purge ?? horizon;
  if (purge < horizon) {
    throw new ConfigError(
      `validation.purge: ${purge} is shorter than the label horizon ${horizon}: training labels would overlap the ` +
        `test window; use purge ≥ ${horizon}`,
    );
  }
  const { split } = parsed.validation;
  if (parsed.validation.scheme === "three-way" && Math.abs(split.train + split.validation + split.test - 1) > 1e-9) {
    throw new ConfigError(
      `validation.split: train + validation + test must be 1, found ${split.train + split.validation + split.test}`,
    );
  }
  if (parsed.validation.scheme === "cpcv" && parsed.validation.testGroups >= parsed.validation.groups) {
    throw new ConfigError(
      `validation.testGroups: expected fewer than groups (${parsed.validation.groups}), found ${parsed.validation.testGroups}`,
    );
  }
  if (Array.isArray(parsed.features.set)) {
    const known = [...FEATURE_REGISTRY.keys()];
    parsed.features.set.forEach((n, i) => {
      if (!FEATURE_REGISTRY.has(n)) {
        const near = suggest(n, known);
        throw new ConfigError(
          `features.set[${i}]: unknown feature ${JSON.stringify(n)}${
            near === undefined ? "" : ` (did you mean "${near}"?)`
          }; candor features lists the built-in names`,
        );
      }
    });
  }
  const models = resolveEntries(parsed.models, taskOf(parsed.target.kind), options.fromStore !== true);
  checkSizing(parsed.backtest.sizing, taskOf(parsed.target.kind));
  if (models.some((m) => m.base !== undefined) && !["anchored", "rolling"].includes(parsed.validation.scheme)) {
    throw new ConfigError(
      `validation.scheme: stacking needs a walk-forward scheme (anchored or rolling); with ${parsed.validation.scheme} ` +
        `the other folds' predictions come from models trained on this fold's future`,
    );
  }
  const config = { ...parsed, validation: { ...parsed.validation, purge }, models };
  RESOLVED.add(config);
  return config;
}

/**
 * Resolves a configuration read back from the store (a study's or a model's): a resolved configuration carries the
 * defaults of every validation scheme's keys, which {@link resolveStudyConfig} would refuse as set for another
 * scheme; they are dropped first, then everything is validated again (a configuration stored by an older candor gets
 * the defaults of keys added since).
 */
export function resolveStoredConfig(stored: unknown): StudyConfig {
  const fromStore = { fromStore: true };
  if (stored === null || typeof stored !== "object" || Array.isArray(stored)) {
    return resolveStudyConfig(stored, fromStore);
  }
  const s = stored as Record<string, unknown>;
  const v = s.validation as Record<string, unknown> | undefined;
  if (v === undefined || v === null || typeof v !== "object") return resolveStudyConfig(s, fromStore);
  const scheme = String(v.scheme ?? "anchored");
  const own = Object.fromEntries(
    Object.entries(v).filter(([key]) => SCHEME_KEYS[key] === undefined || SCHEME_KEYS[key].includes(scheme)),
  );
  return resolveStudyConfig({ ...s, validation: own }, fromStore);
}

/** Configs produced by {@link resolveStudyConfig} (resolving one again returns it unchanged). */
const RESOLVED = new WeakSet<object>();

/**
 * Reads a study configuration file: YAML (`.yaml`, `.yml`) or JSON (`.json`; any other name is parsed as YAML, of which
 * JSON is a subset). Syntax errors name the file, line and column. The result still needs
 * {@link resolveStudyConfig}.
 */
export async function readStudyConfigFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new ConfigError(`${path}: config file not found`);
    throw new ConfigError(`${path}: cannot read the config file (${(e as Error).message})`);
  }
  const lineCounter = new YAML.LineCounter();
  const doc = YAML.parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const pos = lineCounter.linePos(e.pos[0]);
    throw new ConfigError(
      `${path}${pos ? `, line ${pos.line}, column ${pos.col}` : ""}: ${e.message.split("\n")[0]}`,
    );
  }
  const value = doc.toJS();
  if (value === null || value === undefined) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new ConfigError(`${path}: expected a mapping of settings (data, target, validation, models, ...)`);
  }
  return value as Record<string, unknown>;
}

/** Sets `path` (e.g. `models[1].settings.units`, `backtest.costBps`) to `value` in a config object, creating parents. */
export function setConfigValue(config: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.match(/[^.[\]]+|\[\d+\]/g);
  if (parts === null || parts.length === 0) throw new ConfigError(`--set: expected KEY=VALUE, found ${path}`);
  const keys = parts.map((p) => (p.startsWith("[") ? Number(p.slice(1, -1)) : p));
  let node: Record<string | number, unknown> = config;
  keys.forEach((k, i) => {
    if (i === keys.length - 1) {
      node[k] = value;
      return;
    }
    const next = node[k];
    if (next === undefined || next === null || typeof next !== "object") {
      node[k] = typeof keys[i + 1] === "number" ? [] : {};
    }
    node = node[k] as Record<string | number, unknown>;
  });
}

/**
 * The resolved config in the documented shape (`data` as `{ path, symbols }` or `{ synthetic: { … } }`): what
 * `--dry-run` prints and a user can save and run again.
 */
export function configDocument(config: StudyConfig): Record<string, unknown> {
  return { ...config, data: documentedData(config.data) };
}

/** The resolved config as YAML, in the documented shape ({@link configDocument}). */
export function configToYaml(config: StudyConfig): string {
  return YAML.stringify(configDocument(config), { lineWidth: 120 });
}
