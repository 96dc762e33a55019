/**
 * The `candor` command.
 *
 * ```
 * candor demo  [--symbols N] [--days D] [--mode planted|random-walk] [--seed S] [options]
 * candor run   --data PATH [--only SYM,SYM] [options]
 * candor runs  [--json] [--limit N] [--db PATH]
 * candor audit --data PATH [--horizon H] [--symbols N] [--json]
 * candor synth --out DIR [--symbols N] [--days D] [--mode M] [--seed S]
 * ```
 *
 * Shared options of `demo` and `run`: `--horizon H` (1), `--folds K` (5), `--purge P` (= H), `--cost-bps C` (5),
 * `--portfolio long-short|long-only`, `--columns all|none|a,b`, `--model xgboost|mlp|lstm` (xgboost), `--epochs N` (neural
 * models), `--allow-leakage`, `--db PATH` (else `CANDOR_DB`, else data/candor.db),
 * `--no-store`, `--json`. Progress goes to stderr (a bar on a terminal, nothing otherwise); results to stdout.
 * Exit status: 0 success, 1 failure, 2 bad arguments (including a configuration the pipeline refuses, e.g. a purge
 * shorter than the horizon, and integer options that are not whole numbers ≥ their minimum), 3 leakage found (audit)
 * or refused (run).
 *
 * @module
 */

import { parseArgs } from "node:util";
import Table from "cli-table3";
import cliProgress from "cli-progress";
import process from "node:process";
import { CandorError, ConfigError, DataError, LeakageError } from "../errors.ts";
import { type PipelineProgress, type PipelineResult, runPipeline } from "../pipeline/run.ts";
import {
  MODEL_KINDS,
  type ModelConfigInput,
  type PipelineConfig,
  type PipelineConfigInput,
  resolveConfig,
} from "../pipeline/config.ts";
import { openStore } from "../store/mod.ts";
import { syntheticMarket } from "../data/synthetic.ts";
import { writePanelCsv } from "../data/write.ts";
import { auditCommand } from "./audit.ts";

const USAGE = `candor — honest machine learning on financial time series

Usage:
  candor demo  [--symbols N] [--days D] [--mode planted|random-walk] [--seed S] [options]
  candor run   --data PATH [--only SYM,SYM,...] [options]
  candor runs  [--json] [--limit N] [--db PATH]
  candor audit --data PATH [--horizon H] [--symbols N] [--json]
  candor synth --out DIR [--symbols N] [--days D] [--mode M] [--seed S]

Options for demo and run:
  --horizon H        label horizon in trading days (default 1)
  --folds K          walk-forward test folds (default 5)
  --purge P          dates purged between train and test (default = horizon; never less)
  --cost-bps C       commission per unit turnover, basis points (default 5)
  --portfolio P      long-short (default) or long-only
  --columns C        extra numeric columns of the files to use as features: all (default), none, or a,b,c
  --model M          xgboost (default), mlp or lstm
  --epochs N         maximum training epochs per fold for mlp/lstm (default 20 for mlp, 10 for lstm)
  --allow-leakage    train even if the leakage audit finds leaking features (stored with the run)
  --db PATH          run store (default: $CANDOR_DB, else data/candor.db)
  --no-store         do not record the run
  --json             print the result as JSON instead of tables
`;

/** Thrown for bad command-line arguments (exit status 2). */
class UsageError extends CandorError {}

/** The arguments parse but make a configuration the pipeline refuses (exit status 2, without the usage text). */
class BadConfiguration extends CandorError {}

/**
 * The smallest value of each integer option: a value below it, a fraction or anything not a whole number is a usage
 * error (exit status 2) naming the option and what it expects, before any work starts.
 */
const INTEGER_MINIMUM: Record<string, number> = {
  epochs: 1,
  horizon: 1,
  folds: 2,
  purge: 0,
  seed: 0,
  symbols: 1,
  days: 60,
  limit: 1,
};

function intOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const min = INTEGER_MINIMUM[name] ?? 0;
  const n = Number(value);
  if (!/^[+-]?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`--${name} expects an integer ≥ ${min}, got ${JSON.stringify(value)}`);
  }
  return n;
}

function nonNegativeOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\+?\d+(\.\d+)?$/.test(value.trim()) || !Number.isFinite(n)) {
    throw new UsageError(`--${name} expects a number ≥ 0, got ${JSON.stringify(value)}`);
  }
  return n;
}

/**
 * `--epochs -1` as `--epochs=-1`: parseArgs takes a value starting with a dash for an option, so without this a
 * negative number would be refused for its dash rather than for its value.
 */
