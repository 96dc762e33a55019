/**
 * The production commands: `candor train` (gate-passing entries retrained on all labelled data and registered),
 * `candor predict` (the latest date, per symbol, with positions), `candor backtest --run` (a stored run re-sized and
 * re-backtested without retraining), `candor sweep` (robustness over costs, lags, sizing, windows and symbols, with
 * the trial registry's deflated Sharpe ratios and PBO) and `candor simulate` (production walked forward day by day
 * beside the vectorized backtest). `candor run … --production` trains right after the study.
 *
 * Exit status as everywhere: 0 done; 1 failure; 2 bad arguments or a refusal before anything ran (a failed gate, an
 * unknown model or run, a model whose feature definitions cannot be loaded, prices ending before a model's training
 * data, a grid with an unknown key — nothing is stored); 3 look-ahead caught (`simulate`).
 *
 * @module
 */

import type * as Yaml from "yaml";
import { lazyNamespace, lazyPackage } from "../lazy_package.ts";
import { clipEcho, ConfigError } from "../errors.ts";
import { resolveStudyConfig, setConfigValue, type StudyConfig } from "../pipeline/config.ts";
import { runStudy, type StudyResult } from "../pipeline/study.ts";
import { parseSizing, SIZING_KINDS, SIZING_PRESETS, sizingLabel } from "../pipeline/sizing.ts";
import { adjustedPText, type FamilyVerdict } from "../pipeline/evaluate.ts";
import { isPostgresUrl, openStore, redactUrl, resolveStoreLocation } from "../store/mod.ts";
import type { Store } from "../store/store.ts";
import { dayNumber } from "../store/validate.ts";
import { DEFAULT_MODELS_DIR, type ProductionResult, trainProduction } from "../production/train.ts";
import { fromStoredStudy, fromStudyResult, type StudySource } from "../production/study_source.ts";
import { predictLatest, toBatch } from "../production/predict.ts";
import { rebacktestRun } from "../production/rebacktest.ts";
import { readSweepGrid, type SweepResult, sweepRun } from "../production/sweep.ts";
import { simulateProduction } from "../production/simulate.ts";
import { deflationWords } from "../production/trials.ts";
import { flattenSweepRow } from "../backtest/sweep.ts";
import {
  type CommandSpec,
  helpText,
  integerOption,
  type OptionSpec,
  parseCommand,
  scalar,
  table,
  UsageError,
} from "./args.ts";
import { configFromArgs, progressBar, RefusedConfiguration, RUN_FLAGS } from "./run.ts";
import { openExistingStore } from "./runs.ts";
import { fmt, formatBacktest, formatStudy, pct, sharpeDifferenceLine } from "./format.ts";

/** yaml, loaded on first use (lib/lazy_package.ts). */
const YAML: typeof Yaml = lazyNamespace(lazyPackage<typeof Yaml>("yaml"));

const DB: OptionSpec = {
  name: "db",
  type: "string",
  value: "PATH",
  description: "run store: SQLite path or postgres:// URL (default $CANDOR_DB, else data/candor.db)",
};
const JSON_OPT: OptionSpec = { name: "json", type: "boolean", description: "print the result as JSON" };
const MODELS_DIR: OptionSpec = {
  name: "models-dir",
  type: "string",
  value: "DIR",
  description: `folder of model folders (default ${DEFAULT_MODELS_DIR})`,
};
const SET: OptionSpec = {
  name: "set",
  type: "string",
  value: "KEY=VALUE",
  multiple: true,
  description: "set any config key, e.g. models[0].settings.units=32 (repeatable)",
};

/** Study flags of `run` a production command accepts (every one a config key; not `--model KIND`). */
const STUDY_OPTIONS: OptionSpec[] = [
  {
    name: "config",
    type: "string",
    value: "FILE",
    description: "study configuration, YAML or JSON (flags override it)",
  },
  ...RUN_FLAGS.filter((f) => f.name !== "skip-gate"),
  SET,
];

