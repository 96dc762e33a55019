/**
 * Which parameters XGBoost does not use. XGBoost takes any name: a misspelt one (`max_dept`) is accepted, does
 * nothing, and with `validate_parameters` only prints a warning to stderr, so a configuration can say one thing while
 * the model is another. These functions answer the question in code, by XGBoost's own rule (the one behind its
 * "Parameters: { … } are not used" warning): after a booster is configured, a name is used when it is a key of one of
 * the `*_param` objects anywhere in the booster's JSON configuration, a global setting (`XGBGetGlobalConfig`), or one
 * of `eval_metric` and `num_output_group`, which XGBoost handles outside those objects. Reading XGBoost's log instead
 * would mean replacing its log sink for the whole process.
 *
 * @module
 */

import { BackendUnavailableError } from "../../errors.ts";
import { Booster, DMatrix } from "./booster.ts";
import { openXGBoost, readCString, type WaitPolicy } from "./library.ts";
import type { XGBoostParamValue } from "./model.ts";

/** Names XGBoost uses outside the `*_param` objects of its configuration. */
const HANDLED_OUTSIDE = ["eval_metric", "num_output_group"];

/** The parameter names a configured booster (one that has run an update) uses. */
export function usedParamNames(booster: Booster): Set<string> {
  const names = new Set<string>(HANDLED_OUTSIDE);
  const lib = openXGBoost();
  const out = new BigUint64Array(1);
  lib.check(lib.symbols.XGBGetGlobalConfig(out), "XGBGetGlobalConfig");
  for (const k of Object.keys(JSON.parse(readCString(out[0])))) names.add(k);
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const v of node) walk(v);
    } else if (node !== null && typeof node === "object") {
      for (const [k, v] of Object.entries(node)) {
        if (k.endsWith("_param") && v !== null && typeof v === "object" && !Array.isArray(v)) {
          for (const name of Object.keys(v)) names.add(name);
        } else walk(v);
      }
    }
  };
  walk(booster.jsonConfig());
  return names;
}

/** The names among `provided` that a configured booster does not use, in the order given. */
export function unusedParams(booster: Booster, provided: Iterable<string>): string[] {
  const used = usedParamNames(booster);
  return [...new Set(provided)].filter((k) => !used.has(k));
}

/** What {@link probeParams} found. */
export interface ParamProbe {
  /** Names XGBoost would not use (in the order given). */
  unused: string[];
  /** The names it uses for this booster, objective and tree method (for suggestions). */
  used: string[];
  /** XGBoost's own message when it refused a value (one that does not depend on the data's columns). */
  refused?: string;
}

/**
 * Parameters left out of the probe: constraints, whose valid values depend on the data's columns (the probe has one),
 * and `device`, which candor's device choice turns into XGBoost's own parameters.
 */
const LEFT_TO_TRAINING = new Set(["monotone_constraints", "interaction_constraints", "device"]);
/** Parameters that decide which components (and so which parameters) a booster has. */
const STRUCTURAL = new Set(["booster", "tree_method", "updater", "process_type", "objective", "num_class"]);

/** XGBoost's message without the failed call's name, the log prefix, the source location or the stack trace. */
function xgboostMessage(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split(/\n\s*Stack trace:/)[0]
    .replace(/^\w+ failed: /, "").replace(/^\[[^\]]*\]\s*/, "").replace(/^\S+\.(?:cc|cu|h):\d+:\s*/, "").trim();
}

/** A parameter value as XGBoost takes it: a string, booleans as "1"/"0". */
export function paramString(v: XGBoostParamValue): string {
  return typeof v === "boolean" ? (v ? "1" : "0") : String(v);
}

const probes = new Map<string, ParamProbe | undefined>();

/**
 * Configures a throwaway booster with `params` on 8 rows of one column (one round, about a millisecond) and reports
 * the names XGBoost would not use and the first value it refuses. `undefined` when XGBoost's library is not installed
 * (training says so, with the install command). Results are cached per parameter set.
 *
 * Constraints and `device` are left to training ({@link LEFT_TO_TRAINING}). When XGBoost refuses a value, the names
 * are still checked, against a booster configured with the structural parameters alone (booster, tree method,
 * updater, objective).
 */
export function probeParams(
  params: Readonly<Record<string, XGBoostParamValue>>,
  opts: { waitPolicy?: WaitPolicy } = {},
): ParamProbe | undefined {
  const key = JSON.stringify(Object.entries(params));
  if (probes.has(key)) return probes.get(key);
  try {
    openXGBoost(opts);
  } catch (e) {
    if (e instanceof BackendUnavailableError) return undefined;
    throw e;
  }
  const entries = Object.entries(params).filter(([k]) => !LEFT_TO_TRAINING.has(k));
  const configure = (subset: [string, XGBoostParamValue][]): Set<string> => {
    const d = new DMatrix({ rows: 8, cols: 1, data: Float32Array.from({ length: 8 }, (_, i) => i) }, {
      label: Float32Array.from({ length: 8 }, (_, i) => i % 2),
      nthread: 1,
    });
    const b = Booster.create([d]);
    try {
      for (const [k, v] of subset) b.setParam(k, paramString(v));
      b.setParam("nthread", "1");
      b.setParam("validate_parameters", "0"); // this answer replaces XGBoost's printed warning
      b.updateOneIter(0, d);
      return usedParamNames(b);
    } finally {
      b.free();
      d.free();
    }
  };
  let used: Set<string> | undefined, refused: string | undefined;
  try {
    used = configure(entries);
  } catch (e) {
    refused = xgboostMessage(e);
    try {
      used = configure(entries.filter(([k]) => STRUCTURAL.has(k)));
    } catch {
      used = undefined; // the structure itself is refused: the message says why
    }
  }
  const result: ParamProbe = {
    unused: used === undefined ? [] : Object.keys(params).filter((k) => !LEFT_TO_TRAINING.has(k) && !used.has(k)),
    used: used === undefined ? [] : [...used].sort(),
    ...(refused === undefined ? {} : { refused }),
  };
  probes.set(key, result);
  return result;
}

/**
 * Training rows below which XGBoost trains faster on one thread than on two. Measured with the pipeline's parameters
 * (hist, depth 3, early stopping on a fifth as many tail rows), `deno task bench xgboost`: each OpenMP region XGBoost
 * opens per round wakes and waits for the other threads, a fixed cost that small fits do not repay (12 columns; 4k
 * rows: one thread 2.2× faster; 16k: 1.16×; 32k: two threads 1.07× faster; 128k: 1.56×), and on a machine another
 * process keeps busy every such wait can last a scheduler slice.
 */
export const ONE_THREAD_BELOW_ROWS = 25_000;

/**
 * XGBoost's thread count for a fit of `rows` training rows when none is set: one below {@link ONE_THREAD_BELOW_ROWS},
 * else every core — of the machine, or, with `atOnce` fits running side by side, the cores each gets (⌊cores ÷
 * atOnce⌋, at least one: on 2 cores two folds at once train on one thread each, on 64 cores five folds on 12 each).
 */
export function defaultThreads(
  rows: number,
  cores: number = navigator.hardwareConcurrency ?? 2,
  atOnce = 1,
): number {
  return rows < ONE_THREAD_BELOW_ROWS ? 1 : Math.max(1, Math.floor(cores / Math.max(1, atOnce)));
}
