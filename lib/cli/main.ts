/**
 * The `candor` command: `candor COMMAND [options]`, `candor COMMAND --help` for each command's options.
 *
 * Results go to stdout, progress bars to stderr (only on a terminal); no ANSI colour unless stdout is a terminal and
 * NO_COLOR is unset. Exit status: 0 success; 1 failure (the message says what and where); 2 bad arguments or a
 * configuration refused before anything ran (nothing stored); 3 leakage found (`audit`), refused (`run`/`demo`) or
 * look-ahead caught (`simulate`).
 *
 * @module
 */

import { CandorError, ConfigError, LeakageError, RecordingError } from "../errors.ts";
import { syntheticMarket } from "../data/synthetic.ts";
import { writePanelCsv } from "../data/write.ts";
import { ensureOutputDir } from "../data/files.ts";
import { suggest } from "../pipeline/schema.ts";
import { type CommandSpec, helpText, integerOption, parseCommand, UsageError } from "./args.ts";
import { AUDIT_SPEC, auditCommand } from "./audit.ts";
import { DEMO_SPEC, RUN_SPEC, runCommand } from "./run.ts";
import { RUNS_SPEC, runsCommand, SHOW_SPEC, showCommand } from "./runs.ts";
import { FEATURES_SPEC, featuresCommand, MODELS_SPEC, modelsCommand } from "./models.ts";
import { pct } from "./format.ts";
import {
  BACKTEST_SPEC,
  backtestCommand,
  PREDICT_SPEC,
  predictCommand,
  SIMULATE_SPEC,
  simulateCommand,
  SWEEP_SPEC,
  sweepCommand,
  TRAIN_SPEC,
  trainCommand,
} from "./production.ts";
import { DB_SPEC, dbCommand } from "./db.ts";
import { WORKER_SPEC, workerCommand } from "./worker.ts";

const SYNTH_SPEC: CommandSpec = {
  name: "synth",
  summary: "Write the built-in synthetic market as <SYMBOL>.csv files the loader reads.",
  usage: "synth --out DIR [--symbols N] [--days D] [--mode planted|random-walk] [--seed S]",
  options: [
    { name: "out", type: "string", value: "DIR", description: "folder to write (created)" },
    { name: "symbols", type: "string", value: "N", description: "number of symbols (20)" },
    { name: "days", type: "string", value: "D", description: "trading days (2520)" },
    { name: "mode", type: "string", value: "M", description: "planted or random-walk (planted)" },
    { name: "seed", type: "string", value: "S", description: "seed (42)" },
  ],
};

/** Every command, in the order `candor --help` lists them. */
const COMMANDS: CommandSpec[] = [
  DEMO_SPEC,
  RUN_SPEC,
  RUNS_SPEC,
  SHOW_SPEC,
  MODELS_SPEC,
  FEATURES_SPEC,
  AUDIT_SPEC,
  SYNTH_SPEC,
  DB_SPEC,
  TRAIN_SPEC,
  PREDICT_SPEC,
  BACKTEST_SPEC,
  SWEEP_SPEC,
  SIMULATE_SPEC,
  WORKER_SPEC,
];

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return [
    "candor — honest machine learning on financial time series",
    "",
    "Usage: candor COMMAND [options]      (candor COMMAND --help for the options of a command)",
    "",
    "Commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    "",
    "Exit status: 0 success, 1 failure, 2 bad arguments or a refused configuration, 3 leakage or look-ahead, 4 a",
    "failure that could not be recorded in the store, 130/143 interrupted by SIGINT/SIGTERM (recorded; resume with",
    "--resume).",
  ].join("\n");
}

