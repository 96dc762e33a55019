/**
 * `candor run` and `candor demo`: a study from a config file and/or flags.
 *
 * Every flag is a config key (listed in {@link RUN_FLAGS}); `--set KEY=VALUE` reaches any other key
 * (`--set models[0].settings.units=32`); flags override the file. `--dry-run` prints the resolved config with every
 * default and the fold plan, and trains nothing. `demo` is `run` on the built-in synthetic market.
 *
 * @module
 */

import type CliProgress from "cli-progress";
import process from "node:process";
import { existsSync } from "node:fs";
import type * as Yaml from "yaml";
import { lazyNamespace, lazyPackage } from "../lazy_package.ts";
import { ConfigError, InterruptedError } from "../errors.ts";
import {
  configDocument,
  configToYaml,
  documentedData,
  readStudyConfigFile,
  resolveStudyConfig,
  setConfigValue,
  type StudyConfig,
  StudyConfigSchema,
} from "../pipeline/config.ts";
import { runStudy, type StudyProgress } from "../pipeline/study.ts";
import { resumableStudy, storedStudyConfig } from "../pipeline/resume.ts";
import { openStore } from "../store/mod.ts";
import { type CommandSpec, list, type OptionSpec, parseCommand, scalar, table, UsageError } from "./args.ts";
import { formatStudy, studyJson } from "./format.ts";

/** cli-progress, loaded on first use (lib/lazy_package.ts). */
const cliProgress: typeof CliProgress = lazyNamespace(lazyPackage<typeof CliProgress>("cli-progress"));

/** yaml, loaded on first use (lib/lazy_package.ts). */
const YAML: typeof Yaml = lazyNamespace(lazyPackage<typeof Yaml>("yaml"));

/** A flag that sets a config key. */
interface ConfigFlag extends OptionSpec {
  /** The config key it sets. */
  key: string;
  /** How the text becomes the value (default: a number when it looks like one). */
  parse?: (v: string) => unknown;
}

const files = (v: string) => (v === "all" || v === "none" ? v : list(v));
const featureSet = (v: string) => (v === "base" || v === "full" ? v : list(v));