function joinNegativeNumbers(args: string[], valued: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a.startsWith("--") && valued.includes(a.slice(2)) && /^-\d/.test(args[i + 1] ?? "")) {
      out.push(`${a}=${args[++i]}`);
    } else out.push(a);
  }
  return out;
}

/** A progress reporter: a bar on stderr when it is a terminal, silent otherwise. */
function progressReporter(): { update: (p: PipelineProgress) => void; stop: () => void } {
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

/** Tables without ANSI colors: output is often piped or logged. */
const PLAIN = { head: [], border: [] };

const fmt = (x: number | undefined, digits = 3) => x === undefined || !Number.isFinite(x) ? "—" : x.toFixed(digits);
const pct = (x: number | undefined) => x === undefined || !Number.isFinite(x) ? "—" : `${(100 * x).toFixed(1)}%`;

/** Human-readable summary of a pipeline result (fold table, pooled metrics, backtest vs buy & hold, warnings). */
export function formatResult(r: PipelineResult): string {
  const out: string[] = [];
  const folds = new Table({
    style: PLAIN,
    head: [
      "fold",
      "train",
      "test",
      "n test",
      "accuracy",
      "coin flip",
      "majority",
      "prev. sign",
      "IC",
      "rank IC",
      "iters",
    ],
  });
  for (const f of r.folds) {
    const tr = f.fold.train[0], te = f.fold.test[0];
    folds.push([
      f.index + 1,
      `${tr.start} → ${f.fold.train.at(-1)!.end}`,
      `${te.start} → ${f.fold.test.at(-1)!.end}`,
      f.nTest,
      pct(f.metrics.accuracy),
      pct(f.baselines.coinFlip),
      pct(f.baselines.majorityClass),
      pct(f.baselines.previousSign),
      fmt(f.metrics.ic),
      fmt(f.metrics.rankIc),
      f.bestIteration ?? "—",
    ]);
  }
  const model = r.backend === undefined ? "" : `, ${r.config.model.kind} on ${r.backend}`;
  out.push(`Walk-forward folds (anchored, purge ${r.config.purge}, horizon ${r.config.horizon} day(s)${model})`);
  out.push(folds.toString());
  const theory = r.theoreticalAccuracy === undefined
    ? ""
    : ` (theoretical best for this market: ${pct(r.theoreticalAccuracy)})`;
  out.push(
    `Out-of-sample, pooled over ${r.pooled.nTest} rows: accuracy ${pct(r.pooled.accuracy)} ` +
      `(95% CI ${pct(r.pooled.accuracyLow)}–${pct(r.pooled.accuracyHigh)}, p ${
        r.pooled.accuracyPValue < 1e-4 ? "< 0.0001" : `= ${fmt(r.pooled.accuracyPValue, 4)}`
      } vs coin flip)${theory}\n` +
      `  IC ${fmt(r.pooled.ic)}, rank IC ${fmt(r.pooled.rankIc)}, mean cross-sectional rank IC ` +
      `${fmt(r.pooled.meanIC)} (ICIR ${fmt(r.pooled.icir, 2)}), share of "up" calls ${pct(r.pooled.shareUp)}`,
  );
  const e = r.efficiency;
  out.push(
    `Walk-forward efficiency (test edge / validation-tail edge over 50%): pooled ${
      fmt(e.efficiency ?? undefined, 2)
    } ` +
      `(validation tails ${pct(e.validationAccuracy)} → test ${pct(e.testAccuracy)}); by fold ${
        r.folds.map((f) => fmt(f.efficiency.efficiency ?? undefined, 2)).join(", ")
      }`,
  );
  for (const f of r.folds) if (f.health !== undefined) out.push(`fold ${f.index + 1} training health: ${f.health}`);
  const b = r.backtest;
  const bt = new Table({ style: PLAIN, head: ["", "total return", "CAGR", "Sharpe", "max drawdown", "turnover/day"] });
  bt.push([
    `strategy (${r.config.backtest.portfolio})`,
    pct(b.metrics.totalReturn),
    pct(b.metrics.cagr),
    fmt(b.metrics.sharpe, 2),
    pct(b.metrics.maxDrawdown),
    fmt(b.metrics.turnover, 3),
  ]);
  bt.push([
    "buy & hold (equal weight)",
    pct(b.buyAndHold.metrics.totalReturn),
    pct(b.buyAndHold.metrics.cagr),
    fmt(b.buyAndHold.metrics.sharpe, 2),
    pct(b.buyAndHold.metrics.maxDrawdown),
    "—",
  ]);
  out.push(
    `Backtest ${b.window.startDate} → ${b.window.endDate} (lag ${r.config.backtest.lag}, costs ${r.config.backtest.costBps} bps, ` +
      `annualization ${r.config.backtest.annualization})`,
  );
  out.push(bt.toString());
  for (const w of [...r.warnings, ...b.warnings]) out.push(`warning: ${w}`);
  if (r.runId !== undefined) out.push(`stored as run ${r.runId}`);
  return out.join("\n");
}

function resultJson(r: PipelineResult): Record<string, unknown> {
  return {
    runId: r.runId,
    config: r.config,
    symbols: r.symbols,
    features: r.features,
    theoreticalAccuracy: r.theoreticalAccuracy,
    pooled: r.pooled,
    folds: r.folds.map((f) => ({
      index: f.index,
      train: f.fold.train,
      test: f.fold.test,
      purge: f.fold.purge,
      embargo: f.fold.embargo,
      nTrain: f.nTrain,
      nValidation: f.nValidation,
      nTest: f.nTest,
      metrics: f.metrics,
      baselines: f.baselines,
      bestIteration: f.bestIteration,
      efficiency: f.efficiency,
      ...(f.health === undefined ? {} : { health: f.health, backend: f.fitReport.backend }),
    })),
    efficiency: r.efficiency,
    ...(r.backend === undefined ? {} : { backend: r.backend }),
    backtest: { ...r.backtest.record, equity: undefined },
    warnings: r.warnings,
  };
}

async function pipelineCommand(kind: "demo" | "run", args: string[]): Promise<number> {
  const { values } = parseArgs({
    args: joinNegativeNumbers(args, Object.keys(INTEGER_MINIMUM).concat("cost-bps")),
    strict: true,
    options: {
      data: { type: "string" },
      only: { type: "string" },
      symbols: { type: "string" },
      days: { type: "string" },
      mode: { type: "string" },
      seed: { type: "string" },
      horizon: { type: "string" },
      folds: { type: "string" },
      purge: { type: "string" },
      "cost-bps": { type: "string" },
      portfolio: { type: "string" },
      "allow-leakage": { type: "boolean" },
      columns: { type: "string" },
      model: { type: "string" },
      epochs: { type: "string" },
      db: { type: "string" },
      "no-store": { type: "boolean" },
      json: { type: "boolean" },
    },
  });
  const modelKind = values.model ?? "xgboost";
  if (!(MODEL_KINDS as readonly string[]).includes(modelKind)) {
    throw new UsageError(`--model expects one of ${MODEL_KINDS.join(", ")}, got ${JSON.stringify(modelKind)}`);
  }
  if (modelKind === "xgboost" && values.epochs !== undefined) {
    throw new UsageError("--epochs is for the neural models (--model mlp or lstm); XGBoost stops early by itself");
  }
  const epochs = intOption(values.epochs, "epochs");
  const model =
    (modelKind === "xgboost"
      ? {}
      : { kind: modelKind, ...(epochs === undefined ? {} : { epochs }) }) as ModelConfigInput;
  const input: PipelineConfigInput = {
    model,
    horizon: intOption(values.horizon, "horizon"),
    folds: intOption(values.folds, "folds"),
    purge: intOption(values.purge, "purge"),
    seed: intOption(values.seed, "seed"),
    allowLeakage: values["allow-leakage"] ?? false,
    ...(values.columns === undefined ? {} : {
      columns: values.columns === "all" || values.columns === "none"
        ? values.columns
        : values.columns.split(",").map((s) => s.trim()).filter((s) => s !== ""),
    }),
    backtest: {
      ...(values["cost-bps"] === undefined ? {} : { costBps: nonNegativeOption(values["cost-bps"], "cost-bps") }),
      ...(values.portfolio === undefined ? {} : { portfolio: values.portfolio as "long-short" | "long-only" }),
    },
  };
  if (kind === "run") {
    if (values.data === undefined) throw new UsageError("candor run needs --data PATH (a price file or a folder)");
    for (const k of ["symbols", "days", "mode"] as const) {
      if (values[k] !== undefined) throw new UsageError(`--${k} is for the synthetic market (candor demo)`);
    }
    input.data = {
      kind: "files",
      path: values.data,
      symbols: values.only?.split(",").map((s) => s.trim()).filter((s) => s !== ""),
    };
  } else {
    if (values.data !== undefined) throw new UsageError("candor demo uses the synthetic market; use candor run --data");
    input.data = {
      kind: "synthetic",
      ...(values.symbols === undefined ? {} : { symbols: intOption(values.symbols, "symbols") }),
      ...(values.days === undefined ? {} : { days: intOption(values.days, "days") }),
      ...(values.mode === undefined ? {} : { mode: values.mode as "planted" | "random-walk" }),
      ...(values.seed === undefined ? {} : { seed: intOption(values.seed, "seed") }),
    };
  }
  // A configuration the pipeline refuses is a bad argument (exit 2), found before a store is opened or work starts.
  let config: PipelineConfig;
  try {
    config = resolveConfig(input);
  } catch (error) {
    if (error instanceof ConfigError) throw new BadConfiguration(error.message);
    throw error;
  }
  const store = values["no-store"] ? undefined : openStore(values.db);
  const bar = progressReporter();
  try {
    const result = await runPipeline(config, { store, onProgress: bar.update });
    bar.stop();
    console.log(values.json ? JSON.stringify(resultJson(result), null, 2) : formatResult(result));
    return 0;
  } finally {
    bar.stop();
    await store?.close();
  }
}

async function runsCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args: joinNegativeNumbers(args, ["limit"]),
    strict: true,
    options: { json: { type: "boolean" }, limit: { type: "string" }, db: { type: "string" } },
  });
  const store = openStore(values.db);
  try {
    const runs = await store.listRuns({ limit: intOption(values.limit, "limit") ?? 50 });
    const full = [];
    for (const r of runs) full.push(await store.getRun(r.id));
    if (values.json) {
      // A summary per run: the equity curve stays in the store (GraphQL serves it).
      const summaries = full.filter((r) => r !== undefined).map((r) => ({
        ...r,
        backtest: r.backtest === undefined ? undefined : { ...r.backtest, equity: undefined },
      }));
      console.log(JSON.stringify(summaries, null, 2));
      return 0;
    }
    const table = new Table({
      head: ["id", "created", "status", "model", "symbols", "folds", "OOS accuracy", "Sharpe"],
    });
    for (const r of full) {
      if (r === undefined) continue;
      const accs = r.folds.map((f) => f.metrics.accuracy).filter(Number.isFinite);
      const meanAcc = accs.length === 0 ? undefined : accs.reduce((a, b) => a + b, 0) / accs.length;
      table.push([
        r.id,
        new Date(r.createdAt).toISOString().slice(0, 19).replace("T", " "),
        r.status,
        r.model,
        r.symbols.length,
        r.folds.length,
        pct(meanAcc),
        fmt(r.backtest?.metrics.sharpe, 2),
      ]);
    }
    console.log(full.length === 0 ? "no runs stored yet: try `deno task demo`" : table.toString());
    return 0;
  } finally {
    await store.close();
  }
}