async function synthCommand(args: string[]): Promise<number> {
  const { values, help } = parseCommand(SYNTH_SPEC, args);
  if (help) {
    console.log(helpText(SYNTH_SPEC));
    return 0;
  }
  if (values.out === undefined) throw new UsageError("candor synth needs --out DIR");
  const mode = values.mode as string | undefined;
  if (mode !== undefined && mode !== "planted" && mode !== "random-walk") {
    throw new UsageError(`--mode expects planted or random-walk, found ${JSON.stringify(mode)}`);
  }
  const symbols = integerOption(values.symbols, "symbols", 1);
  const days = integerOption(values.days, "days", 60);
  const seed = integerOption(values.seed, "seed", 0);
  ensureOutputDir(values.out as string, "--out");
  const market = syntheticMarket({
    ...(symbols === undefined ? {} : { symbols }),
    ...(days === undefined ? {} : { days }),
    ...(mode === undefined ? {} : { mode: mode as "planted" | "random-walk" }),
    ...(seed === undefined ? {} : { seed }),
  });
  const files = await writePanelCsv(market.panel, values.out as string);
  console.log(
    `wrote ${files.length} files to ${values.out} (theoretical best direction accuracy ${
      pct(market.theoreticalAccuracy)
    })`,
  );
  return 0;
}

/** An operating-system error from a file operation: Deno's (`Deno.errors.NotFound`, ...) or Node's (`code: "ENOENT"`). */
function isFileSystemError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const d = Deno.errors;
  if (
    error instanceof d.NotFound || error instanceof d.PermissionDenied || error instanceof d.AlreadyExists ||
    error instanceof d.NotADirectory || error instanceof d.IsADirectory || error instanceof d.FilesystemLoop
  ) return true;
  const { code, syscall } = error as { code?: unknown; syscall?: unknown };
  return typeof code === "string" && /^E[A-Z]+$/.test(code) && typeof syscall === "string";
}

/** Runs the CLI with `args` (without the program name) and returns the exit status. */
export async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  const spec = COMMANDS.find((c) => c.name === command);
  try {
    switch (command) {
      case "demo":
      case "run":
        return await runCommand(command, rest);
      case "runs":
        return await runsCommand(rest);
      case "show":
        return await showCommand(rest);
      case "models":
        return modelsCommand(rest);
      case "features":
        return featuresCommand(rest);
      case "audit":
        return await auditCommand(rest);
      case "synth":
        return await synthCommand(rest);
      case "train":
        return await trainCommand(rest);
      case "predict":
        return await predictCommand(rest);
      case "backtest":
        return await backtestCommand(rest);
      case "sweep":
        return await sweepCommand(rest);
      case "simulate":
        return await simulateCommand(rest);
      case "db":
        return await dbCommand(rest);
      case "worker":
        return await workerCommand(rest);
      case undefined:
        // No command is a usage error: the usage goes to stderr with exit 2, as for any other.
        console.error(usage());
        return 2;
      case "help":
      case "-h":
      case "--help": {
        if (rest.length === 0) {
          console.log(usage());
          return 0;
        }
        // `candor help run`: the command's own help, as `candor run --help` prints it.
        const of = COMMANDS.find((c) => c.name === rest[0]);
        if (of === undefined) {
          const near = suggest(rest[0], COMMANDS.map((c) => c.name));
          throw new UsageError(`no command ${JSON.stringify(rest[0])}${near ? ` (did you mean ${near}?)` : ""}`);
        }
        return await main([of.name, "--help"]);
      }
      default: {
        const near = suggest(command, COMMANDS.map((c) => c.name));
        throw new UsageError(`unknown command ${JSON.stringify(command)}${near ? ` (did you mean ${near}?)` : ""}`);
      }
    }
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`candor: ${error.message}\n\n${spec === undefined ? usage() : helpText(spec)}`);
      return 2;
    }
    if (error instanceof RecordingError) {
      console.error(`candor: ${error.message}`);
      return 4;
    }
    if (error instanceof LeakageError) {
      console.error(`candor: ${error.message}`);
      return 3;
    }
    if (error instanceof ConfigError) {
      console.error(`candor: ${error.message}${spec ? ` (see candor ${spec.name} --help)` : ""}`);
      return 2;
    }
    if (error instanceof CandorError) {
      console.error(`candor: ${error.message}`);
      return 1;
    }
    if (isFileSystemError(error)) {
      // A file or folder the command reads or writes (the message names the operation and the path): exit 1 with the
      // message, not a stack trace. Anything else is a bug and keeps its stack trace for the report.
      console.error(`candor: ${(error as Error).message}`);
      return 1;
    }
    throw error;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