/** The flags of `run`/`demo` that set config keys (README "Study configuration" lists the same keys). */
export const RUN_FLAGS: readonly ConfigFlag[] = [
  {
    name: "data",
    type: "string",
    value: "PATH",
    key: "data.path",
    parse: String,
    description: "price files: a file or a folder (data.path; default $CANDOR_DATA, else the synthetic market)",
  },
  {
    name: "only",
    type: "string",
    value: "SYM,…",
    key: "data.symbols",
    parse: list,
    description: "keep only these symbols of the files (data.symbols)",
  },
  {
    name: "symbols",
    type: "string",
    value: "N",
    key: "data.synthetic.symbols",
    description: "synthetic market: number of symbols (data.synthetic.symbols, 20)",
  },
  {
    name: "days",
    type: "string",
    value: "D",
    key: "data.synthetic.days",
    description: "synthetic market: trading days (data.synthetic.days, 2520)",
  },
  {
    name: "mode",
    type: "string",
    value: "M",
    key: "data.synthetic.mode",
    parse: String,
    description: "synthetic market: planted or random-walk (data.synthetic.mode, planted)",
  },
  {
    name: "target",
    type: "string",
    value: "KIND",
    key: "target.kind",
    parse: String,
    description: "direction, direction3, return or excess (target.kind, direction)",
  },
  {
    name: "horizon",
    type: "string",
    value: "H",
    key: "target.horizon",
    description: "label horizon in trading days (target.horizon, 1)",
  },
  {
    name: "scheme",
    type: "string",
    value: "S",
    key: "validation.scheme",
    parse: String,
    description: "anchored, rolling, three-way, purged-kfold or cpcv (validation.scheme, anchored)",
  },
  {
    name: "folds",
    type: "string",
    value: "K",
    key: "validation.folds",
    description: "test windows / blocks (validation.folds, 5)",
  },
  {
    name: "train-days",
    type: "string",
    value: "N",
    key: "validation.trainDays",
    description: "rolling: training window in dates (validation.trainDays)",
  },
  {
    name: "test-days",
    type: "string",
    value: "N",
    key: "validation.testDays",
    description: "anchored/rolling: dates per test window (validation.testDays)",
  },
  {
    name: "step",
    type: "string",
    value: "N",
    key: "validation.step",
    description: "rolling: dates between test windows (validation.step)",
  },
  {
    name: "purge",
    type: "string",
    value: "P",
    key: "validation.purge",
    description: "dates purged between train and test (validation.purge, = horizon; never less)",
  },
  {
    name: "embargo",
    type: "string",
    value: "E",
    key: "validation.embargo",
    description: "dates embargoed after each test block (validation.embargo, 0)",
  },
  {
    name: "features",
    type: "string",
    value: "SET",
    key: "features.set",
    parse: featureSet,
    description: "base, full, or a,b,c (features.set, base)",
  },
  {
    name: "columns",
    type: "string",
    value: "C",
    key: "features.columns",
    parse: files,
    description: "extra numeric file columns: all, none or a,b (features.columns, all)",
  },
  {
    name: "exclude",
    type: "string",
    value: "C,…",
    key: "features.exclude",
    parse: list,
    description: "file columns never used (features.exclude)",
  },
  {
    name: "cost-bps",
    type: "string",
    value: "C",
    key: "backtest.costBps",
    description: "commission per unit turnover, bps (backtest.costBps, 5)",
  },
  {
    name: "slippage-bps",
    type: "string",
    value: "S",
    key: "backtest.slippageBps",
    description: "slippage per unit turnover, bps (backtest.slippageBps, 0)",
  },
  {
    name: "lag",
    type: "string",
    value: "L",
    key: "backtest.lag",
    description: "days from decision to the first return earned (backtest.lag, 1)",
  },
  {
    name: "portfolio",
    type: "string",
    value: "P",
    key: "backtest.portfolio",
    parse: String,
    description: "long-short or long-only (backtest.portfolio, long-short; top-k: --set)",
  },
  {
    name: "borrow-bps",
    type: "string",
    value: "B",
    key: "backtest.borrowBps",
    description: "annual borrow rate on shorts, bps (backtest.borrowBps, 0)",
  },
  {
    name: "sizing",
    type: "string",
    value: "RULE",
    key: "backtest.sizing",
    parse: String,
    description: "sign, forecast-over-sigma, vol-target, kelly, hybrid or seed-aapl (backtest.sizing, sign)",
  },
  {
    name: "wfe-threshold",
    type: "string",
    value: "X",
    key: "gate.wfeThreshold",
    description: "walk-forward efficiency the gate requires (gate.wfeThreshold, 0.5)",
  },
  {
    name: "skip-gate",
    type: "boolean",
    key: "gate.skip",
    description: "override a failed gate for production (gate.skip; stored)",
  },
  { name: "seed", type: "string", value: "S", key: "seed", description: "seed of every random choice (seed, 42)" },
  {
    name: "allow-leakage",
    type: "boolean",
    key: "allowLeakage",
    description: "train despite a leak verdict (allowLeakage; stored)",
  },
  {
    name: "name",
    type: "string",
    value: "NAME",
    key: "name",
    parse: String,
    description: "a name for the study (name)",
  },
];

/** Options that set the configuration: with `--resume` they must give the stored one (or be left out). */
export const CONFIG_FLAGS: readonly string[] = [...RUN_FLAGS.map((f) => f.name), "config", "model", "epochs", "set"];

/** Options that resume a study, or run its folds on scale-out workers (lib/cli/run_queue.ts). */
const QUEUE_OPTIONS: OptionSpec[] = [
  {
    name: "resume",
    type: "string",
    value: "ID",
    description:
      "finish an interrupted, failed or stale study (or a run's study): only its missing folds are trained; " +
      "with --queue: the study whose coordinator stopped, its folds trained by the workers",
  },
  {
    name: "queue",
    type: "string",
    value: "URL",
    description: "train the folds on candor workers: the job queue's redis://host:port[/db] (needs --db postgres://)",
  },
  { name: "attempts", type: "string", value: "N", description: "with --queue: attempts per job (3)" },
];