/** `candor train`. */
export const TRAIN_SPEC: CommandSpec = {
  name: "train",
  summary: "Retrain each gate-passing entry of a study on all labelled data and register it as a production model.",
  usage: "train --config study.yaml [--model NAME] [--skip-gate] [--study ID] [--models-dir DIR] [options]",
  details: "The gate comes from the newest stored study with the same configuration and data (or --study ID); with " +
    "none, the study is run and stored first. A failed gate refuses with its numbers unless --skip-gate (stored with " +
    "the model). Each model goes to DIR/<id>/ and the store's models table.",
  options: [
    ...STUDY_OPTIONS,
    { name: "model", type: "string", value: "NAME", description: "train this entry only (default: every passing one)" },
    { name: "skip-gate", type: "boolean", description: "train an entry whose gate failed (stored with the model)" },
    {
      name: "study",
      type: "string",
      value: "ID",
      description: "use this stored study (its config; --data may move the files)",
    },
    MODELS_DIR,
    DB,
    JSON_OPT,
  ],
  examples: [
    "candor train --config study.yaml",
    "candor train --config study.yaml --model gbm",
    "candor train --study study_01J… --skip-gate",
  ],
};

/** `candor predict`. */
export const PREDICT_SPEC: CommandSpec = {
  name: "predict",
  summary: "Predict the latest date of the price files with a production model: score, confidence, position, warnings.",
  usage: "predict --model ID|latest --data PATH [--as-of DATE] [--json] [--no-store] [--db PATH]",
  details: "Features are computed up to the last date in the files; the newest rows (no label yet) are predicted. " +
    "The batch is stored in production_predictions unless --no-store. Same inputs, same output.",
  options: [
    { name: "model", type: "string", value: "ID", description: "a registered model id, or latest" },
    { name: "data", type: "string", value: "PATH", description: "price files: a file or a folder" },
    { name: "as-of", type: "string", value: "DATE", description: "ignore prices after this date (YYYY-MM-DD)" },
    { name: "no-store", type: "boolean", description: "do not store the predictions" },
    DB,
    JSON_OPT,
  ],
  examples: ["candor predict --model latest --data prices/", "candor predict --model model_01J… --data prices/ --json"],
};

/** Sizing options of `backtest` (each a key under `backtest.`). */
const SIZING_OPTIONS: OptionSpec[] = [
  {
    name: "sizing",
    type: "string",
    value: "RULE",
    description: `${SIZING_KINDS.join(", ")} or ${Object.keys(SIZING_PRESETS).join(", ")} (backtest.sizing)`,
  },
  { name: "fraction", type: "string", value: "F", description: "kelly fraction / hybrid kellyFraction, in (0, 1]" },
  {
    name: "target-vol",
    type: "string",
    value: "V",
    description: "vol-target: annualized target (backtest.sizing.targetVol)",
  },
  { name: "cost-bps", type: "string", value: "C", description: "commission per unit turnover, bps (backtest.costBps)" },
  {
    name: "slippage-bps",
    type: "string",
    value: "S",
    description: "slippage per unit turnover, bps (backtest.slippageBps)",
  },
  { name: "borrow-bps", type: "string", value: "B", description: "annual borrow on shorts, bps (backtest.borrowBps)" },
  {
    name: "lag",
    type: "string",
    value: "L",
    description: "days from decision to the first return earned, ≥ 1 (backtest.lag)",
  },
  {
    name: "portfolio",
    type: "string",
    value: "P",
    description: "long-short, long-only, or topk:K[:NDROP][:short] (backtest.portfolio)",
  },
  {
    name: "set",
    type: "string",
    value: "KEY=VALUE",
    multiple: true,
    description: "any backtest key, e.g. sizing.maxLong=1.5 or sizing.breaker.drawdown=0.2 (repeatable)",
  },
];

/** `candor backtest`. */
export const BACKTEST_SPEC: CommandSpec = {
  name: "backtest",
  summary: "Re-size and re-backtest a stored run's out-of-sample predictions without retraining; stored with the run.",
  usage: "backtest --run ID [--sizing RULE] [--fraction F] [--cost-bps C] [--lag L] [--portfolio P] [--set K=V] …",
  details: "Options not given keep the run's. The result is added to the run (its own backtest is untouched) and " +
    "counts as a trial: its deflated Sharpe ratio uses every backtest tried on the same data and target.",
  options: [
    { name: "run", type: "string", value: "ID", description: "a stored run id (candor show STUDY lists its runs)" },
    ...SIZING_OPTIONS,
    {
      name: "data",
      type: "string",
      value: "PATH",
      description: "read the prices here (same fingerprint as the study's)",
    },
    { name: "no-store", type: "boolean", description: "do not store the result" },
    DB,
    JSON_OPT,
  ],
  examples: [
    "candor backtest --run run_01J… --sizing seed-aapl",
    "candor backtest --run run_01J… --sizing kelly --fraction 0.25 --cost-bps 10",
    "candor backtest --run run_01J… --portfolio topk:5:1 --set sizing.kind=vol-target",
  ],
};

