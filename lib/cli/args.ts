/**
 * Command-line plumbing shared by every `candor` command: option specs that produce both the parser and the `--help`
 * text, an unknown option answered with the nearest known one, and output that carries no ANSI escapes unless stdout
 * is a terminal and `NO_COLOR` is unset.
 *
 * @module
 */

import { parseArgs } from "node:util";
import Table from "cli-table3";
import { CandorError } from "../errors.ts";
import { suggest } from "../pipeline/schema.ts";

/** Bad command-line arguments: exit status 2, with the command's usage. */
export class UsageError extends CandorError {}

/** One option of a command. */
export interface OptionSpec {
  /** Long name without dashes. */
  name: string;
  /** `string` takes a value; `boolean` is a switch. */
  type: "string" | "boolean";
  /** Placeholder of the value in the help text, e.g. `PATH`. */
  value?: string;
  /** What it does (one line; defaults and config key included). */
  description: string;
  /** May be given several times (values collected in order). */
  multiple?: boolean;
  /** One-letter alias. */
  short?: string;
}

/** A command: name, usage line, options, examples. */
export interface CommandSpec {
  /** Sub-command name. */
  name: string;
  /** One line for `candor --help`. */
  summary: string;
  /** Usage line(s) after `candor`. */
  usage: string;
  /** Paragraphs printed after the usage. */
  details?: string;
  /** Options (a `--help` option is added). */
  options: OptionSpec[];
  /** Accepts positional arguments (e.g. `show ID`). */
  positionals?: boolean;
  /** Example command lines. */
  examples?: string[];
}

/** Whether output may carry colour: stdout is a terminal and NO_COLOR is not set. */
export function useColor(): boolean {
  return Deno.stdout.isTerminal() && (Deno.env.get("NO_COLOR") ?? "") === "";
}

/** A cli-table3 table without colour unless {@link useColor}. */
export function table(head: string[], extra: Record<string, unknown> = {}): InstanceType<typeof Table> {
  const style = useColor() ? { head: ["cyan"], border: ["grey"] } : { head: [], border: [] };
  // No rule between body rows: long fold tables stay readable.
  const chars = { mid: "", "left-mid": "", "mid-mid": "", "right-mid": "" };
  return new Table({ head, style, chars, ...extra } as ConstructorParameters<typeof Table>[0]);
}

/** The `--help` text of a command. */
export function helpText(spec: CommandSpec): string {
  const opts = [...spec.options, { name: "help", type: "boolean" as const, description: "show this help" }];
  const label = (o: OptionSpec) =>
    `${o.short ? `-${o.short}, ` : ""}--${o.name}${o.type === "string" ? ` ${o.value ?? "VALUE"}` : ""}`;
  const width = Math.max(...opts.map((o) => label(o).length)) + 2;
  const lines = [`Usage: candor ${spec.usage}`, "", spec.summary];
  if (spec.details) lines.push("", spec.details);
  lines.push("", "Options:");
  for (const o of opts) lines.push(`  ${label(o).padEnd(width)}${o.description}`);
  if (spec.examples?.length) lines.push("", "Examples:", ...spec.examples.map((e) => `  ${e}`));
  return lines.join("\n");
}

/** Parsed arguments. */
export interface Parsed {
  /** Option values by name (strings, booleans, or string lists for `multiple`). */
  values: Record<string, string | boolean | string[] | undefined>;
  /** Positional arguments. */
  positionals: string[];
  /** `--help` was asked for. */
  help: boolean;
}

/**
 * Parses `args` for `spec`. An unknown option is a UsageError naming the nearest known one; a negative number after
 * an option taking a value is that option's value (`--lag -1` reaches validation instead of being read as an option).
 */
export function parseCommand(spec: CommandSpec, args: string[]): Parsed {
  const known = [...spec.options.map((o) => o.name), "help"];
  const valued = new Set(spec.options.filter((o) => o.type === "string").map((o) => o.name));
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--") continue; // `deno task demo -- --mode x` passes the separator through
    if (a.startsWith("--")) {
      const name = a.slice(2).split("=")[0];
      if (!known.includes(name)) {
        const near = suggest(name, known);
        throw new UsageError(
          `unknown option --${name} for candor ${spec.name}${near === undefined ? "" : ` (did you mean --${near}?)`}`,
        );
      }
      if (valued.has(name) && !a.includes("=") && /^-\d/.test(args[i + 1] ?? "")) {
        joined.push(`${a}=${args[++i]}`);
        continue;
      }
    }
    joined.push(a);
  }
  const options: Record<string, { type: "string" | "boolean"; multiple?: boolean; short?: string }> = {
    help: { type: "boolean", short: "h" },
  };
  for (const o of spec.options) {
    options[o.name] = {
      type: o.type,
      ...(o.multiple ? { multiple: true } : {}),
      ...(o.short ? { short: o.short } : {}),
    };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: joined, options, strict: true, allowPositionals: spec.positionals ?? false });
  } catch (e) {
    throw new UsageError(`${(e as Error).message.replace(/\. To specify a positional.*$/s, "")}`);
  }
  const { help, ...values } = parsed.values as Record<string, string | boolean | string[] | undefined>;
  return { values, positionals: parsed.positionals, help: help === true };
}

/** A comma-separated list (empty items dropped). */
export function list(value: string): string[] {
  return value.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

/** A flag's text as a config value: numbers become numbers (validation reports anything else with the flag's key). */
export function scalar(value: string): string | number {
  const t = value.trim();
  return /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(t) ? Number(t) : value;
}

/** An integer option `--name` of at least `min`, or undefined when absent; a UsageError naming the flag otherwise. */
export function integerOption(value: unknown, name: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = scalar(String(value));
  if (typeof n !== "number" || !Number.isInteger(n) || n < min) {
    throw new UsageError(`--${name} expects an integer ≥ ${min}, found ${JSON.stringify(value)}`);
  }
  return n;
}