const OTHER: OptionSpec[] = [
  {
    name: "config",
    type: "string",
    value: "FILE",
    description: "study configuration, YAML or JSON (flags override it)",
  },
  {
    name: "model",
    type: "string",
    value: "KIND,…",
    description: "one entry per kind, named by the kind (replaces models)",
  },
  { name: "epochs", type: "string", value: "N", description: "settings.epochs of every neural entry" },
  {
    name: "set",
    type: "string",
    value: "KEY=VALUE",
    multiple: true,
    description: "set any config key, e.g. models[0].settings.units=32 (repeatable)",
  },
  { name: "dry-run", type: "boolean", description: "print the resolved config and the fold plan; train nothing" },
  {
    name: "db",
    type: "string",
    value: "PATH",
    description: "run store: SQLite path or postgres:// URL (default $CANDOR_DB, else data/candor.db)",
  },
  { name: "no-store", type: "boolean", description: "do not record the study" },
  { name: "json", type: "boolean", description: "print the result (with --dry-run: the config and fold plan) as JSON" },
  {
    name: "production",
    type: "boolean",
    description: "then retrain every gate-passing entry on all labelled data and register it (candor train)",
  },
  { name: "models-dir", type: "string", value: "DIR", description: "with --production: folder of model folders" },
  ...QUEUE_OPTIONS,
];

function spec(kind: "run" | "demo"): CommandSpec {
  const options = [
    ...RUN_FLAGS.filter((f) => kind === "run" || (f.name !== "data" && f.name !== "only")),
    ...OTHER.filter((o) => kind === "run" || o.name !== "config"),
  ];
  const exitStatus = "Exit status: 0 done, 1 failure, 2 bad arguments or a refused configuration, 3 leaking features " +
    "refused, 4 a failure that could not be recorded in the store, 130 / 143 interrupted by SIGINT / SIGTERM " +
    "(recorded; continue with --resume ID).";
  return kind === "run"
    ? {
      name: "run",
      summary: "Run a study: one fold plan, every model entry on the same rows, compared and stored.",
      usage: "run [--config study.yaml] [--data PATH] [options]",
      details: "Every flag is a config key (shown in parentheses); flags override the file; --set reaches any key.\n" +
        exitStatus,
      options,
      examples: [
        "candor run --config study.yaml",
        "candor run --data prices/ --model xgboost,mlp --horizon 5 --cost-bps 10",
        "candor run --config study.yaml --dry-run",
        "candor run --data prices/ --target direction3 --model lstm --set models[0].settings.classWeights=balanced",
      ],
    }
    : {
      name: "demo",
      summary: "The main job on the built-in synthetic market (20 symbols × 10 years with a planted signal).",
      usage: "demo [--symbols N] [--days D] [--mode planted|random-walk] [--seed S] [options]",
      details: "The options of candor run but --config, --data and --only: the demo always uses the synthetic " +
        "market, whose flags set data.synthetic keys.\n" + exitStatus,
      options,
      examples: ["candor demo", "candor demo --mode random-walk", "candor demo --model xgboost,lstm --epochs 3"],
    };
}

/** Specs of the two commands (for `candor --help`). */
export const RUN_SPEC: CommandSpec = spec("run");
/** `demo`. */
export const DEMO_SPEC: CommandSpec = spec("demo");

/** The entries a configuration without `models` resolves to, as a fresh copy flags may change. */
function defaultModels(): Array<Record<string, unknown>> {
  return structuredClone(StudyConfigSchema.shape.models.parse(undefined)) as Array<Record<string, unknown>>;
}

/** True when `data` (as written) reads price files. */
function readsFiles(data: unknown): boolean {
  return data !== null && typeof data === "object" && "path" in data;
}

/**
 * Builds the raw config a study resolves from: the file (or `stored`, the configuration of the study `run --resume`
 * continues), then the flags over it, key by key (`--symbols` sets `data.synthetic.symbols` and keeps the file's other
 * `data.synthetic` keys).
 */