/** `candor sweep`. */
export const SWEEP_SPEC: CommandSpec = {
  name: "sweep",
  summary: "Sweep a stored run's predictions over costs, lags, sizing, windows and symbols; stored, CSV/JSON, PBO.",
  usage: "sweep --run ID --grid grid.yaml [--out DIR] [--data PATH] [--json] [--db PATH]\n" +
    "       candor sweep --run ID --grid grid.yaml --queue redis://HOST:PORT --db postgres://… [--cells-per-job N]\n" +
    "       candor sweep --resume sweepq_… --queue redis://HOST:PORT --db postgres://…",
  details:
    "Grid keys: costBps, slippageBps, lags, sizing, windows (all | yearly | { rolling, step } | [{ start, end }]), " +
    "symbols (portfolio | each | [names]), borrowBps, pboGroups. Each cell's deflated Sharpe ratio uses every " +
    "trial on the same data and target, this sweep's included.\n" +
    "With --queue, the cells are backtested by candor worker processes (batches of --cells-per-job cells per job; " +
    "they read the run's predictions from the Postgres store and its prices at the same path), and this process " +
    "assembles, writes and stores the sweep exactly as a local sweep: each cell is stored once however often its job " +
    "ran. A cell failing on every attempt fails the sweep (its cell and error shown, nothing stored); --resume " +
    "reattaches to a sweep whose coordinator stopped, or retries its failed cells.",
  options: [
    { name: "run", type: "string", value: "ID", description: "a stored run id" },
    { name: "grid", type: "string", value: "FILE", description: "the grid, YAML or JSON" },
    {
      name: "out",
      type: "string",
      value: "DIR",
      description: "where the sweep-<timestamp> folder goes (default data/sweeps)",
    },
    {
      name: "data",
      type: "string",
      value: "PATH",
      description: "read the prices here (same fingerprint as the study's)",
    },
    { name: "no-store", type: "boolean", description: "neither store nor write the sweep" },
    {
      name: "queue",
      type: "string",
      value: "URL",
      description:
        "backtest the cells on candor workers: the job queue's redis://host:port[/db] (needs --db postgres://)",
    },
    {
      name: "cells-per-job",
      type: "string",
      value: "N",
      description: "with --queue: consecutive cells per job (default ⌈cells / 32⌉, at most 32)",
    },
    { name: "attempts", type: "string", value: "N", description: "with --queue: attempts per job (3)" },
    {
      name: "resume",
      type: "string",
      value: "ID",
      description: "with --queue: reattach to the queued sweep sweepq_… (its run, grid and outputs as first given)",
    },
    DB,
    JSON_OPT,
  ],
  examples: [
    "candor sweep --run run_01J… --grid grid.yaml",
    "candor sweep --run run_01J… --grid grid.yaml --queue redis://10.0.0.5:6379 --db postgres://candor@10.0.0.5/candor",
  ],
};

/** `candor simulate`. */
export const SIMULATE_SPEC: CommandSpec = {
  name: "simulate",
  summary: "Walk production forward day by day (retraining on a schedule) beside the vectorized backtest.",
  usage: "simulate --config study.yaml --from DATE [--retrain-every N] [--model NAME] [options]",
  details: "The decision at the close of t sees data up to that close only, and earns from the return after it (lag " +
    "1); a sizer that looks ahead is caught (exit 3). The " +
    "daily returns must equal the vectorized backtest's (exit 1 otherwise): the check that production matches it.",
  options: [
    ...STUDY_OPTIONS,
    { name: "from", type: "string", value: "DATE", description: "first decision date (YYYY-MM-DD)" },
    {
      name: "retrain-every",
      type: "string",
      value: "N",
      description: "retrain every N dates (default: once, before --from)",
    },
    { name: "model", type: "string", value: "NAME", description: "simulate this entry only (default: every entry)" },
    JSON_OPT,
  ],
  examples: ["candor simulate --config study.yaml --from 2019-01-02 --retrain-every 63"],
};