async function synthCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args: joinNegativeNumbers(args, ["symbols", "days", "seed"]),
    strict: true,
    options: {
      out: { type: "string" },
      symbols: { type: "string" },
      days: { type: "string" },
      mode: { type: "string" },
      seed: { type: "string" },
    },
  });
  if (values.out === undefined) throw new UsageError("candor synth needs --out DIR");
  const market = syntheticMarket({
    ...(values.symbols === undefined ? {} : { symbols: intOption(values.symbols, "symbols") }),
    ...(values.days === undefined ? {} : { days: intOption(values.days, "days") }),
    ...(values.mode === undefined ? {} : { mode: values.mode as "planted" | "random-walk" }),
    ...(values.seed === undefined ? {} : { seed: intOption(values.seed, "seed") }),
  });
  const files = await writePanelCsv(market.panel, values.out);
  console.log(
    `wrote ${files.length} files to ${values.out} (theoretical best direction accuracy ${
      pct(market.theoreticalAccuracy)
    })`,
  );
  return 0;
}

/** Runs the CLI with `args` (without the program name) and returns the exit status. */
export async function main(args: string[]): Promise<number> {
  const [command, ...afterCommand] = args;
  // `deno task demo -- --mode x` (an npm habit) passes the separator through: accept it.
  const rest = afterCommand[0] === "--" ? afterCommand.slice(1) : afterCommand;
  try {
    switch (command) {
      case "demo":
      case "run":
        return await pipelineCommand(command, rest);
      case "runs":
        return await runsCommand(rest);
      case "audit":
        return await auditCommand(rest);
      case "synth":
        return await synthCommand(rest);
      case undefined:
      case "help":
      case "-h":
      case "--help":
        console.log(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (error) {
    if (error instanceof UsageError || (error instanceof TypeError && "code" in error)) {
      console.error(`candor: ${error.message}\n\n${USAGE}`);
      return 2;
    }
    if (error instanceof BadConfiguration) {
      console.error(`candor: ${error.message} (see candor --help)`);
      return 2;
    }
    if (error instanceof LeakageError) {
      console.error(`candor: ${error.message}`);
      return 3;
    }
    if (error instanceof ConfigError || error instanceof DataError || error instanceof CandorError) {
      console.error(`candor: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