export async function configFromArgs(
  kind: "run" | "demo",
  values: Record<string, string | boolean | string[] | undefined>,
  stored?: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const config: Record<string, unknown> = stored !== undefined
    ? structuredClone(stored)
    : typeof values.config === "string"
    ? await readStudyConfigFile(values.config)
    : {};
  // A saved resolved configuration may hold `data` in its tagged form: the flags set the documented keys.
  if (config.data !== undefined) config.data = documentedData(config.data);
  const dataFlags = ["data", "only"].filter((k) => values[k] !== undefined);
  const synthFlags = ["symbols", "days", "mode"].filter((k) => values[k] !== undefined);
  if (kind === "demo" && dataFlags.length > 0) {
    throw new UsageError("candor demo uses the synthetic market; use candor run --data PATH for price files");
  }
  if (dataFlags.length > 0 && synthFlags.length > 0) {
    throw new UsageError(`--${synthFlags[0]} is for the synthetic market, not for price files (--data)`);
  }
  if (kind === "demo") {
    // The demo's --seed seeds the market too; a seed that is not one is refused once, as `seed`, below.
    const seed = typeof values.seed === "string" ? scalar(values.seed) : undefined;
    config.data = { synthetic: typeof seed === "number" && Number.isInteger(seed) && seed >= 0 ? { seed } : {} };
  } else if (values.data !== undefined) config.data = {};
  else if (synthFlags.length > 0 && readsFiles(config.data)) {
    const source = stored !== undefined ? "the stored study" : values.config;
    throw new UsageError(
      `--${synthFlags[0]} is for the synthetic market, and ${source} reads price files (data.path); ` +
        `drop --${synthFlags[0]}`,
    );
  } else if (config.data === undefined && synthFlags.length === 0 && Deno.env.get("CANDOR_DATA")) {
    const path = Deno.env.get("CANDOR_DATA")!;
    // Said here, naming the variable: the loader's "not found" would not say where the path came from.
    if (!existsSync(path)) {
      throw new UsageError(
        `CANDOR_DATA=${path}: no such file or folder; set it to a price file or a folder of them, give --data PATH, ` +
          `or unset it for the synthetic market`,
      );
    }
    config.data = { path };
  }
  if (values.only !== undefined && values.data === undefined && !readsFiles(config.data)) {
    throw new UsageError("--only selects symbols of price files; give --data PATH");
  }
  for (const f of RUN_FLAGS) {
    const v = values[f.name];
    if (v === undefined) continue;
    setConfigValue(config, f.key, f.type === "boolean" ? v : (f.parse ?? scalar)(v as string));
  }
  if (typeof values.model === "string") {
    config.models = list(values.model).map((kind) => ({ name: kind, kind }));
  }
  if (typeof values.epochs === "string") {
    const models = (config.models as Array<Record<string, unknown>> | undefined) ?? defaultModels();
    const epochs = scalar(values.epochs);
    const neural = ["mlp", "lstm", "lstm-regressor", "lstm-transformer", "xlstm"];
    const targets = models.filter((m) => neural.includes(String(m.kind)));
    if (targets.length === 0) {
      const kinds = models.map((m) => String(m.kind)).join(", ");
      throw new UsageError(
        `--epochs is for neural entries (${neural.join(", ")}); ${
          stored !== undefined
            ? `the study's entries are ${kinds}`
            : config.models === undefined
            ? `the only entry is the default ${kinds} (--model chooses the kinds)`
            : `the entries are ${kinds}`
        }`,
      );
    }
    for (const m of targets) m.settings = { ...(m.settings as object ?? {}), epochs };
  }
  const sets = (values.set as string[] | undefined) ?? [];
  if (config.models === undefined && sets.some((s) => /^\s*models\s*[[.]/.test(s))) {
    // `--set models[0].settings.threads=1` with neither --model nor a file's models refines the default entry; without
    // this it would build a new entry holding only that key ("models[0].kind: expected a string").
    config.models = defaultModels();
  }
  for (const s of sets) {
    const eq = s.indexOf("=");
    if (eq <= 0) throw new UsageError(`--set expects KEY=VALUE, found ${JSON.stringify(s)}`);
    setConfigValue(config, s.slice(0, eq).trim(), YAML.parse(s.slice(eq + 1)));
  }
  return config;
}

/**
 * What `--dry-run` prints: the resolved config (documented shape, every default filled) and its fold plan as a table,
 * or both as one JSON object (`--json`).
 */
async function dryRun(config: StudyConfig, json: boolean): Promise<string> {
  const { loadMarket, prepareStudyData, selectFeatures } = await import("../pipeline/data.ts");
  const { planFolds } = await import("../pipeline/plan.ts");
  const market = await loadMarket(config.data);
  const selection = selectFeatures(market.panel, config.features);
  const prepared = prepareStudyData(market.panel, selection, config.target);
  const plan = planFolds(prepared.data, config.validation);
  if (json) {
    const out = {
      config: configDocument(config),
      plan: {
        scheme: plan.scheme,
        purge: config.validation.purge,
        symbols: market.panel.symbols.length,
        dates: prepared.data.axis.length,
        features: prepared.features,
        folds: plan.folds.map((f) => ({
          fold: f.index + 1,
          fit: f.fold.train,
          validation: f.fold.validation ?? [],
          test: f.fold.test,
          rows: { fit: f.rows.fit.length, validation: f.rows.validation.length, test: f.rows.test.length },
        })),
      },
      notes: selection.notes,
    };
    return JSON.stringify(out, null, 2);
  }
  const t = table(["fold", "fit", "early-stopping tail", "test", "fit rows", "tail rows", "test rows"]);
  const span = (w: { start: string; end: string }[] | undefined) =>
    w === undefined || w.length === 0 ? "—" : w.map((x) => `${x.start} → ${x.end}`).join(", ");
  for (const f of plan.folds) {
    t.push([
      f.index + 1,
      span(f.fold.train),
      span(f.fold.validation),
      span(f.fold.test),
      f.rows.fit.length,
      f.rows.validation.length,
      f.rows.test.length,
    ]);
  }
  return [
    "# resolved configuration (every default filled; save it and run it again with --config)",
    configToYaml(config).trimEnd(),
    "",
    `# fold plan: ${plan.scheme}, ${plan.folds.length} fold(s), purge ${config.validation.purge}, ` +
    `${market.panel.symbols.length} symbols, ${prepared.data.axis.length} dates with a target, features: ` +
    `${prepared.features.length} (${prepared.features.join(", ")})`,
    t.toString(),
    ...selection.notes.map((n) => `note: ${n}`),
    "dry run: nothing trained or stored",
  ].join("\n");
}

/** The configuration of the study `run --resume ID` continues, in the documented shape (checked as resumable). */
async function storedConfiguration(db: string | undefined, id: string): Promise<Record<string, unknown>> {
  const store = openStore(db);
  try {
    return configDocument(storedStudyConfig(await resumableStudy(store, id)));
  } finally {
    await store.close();
  }
}

/** A progress bar on stderr when it is a terminal; silent otherwise. */
export function progressBar(): {
  update: (p: Pick<StudyProgress, "fraction" | "message"> & { stage: string }) => void;
  stop: () => void;
} {
  if (!Deno.stderr.isTerminal()) return { update: () => {}, stop: () => {} };
  const bar = new cliProgress.SingleBar({
    format: "{bar} {percentage}% | {stage} | {message}",
    stream: process.stderr,
    hideCursor: true,
    clearOnComplete: true,
  }, cliProgress.Presets.shades_classic);
  bar.start(100, 0, { stage: "start", message: "" });
  return {
    update: (p) => bar.update(Math.round(p.fraction * 100), { stage: p.stage, message: p.message }),
    stop: () => bar.stop(),
  };
}

/** Thrown when a configuration is refused (exit status 2, without the usage text). */
export class RefusedConfiguration extends ConfigError {}

/** Runs `candor run` or `candor demo`; returns the exit status. */
export async function runCommand(kind: "run" | "demo", args: string[]): Promise<number> {
  const s = kind === "run" ? RUN_SPEC : DEMO_SPEC;
  const { values, help } = parseCommand(s, args);
  if (help) {
    const { helpText } = await import("./args.ts");
    console.log(helpText(s));
    return 0;
  }
  const resume = values.resume as string | undefined;
  const onQueue = values.queue !== undefined || values.attempts !== undefined;
  if (resume !== undefined && values["dry-run"]) {
    throw new UsageError(`--dry-run trains nothing, and there is nothing to resume: drop --resume (candor show ID)`);
  }
  if (resume !== undefined && values["no-store"]) {
    throw new UsageError("--resume continues a study in the run store: drop --no-store");
  }
  // `run --resume ID` without configuration flags takes the stored configuration; with flags but no --config, the flags
  // apply over the stored configuration (and must leave it as it is: runStudy lists what differs). `demo` always has
  // its own configuration, which must then be the stored one; on workers (--queue) the stored one is reattached as is.
  const configFlags = CONFIG_FLAGS.some((f) => values[f] !== undefined);
  const storedConfig = resume !== undefined && kind === "run" && !configFlags;
  const overStored = resume !== undefined && kind === "run" && configFlags && values.config === undefined && !onQueue;
  let config: StudyConfig | undefined;
  try {
    if (!storedConfig) {
      const stored = overStored ? await storedConfiguration(values.db as string | undefined, resume!) : undefined;
      config = resolveStudyConfig(await configFromArgs(kind, values, stored));
    }
  } catch (e) {
    if (e instanceof ConfigError && !(e instanceof RefusedConfiguration)) throw new RefusedConfiguration(e.message);
    throw e;
  }
  if (config !== undefined && values["dry-run"]) {
    console.log(await dryRun(config, values.json === true));
    return 0;
  }
  if (values.production && values["no-store"]) {
    throw new UsageError(
      "--production registers the models in the run store (predict finds them there): drop --no-store",
    );
  }
  if (onQueue) {
    const { runOnQueue } = await import("./run_queue.ts");
    return await runOnQueue(config, values, progressBar());
  }
  const store = values["no-store"] ? undefined : openStore(values.db as string | undefined);
  const bar = progressBar();
  const stop = interruptOnSignals();
  try {
    if (config === undefined) config = storedStudyConfig(await resumableStudy(store!, resume!));
    const result = await runStudy(config, {
      ...(store === undefined ? {} : { store }),
      ...(resume === undefined ? {} : { resume }),
      onProgress: bar.update,
      signal: stop.signal,
    });
    bar.stop();
    let production: string | undefined;
    if (values.production) {
      const { trainAfterStudy } = await import("./production.ts");
      production = await trainAfterStudy(result, config, store, {
        ...(values["models-dir"] === undefined ? {} : { modelsDir: values["models-dir"] as string }),
        json: values.json === true,
      });
    }
    if (values.json) {
      const out = {
        ...studyJson(result.report),
        ...(production === undefined ? {} : { production: JSON.parse(production) }),
      };
      console.log(JSON.stringify(out, null, 2));
    } else {
      console.log(formatStudy(result.report));
      if (production !== undefined) console.log(production);
    }
    return 0;
  } catch (e) {
    bar.stop();
    if (e instanceof InterruptedError) {
      console.error(
        `candor: ${e.message}; ${
          store === undefined ? "nothing was stored" : "the study is stored as interrupted, " +
            `with its finished folds: candor run --resume ${e.studyId ?? "STUDY_ID"} continues it`
        }`,
      );
      return e.signal === "SIGTERM" ? 143 : 130;
    }
    throw e;
  } finally {
    bar.stop();
    stop.dispose();
    await store?.close();
  }
}

/**
 * SIGINT and SIGTERM stop a study cleanly: the first asks it to stop at the next step, fold, epoch or boosting round
 * (it is then recorded as interrupted); a second one exits at once (130 / 143).
 */
function interruptOnSignals(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const listeners: Array<[Deno.Signal, () => void]> = [];
  for (const [name, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    const listener = () => {
      if (controller.signal.aborted) Deno.exit(code);
      console.error(`candor: ${name} received: stopping at the next step (again to quit at once)`);
      controller.abort(name);
    };
    try {
      Deno.addSignalListener(name, listener);
      listeners.push([name, listener]);
    } catch {
      // Signals a platform does not deliver (Windows has no SIGTERM listener) are simply not watched.
    }
  }
  return {
    signal: controller.signal,
    dispose: () => {
      for (const [name, listener] of listeners) Deno.removeSignalListener(name, listener);
    },
  };
}