async function resolveConfig(values: Record<string, string | boolean | string[] | undefined>): Promise<StudyConfig> {
  // --model names an entry here (not run's kinds); --skip-gate is the production override, not a study key.
  const { model: _m, "skip-gate": _s, ...rest } = values;
  try {
    return resolveStudyConfig(await configFromArgs("run", rest));
  } catch (e) {
    if (e instanceof ConfigError && !(e instanceof RefusedConfiguration)) throw new RefusedConfiguration(e.message);
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// train
// ---------------------------------------------------------------------------------------------------------------------

/**
 * How a model's edge reads among its study's entries (Holm's correction); nothing for a one-entry study or an entry
 * without an edge of its own (trained by --skip-gate: the gate's line says so).
 */
function familyText(f: FamilyVerdict | undefined): string {
  if (f === undefined || !f.edge) return "";
  return f.holds
    ? `; its edge holds under Holm's correction over the study's ${f.tests} entries (adjusted p ${
      adjustedPText(f.adjustedP)
    })`
    : `; its edge does NOT hold under Holm's correction over the study's ${f.tests} entries (adjusted p ${
      adjustedPText(f.adjustedP)
    }): the best of several entries can be a chance winner`;
}

/** Prints (or returns as JSON) what production training did. */
function trainOutput(source: StudySource, r: ProductionResult, json: boolean): string {
  const models = r.models.map((m) => ({
    id: m.id,
    name: m.manifest.name,
    kind: m.manifest.kind,
    path: m.path,
    gate: m.manifest.study.gate,
    ...(m.manifest.study.family === undefined ? {} : { family: m.manifest.study.family }),
    skipGate: m.manifest.study.skipGate,
    trainedOn: m.manifest.trainedOn,
    winRatePrior: m.manifest.winRatePrior,
    sizing: sizingLabel(m.manifest.backtest.sizing),
  }));
  if (json) return JSON.stringify({ study: source.studyId ?? null, models, refused: r.refused }, null, 2);
  const lines = [`Production models from study ${source.studyId ?? "(not stored)"}:`];
  for (const m of models) {
    lines.push(
      `  ${m.id}  ${m.name} (${m.kind}) trained on ${m.trainedOn.from} → ${m.trainedOn.to} (${m.trainedOn.rows.fit} ` +
        `fitting rows, ${m.trainedOn.rows.validation} early-stopping rows); gate ${
          m.gate.passed ? "passed" : "FAILED — trained by --skip-gate (stored)"
        } (WFE ${m.gate.wfe === null ? "undefined" : fmt(m.gate.wfe, 2)})${familyText(m.family)}; win-rate prior ${
          fmt(m.winRatePrior.prior, 3)
        }; ` +
        `sizing ${m.sizing}\n    → ${m.path}`,
    );
  }
  for (const x of r.refused) lines.push(`  refused ${x.name}: ${x.reason}`);
  lines.push("Predict the latest date: candor predict --model latest --data PATH");
  return lines.join("\n");
}

/** Production training for a study that just ran (`candor run … --production`). */
export async function trainAfterStudy(
  result: StudyResult,
  config: StudyConfig,
  store: Store | undefined,
  opts: { modelsDir?: string; json?: boolean } = {},
): Promise<string> {
  const source = fromStudyResult(result, config);
  const r = await trainProduction({ ...source, ...(store === undefined ? {} : { store }), modelsDir: opts.modelsDir });
  return trainOutput(source, r, opts.json === true);
}

/** Runs `candor train`. */
export async function trainCommand(args: string[]): Promise<number> {
  const { values, help } = parseCommand(TRAIN_SPEC, args);
  if (help) {
    console.log(helpText(TRAIN_SPEC));
    return 0;
  }
  if (values.study === undefined && values.config === undefined && values.data === undefined) {
    throw new UsageError("candor train needs a study: --config study.yaml (or --data PATH), or --study ID");
  }
  const studyId = values.study as string | undefined;
  const config = studyId === undefined ? await resolveConfig(values) : undefined;
  const store = openStore(values.db as string | undefined);
  try {
    let source = await fromStoredStudy(
      store,
      config,
      studyId,
      studyId === undefined ? undefined : values.data as string,
    );
    if (source === undefined) {
      console.error("candor: no stored study with this configuration and data: running it first");
      const result = await runStudy(config!, { store });
      if (!values.json) console.log(formatStudy(result.report));
      source = fromStudyResult(result, config!);
    }
    const r = await trainProduction({
      ...source,
      store,
      ...(values.model === undefined ? {} : { only: values.model as string }),
      skipGate: values["skip-gate"] === true,
      modelsDir: values["models-dir"] as string | undefined,
      onProgress: (m) => Deno.stderr.isTerminal() && console.error(m),
    });
    console.log(trainOutput(source, r, values.json === true));
    return 0;
  } finally {
    await store.close();
  }
}

/**
 * A date option's value, refused (exit 2) unless it is a calendar date YYYY-MM-DD: a month 1–12 and a day the month
 * has, leap years included (2019-02-30 must not become 2019-03-01, nor 2019-13-45 a date past the data).
 */
function dateOption(name: string, value: string): string {
  if (dayNumber(value) === undefined) {
    throw new UsageError(`--${name} ${clipEcho(value)}: not a calendar date (expected YYYY-MM-DD)`);
  }
  return value;
}

// ---------------------------------------------------------------------------------------------------------------------
// predict
// ---------------------------------------------------------------------------------------------------------------------

/** Runs `candor predict`. */
export async function predictCommand(args: string[]): Promise<number> {
  const { values, help } = parseCommand(PREDICT_SPEC, args);
  if (help) {
    console.log(helpText(PREDICT_SPEC));
    return 0;
  }
  if (values.model === undefined) throw new UsageError("candor predict needs --model ID (or latest)");
  if (values.data === undefined) throw new UsageError("candor predict needs --data PATH (the price files)");
  const asOf = values["as-of"] === undefined ? undefined : dateOption("as-of", values["as-of"] as string);
  const store = openExistingStore(values.db as string | undefined);
  try {
    const r = await predictLatest({
      store,
      model: values.model as string,
      data: values.data as string,
      ...(asOf === undefined ? {} : { asOf }),
    });
    const stored = values["no-store"] ? undefined : await store.appendProductionPredictions(toBatch(r));
    const { about, ...out } = r.output;
    if (values.json) {
      const noNaN = (_k: string, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? null : v);
      console.log(JSON.stringify(out, noNaN, 2));
      if (stored !== undefined) console.error(`stored as ${stored}`);
      return 0;
    }
    const lines = [
      `Model ${out.model}: ${about.name} (${about.kind}), trained through ${about.trainedTo} (prices to ` +
      `${about.lastPriceDate}); predictions as of ${out.asOf}`,
      `score: ${out.conventions.score}; confidence: ${out.conventions.confidence}; position: ${out.conventions.position}`,
    ];
    const t = table(["symbol", "date", "score", "confidence", "position", "weight", "warnings"]);
    for (const p of out.predictions) {
      t.push([
        p.symbol,
        p.date,
        fmt(p.score, 4),
        fmt(p.confidence, 3),
        fmt(p.position, 3),
        fmt(p.weight, 4),
        p.warnings.join("\n"),
      ]);
    }
    lines.push(t.toString(), ...out.warnings.map((w) => `warning: ${w}`));
    if (stored !== undefined) lines.push(`stored as ${stored}`);
    console.log(lines.join("\n"));
    return 0;
  } finally {
    await store.close();
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// backtest --run
// ---------------------------------------------------------------------------------------------------------------------

function portfolioOption(v: string): unknown {
  if (v === "long-short" || v === "long-only") return v;
  const m = /^topk:(\d+)(?::(\d+))?(:short)?$/.exec(v);
  if (m === null) {
    throw new UsageError(`--portfolio expects long-short, long-only or topk:K[:NDROP][:short], found ${v}`);
  }
  return {
    kind: "topk",
    k: Number(m[1]),
    ...(m[2] === undefined ? {} : { nDrop: Number(m[2]) }),
    short: m[3] !== undefined,
  };
}

/** The backtest overrides of the sizing options (see {@link SIZING_OPTIONS}), against the run's own sizing. */
export function sizingOverrides(
  values: Record<string, string | boolean | string[] | undefined>,
  base: StudyConfig["backtest"]["sizing"],
): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (
    const [flag, key] of [["cost-bps", "costBps"], ["slippage-bps", "slippageBps"], ["borrow-bps", "borrowBps"], [
      "lag",
      "lag",
    ]] as const
  ) {
    if (typeof values[flag] === "string") o[key] = scalar(values[flag] as string);
  }
  if (typeof values.portfolio === "string") o.portfolio = portfolioOption(values.portfolio);
  let sizing: Record<string, unknown> = typeof values.sizing === "string"
    ? { ...parseSizing(values.sizing) }
    : { ...base };
  if (typeof values.fraction === "string") {
    sizing[sizing.kind === "hybrid" ? "kellyFraction" : "fraction"] = scalar(values.fraction);
  }
  if (typeof values["target-vol"] === "string") {
    if (sizing.kind !== "vol-target") {
      throw new UsageError(
        `--target-vol is the vol-target rule's volatility target, and the sizing is ${sizing.kind}; ` +
          `give --sizing vol-target with it`,
      );
    }
    sizing.targetVol = scalar(values["target-vol"]);
  }
  const wrapper: Record<string, unknown> = { ...o, sizing };
  for (const s of (values.set as string[] | undefined) ?? []) {
    const eq = s.indexOf("=");
    if (eq <= 0) throw new UsageError(`--set expects KEY=VALUE, found ${JSON.stringify(s)}`);
    const key = s.slice(0, eq).trim();
    if (key === "sizing.kind" || key === "sizing.preset") {
      // A new rule (a kind or a preset name): its own defaults, not the old rule's parameters.
      sizing = { ...parseSizing(String(YAML.parse(s.slice(eq + 1)))) };
      wrapper.sizing = sizing;
      continue;
    }
    setConfigValue(wrapper, key, YAML.parse(s.slice(eq + 1)));
  }
  return wrapper;
}

/** Runs `candor backtest --run`. */
export async function backtestCommand(args: string[]): Promise<number> {
  const { values, help } = parseCommand(BACKTEST_SPEC, args);
  if (help) {
    console.log(helpText(BACKTEST_SPEC));
    return 0;
  }
  if (values.run === undefined) throw new UsageError("candor backtest needs --run ID (a stored run)");
  const store = openExistingStore(values.db as string | undefined);
  try {
    const [run] = await store.getRuns([values.run as string]);
    const base = (run?.config as { backtest?: { sizing?: unknown } } | undefined)?.backtest?.sizing;
    const overrides = sizingOverrides(values, parseSizing(base ?? "sign"));
    const r = await rebacktestRun(store, values.run as string, overrides, {
      ...(values.data === undefined ? {} : { dataPath: values.data as string }),
      save: values["no-store"] !== true,
    });
    const own = r.stored.own;
    if (values.json) {
      console.log(JSON.stringify(
        {
          run: r.stored.run.id,
          entry: r.stored.run.entry,
          backtest: r.summary,
          deflatedSharpe: r.deflatedSharpe,
          buyAndHoldDeflatedSharpe: r.buyAndHoldDeflatedSharpe,
          deflation: r.deflation,
          ...(r.seq === undefined ? {} : { stored: r.seq }),
          original: own === null
            ? null
            : { metrics: own.metrics, details: { sizingLabel: own.details?.sizingLabel ?? "sign()" } },
        },
        (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v),
        2,
      ));
      return 0;
    }
    const lines = [
      `Run ${r.stored.run.id} (${r.stored.run.entry ?? r.stored.run.model}) re-sized without retraining: ` +
      `${r.summary.sizing}, ${r.summary.portfolio}`,
      ...formatBacktest(r.summary),
      `  deflated Sharpe ${fmt(r.deflatedSharpe, 3)}, buy & hold's ${
        fmt(r.buyAndHoldDeflatedSharpe, 3)
      } (each against zero, not against the other) with ${deflationWords(r.deflation)}`,
    ];
    if (own !== null) {
      lines.push(
        `  the run's own backtest (${String(own.details?.sizingLabel ?? "sign()")}): Sharpe ${
          fmt(own.metrics.sharpe, 2)
        }, ` +
          `max drawdown ${pct(own.metrics.maxDrawdown)}, total return ${pct(own.metrics.totalReturn)}`,
      );
    }
    if (r.seq !== undefined) lines.push(`stored with the run (backtest #${r.seq})`);
    console.log(lines.join("\n"));
    return 0;
  } finally {
    await store.close();
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// sweep
// ---------------------------------------------------------------------------------------------------------------------

/** Runs `candor sweep`. */
export async function sweepCommand(args: string[]): Promise<number> {
  const { values, help } = parseCommand(SWEEP_SPEC, args);
  if (help) {
    console.log(helpText(SWEEP_SPEC));
    return 0;
  }
  const queue = values.queue as string | undefined;
  const resume = values.resume as string | undefined;
  if (queue === undefined) {
    for (const flag of ["cells-per-job", "attempts", "resume"]) {
      if (values[flag] !== undefined) throw new UsageError(`--${flag} goes with --queue redis://HOST:PORT`);
    }
  }
  if (resume !== undefined) {
    const given = ["run", "grid", "out", "data", "no-store", "cells-per-job"].filter((f) => values[f] !== undefined);
    if (given.length > 0) {
      throw new UsageError(
        `--resume reads the sweep's run, grid and outputs from the queue; drop ${
          given.map((f) => `--${f}`).join(", ")
        }`,
      );
    }
  } else {
    if (values.run === undefined) throw new UsageError("candor sweep needs --run ID (a stored run)");
    if (values.grid === undefined) throw new UsageError("candor sweep needs --grid FILE (YAML or JSON)");
  }
  let db: string | undefined;
  if (queue !== undefined) {
    db = resolveStoreLocation(values.db as string | undefined);
    if (!isPostgresUrl(db)) {
      throw new UsageError(
        `--queue needs the run store as a postgres:// URL every worker can reach (--db or CANDOR_DB): the workers ` +
          `read the run's predictions from it; found ${JSON.stringify(redactUrl(db))}`,
      );
    }
  }
  const cellsPerJob = integerOption(values["cells-per-job"], "cells-per-job", 1);
  const attempts = integerOption(values.attempts, "attempts", 1);
  const grid = resume === undefined ? await readSweepGrid(values.grid as string) : undefined;
  const gridSource = resume === undefined
    ? YAML.parse(await Deno.readTextFile(values.grid as string)) ?? {}
    : undefined;
  const store = openExistingStore(values.db as string | undefined);
  try {
    let r: SweepResult;
    if (queue === undefined) {
      r = await sweepRun(store, values.run as string, grid!, {
        ...(values.data === undefined ? {} : { dataPath: values.data as string }),
        ...(values.out === undefined ? {} : { outDir: values.out as string }),
        save: values["no-store"] !== true,
        gridSource,
      });
    } else {
      // Loaded only here: a local sweep does not load the queue client.
      const { sweepOnQueue } = await import("../scaleout/sweep_coordinator.ts");
      const { redactRedisUrl } = await import("../scaleout/connection.ts");
      const bar = progressBar();
      try {
        r = await sweepOnQueue({
          store,
          queue,
          ...(resume === undefined ? { runId: values.run as string, grid: grid!, gridSource } : { resume }),
          ...(values.data === undefined ? {} : { dataPath: values.data as string }),
          ...(values.out === undefined ? {} : { outDir: values.out as string }),
          ...(values["no-store"] === true ? { save: false } : {}),
          ...(cellsPerJob === undefined ? {} : { cellsPerJob }),
          ...(attempts === undefined ? {} : { attempts }),
          onProgress: (p) => bar.update({ stage: "sweep", fraction: p.fraction, message: p.message }),
          onQueued: ({ sweepId, jobs, cells, resumed }) =>
            console.error(
              `candor: sweep ${sweepId} ${resumed ? "reattached" : "started"}: ${cells} cells, ${jobs} job(s) queued ` +
                `on ${redactRedisUrl(queue)} for candor worker processes. If this process stops, reattach with: ` +
                `candor sweep --resume ${sweepId} --queue ${redactRedisUrl(queue)} --db ${redactUrl(db!)}`,
            ),
        });
      } finally {
        bar.stop();
      }
    }
    if (values.json) {
      const noNaN = (_k: string, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? null : v);
      console.log(JSON.stringify(
        { id: r.id ?? null, dir: r.dir ?? null, deflation: r.deflation, pbo: r.pbo, rows: r.rows.map(flattenSweepRow) },
        noNaN,
        2,
      ));
      return 0;
    }
    const lines = [
      `Sweep of run ${r.stored.run.id} (${r.stored.run.entry ?? r.stored.run.model}): ${r.rows.length} cells; ` +
      `deflated Sharpe ratios with ${deflationWords(r.deflation)}`,
    ];
    // Ranked by deflated Sharpe ratio (N counted), not raw Sharpe: the raw ranking puts the luckiest short windows on
    // top, which is what deflation is for. Undefined ones last; raw Sharpe breaks ties.
    const score = (x: number | undefined) => (x !== undefined && Number.isFinite(x) ? x : -Infinity);
    const top = [...r.rows].sort((a, b) =>
      score(b.metrics.deflatedSharpe) - score(a.metrics.deflatedSharpe) ||
      score(b.metrics.sharpe) - score(a.metrics.sharpe)
    ).slice(0, 10);
    const t = table([
      "symbol",
      "window",
      "cost",
      "slip.",
      "lag",
      "sizing",
      "Sharpe",
      "deflated",
      "max DD",
      "B&H Sharpe",
    ]);
    for (const x of top) {
      t.push([
        x.symbol,
        `${x.windowStart} → ${x.windowEnd}`,
        x.costBps,
        x.slippageBps,
        x.lag,
        x.sizing,
        fmt(x.metrics.sharpe, 2),
        fmt(x.metrics.deflatedSharpe, 3),
        pct(x.metrics.maxDrawdown),
        fmt(x.buyAndHold.sharpe, 2),
      ]);
    }
    lines.push(`the ${top.length} best cells by deflated Sharpe ratio:`, t.toString());
    for (const p of r.pbo) {
      lines.push(
        `PBO ${p.window.start} → ${p.window.end}: ${
          p.pbo === null
            ? `not computed (${p.reason})`
            : `${pct(p.pbo)} over ${p.cells} cells (CSCV, S = ${p.groups}; probability that the in-sample best ` +
              `loses money out of sample, not that it trails buy & hold: ${pct(p.probabilityOfLoss!)})`
        }`,
      );
    }
    if (r.dir !== undefined) lines.push(`written to ${r.dir} (rows.csv, rows.json, sweep.json, pbo.json)`);
    if (r.id !== undefined) lines.push(`stored as ${r.id}`);
    console.log(lines.join("\n"));
    return 0;
  } finally {
    await store.close();
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// simulate
// ---------------------------------------------------------------------------------------------------------------------

/** Runs `candor simulate`; exit 1 when the simulation does not match the backtest. */
export async function simulateCommand(args: string[]): Promise<number> {
  const { values, help } = parseCommand(SIMULATE_SPEC, args);
  if (help) {
    console.log(helpText(SIMULATE_SPEC));
    return 0;
  }
  if (values.from === undefined) throw new UsageError("candor simulate needs --from DATE (the first decision date)");
  const from = dateOption("from", values.from as string);
  let every: number | undefined;
  if (values["retrain-every"] !== undefined) {
    const n = scalar(values["retrain-every"] as string);
    if (typeof n !== "number" || !Number.isInteger(n) || n < 1) {
      throw new UsageError(`--retrain-every expects an integer ≥ 1 (dates), found ${values["retrain-every"]}`);
    }
    every = n;
  }
  const config = await resolveConfig(values);
  const r = await simulateProduction({
    config,
    from,
    ...(every === undefined ? {} : { retrainEvery: every }),
    ...(values.model === undefined ? {} : { only: values.model as string }),
    onProgress: (m) => Deno.stderr.isTerminal() && console.error(m),
  });
  if (values.json) {
    console.log(JSON.stringify(r, (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v), 2));
  } else {
    const lines = [
      `Forward simulation from ${r.from}: ${r.retrains.length} model(s) trained (${r.retrains.join(", ")}), ` +
      `lag ${r.backtest.lag}, costs ${r.backtest.costBps} bps, ${sizingLabel(r.backtest.sizing)}`,
    ];
    for (const e of r.entries) {
      const t = table(["", "total return", "CAGR", "Sharpe", "max drawdown", "turnover/day"]);
      const row = (label: string, m: typeof e.forward) => [
        label,
        pct(m.totalReturn),
        pct(m.cagr),
        fmt(m.sharpe, 2),
        pct(m.maxDrawdown),
        fmt(m.turnover, 3),
      ];
      t.push(row("forward (day by day)", e.forward), row("vectorized backtest", e.vectorized));
      t.push(row("buy & hold", e.buyAndHold));
      lines.push(
        `── ${e.name} (${e.kind}): ${e.predicted.rows} predictions ${e.predicted.start} → ${e.predicted.end}`,
        t.toString(),
        sharpeDifferenceLine(e.sharpeDifference),
        e.matches
          ? `  production matches the backtest: the daily net returns agree on ${e.datesCompared} dates (largest ` +
            `difference ${e.maxDifference.toExponential(1)})`
          : `  MISMATCH: the daily net returns differ by up to ${e.maxDifference} — the backtest is not what trading ` +
            `day by day gives; do not trust it as a track record`,
        ...e.warnings.map((w) => (w.startsWith("note: ") ? `  ${w}` : `  warning: ${w}`)),
      );
    }
    console.log(lines.join("\n"));
  }
  return r.entries.every((e) => e.matches) ? 0 : 1;
}
