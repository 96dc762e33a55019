/**
 * Schema building blocks for study configurations and model settings, and the error format every configuration
 * problem is reported in.
 *
 * One declaration is both the TypeScript type and the validation (zod): `z.input<typeof S>` is what a user may
 * write, `z.output<typeof S>` the resolved value with every default filled. Objects are strict: an unknown key is an
 * error that names the keys allowed there (a misspelt setting would otherwise be stored with the run as if used).
 *
 * Errors are path-precise and name what was expected and what was found, e.g.
 * `models[1].settings.units: expected a positive integer, found "abc"`.
 *
 * @module
 */

import { z } from "zod";
import type * as Levenshtein from "fastest-levenshtein";
import { ConfigError } from "../errors.ts";
import { lazyNamespace, lazyPackage } from "../lazy_package.ts";

// Loaded on first use (lib/lazy_package.ts): only a misspelt key needs it, and it is a CommonJS package.
const levenshtein: typeof Levenshtein = lazyNamespace(lazyPackage<typeof Levenshtein>("fastest-levenshtein"));

/** A whole number ≥ `min` (default 1). */
export function integer(min = 1): z.ZodNumber {
  const what = min === 1 ? "a positive integer" : min === 0 ? "an integer ≥ 0" : `an integer ≥ ${min}`;
  return z.number({ error: `expected ${what}` }).int({ error: `expected ${what}` }).min(min, {
    error: `expected ${what}`,
  });
}

/** A finite number > 0. */
export function positive(): z.ZodNumber {
  return z.number({ error: "expected a number > 0" }).positive({ error: "expected a number > 0" });
}

/** A finite number ≥ 0. */
export function nonNegative(): z.ZodNumber {
  return z.number({ error: "expected a number ≥ 0" }).min(0, { error: "expected a number ≥ 0" });
}

/** A number in the open interval (lo, hi). */
export function openInterval(lo: number, hi: number): z.ZodNumber {
  const what = `expected a number in (${lo}, ${hi})`;
  return z.number({ error: what }).gt(lo, { error: what }).lt(hi, { error: what });
}

/** A number in the closed interval [lo, hi]. */
export function closedInterval(lo: number, hi: number): z.ZodNumber {
  const what = `expected a number in [${lo}, ${hi}]`;
  return z.number({ error: what }).min(lo, { error: what }).max(hi, { error: what });
}

/** A band `[low, high]` of numbers in [lo, hi] with low ≤ high (an inverted band would accept nothing). */
export function band(lo: number, hi: number) {
  return z.tuple([closedInterval(lo, hi), closedInterval(lo, hi)]).refine(([a, b]) => a <= b, {
    error: "expected [low, high] with low ≤ high",
  });
}

/** One of the given strings. */
export function oneOf<const T extends readonly [string, ...string[]]>(values: T): z.ZodEnum<{ [K in T[number]]: K }> {
  return z.enum(values, { error: `expected one of ${values.join(", ")}` });
}

/** A boolean. */
export function flag(): z.ZodBoolean {
  return z.boolean({ error: "expected true or false" });
}

/** A non-empty string. */
export function text(): z.ZodString {
  return z.string({ error: "expected a string" }).min(1, { error: "expected a non-empty string" });
}

/** `a.b[2].c` from a zod issue path. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else out += out === "" ? String(p) : `.${String(p)}`;
  }
  return out;
}

/** At most `max` characters of a value's JSON, for echoing user input in messages. */
export function shortJson(value: unknown, max = 120): string {
  let s: string;
  try {
    s = JSON.stringify(value) ?? String(value);
  } catch {
    s = String(value);
  }
  return s.length > max ? `${s.slice(0, max)}… (${s.length} characters)` : s;
}

type SchemaNode = {
  def?: {
    type?: string;
    shape?: Record<string, unknown>;
    innerType?: unknown;
    in?: SchemaNode;
    out?: unknown;
    options?: SchemaNode[];
    discriminator?: string;
  };
};

/** The schema a pipe validates with: its output side for a preprocess (transform → schema), else its input side. */
function pipeTarget(s: SchemaNode): SchemaNode {
  return (s.def?.in?.def?.type === "transform" ? s.def.out : s.def?.in) as SchemaNode;
}

/**
 * Keys a strict object schema allows (for "unknown key" messages and suggestions). For a discriminated union, the
 * keys of the option the value's discriminator selects (all options' keys when it selects none).
 */
function allowedKeys(schema: unknown, value?: unknown): string[] | undefined {
  let s = schema as SchemaNode;
  for (let i = 0; i < 8 && s?.def !== undefined; i++) {
    if (s.def.type === "object" && s.def.shape !== undefined) return Object.keys(s.def.shape);
    if (s.def.type === "union" && Array.isArray(s.def.options)) {
      const d = s.def.discriminator;
      const tag = d !== undefined && value !== null && typeof value === "object"
        ? (value as Record<string, unknown>)[d]
        : undefined;
      const shapeOf = (o: SchemaNode) => o.def?.shape as Record<string, { def?: { values?: unknown[] } }> | undefined;
      const picked = s.def.options.find((o) => d !== undefined && shapeOf(o)?.[d]?.def?.values?.includes(tag));
      if (picked !== undefined) return allowedKeys(picked);
      return [...new Set(s.def.options.flatMap((o) => allowedKeys(o) ?? []))];
    }
    s = (s.def.type === "pipe" ? pipeTarget(s) : s.def.innerType ?? s.def.in) as SchemaNode;
  }
  return undefined;
}

/** The schema found at `path` inside `root` (through objects, arrays, defaults and optionals), if it can be followed. */
function schemaAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let s = root as { def?: Record<string, unknown> } | undefined;
  const unwrap = () => {
    for (let i = 0; i < 8 && s?.def !== undefined; i++) {
      const t = s.def.type;
      if (t === "default" || t === "optional" || t === "nullable" || t === "prefault" || t === "catch") {
        s = s.def.innerType as typeof s;
      } else if (t === "pipe") s = pipeTarget(s as SchemaNode) as typeof s;
      else break;
    }
  };
  for (const p of path) {
    unwrap();
    if (s?.def === undefined) return undefined;
    if (typeof p === "number" && s.def.type === "array") s = s.def.element as typeof s;
    else if (s.def.type === "object") s = (s.def.shape as Record<string, typeof s>)[String(p)];
    else return undefined;
  }
  return s;
}

/** The input value at `path`, if present. */
function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v = input as Record<PropertyKey, unknown> | undefined;
  for (const p of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[p as string] as typeof v;
  }
  return v;
}

/**
 * One line per zod issue: `path: expected ..., found ...`. Unknown keys name the allowed ones and the nearest, or the
 * key one level down they belong under (`data.days`: did you mean "synthetic.days"?).
 */
export function formatIssues(
  issues: readonly z.core.$ZodIssue[],
  input: unknown,
  schema: unknown,
  prefix: readonly PropertyKey[] = [],
): string[] {
  return issues.map((issue) => {
    const where = formatPath([...prefix, ...issue.path]);
    const at = where === "" ? "" : `${where}: `;
    // What the failing schema saw (`parseWith` asks zod to report it): after a preprocess (`features: base`, the
    // tagged `data` of a stored configuration) the raw input holds it elsewhere, or in another shape. Issues raised by
    // hand carry none: the raw input at their path is what the user wrote.
    let found = issue.input !== undefined ? issue.input : valueAt(input, issue.path);
    // A discriminated union reports the whole object at the discriminator's path: the value found is the discriminator.
    const discriminator = (issue as { discriminator?: unknown }).discriminator;
    if (typeof discriminator === "string" && found !== null && typeof found === "object" && discriminator in found) {
      found = (found as Record<string, unknown>)[discriminator];
    }
    if (issue.code === "unrecognized_keys") {
      const allowed = allowedKeys(schemaAt(schema, issue.path), found) ?? [];
      return issue.keys.map((k) => {
        const near = suggest(k, allowed);
        // A key of an object one level down (`data.days` for `data.synthetic.days`) is named with its parent.
        const parent = allowed.find((a) => allowedKeys(schemaAt(schema, [...issue.path, a]))?.includes(k));
        const hint = near !== undefined
          ? ` (did you mean "${near}"?)`
          : parent !== undefined
          ? ` (did you mean "${parent}.${k}"?)`
          : "";
        return `${formatPath([...prefix, ...issue.path, k])}: unknown key${hint}; allowed here: ${
          allowed.join(", ") || "none"
        }`;
      }).join("\n");
    }
    const message = /^expected /.test(issue.message) ? issue.message : issue.message.replace(/^Invalid input: /, "");
    return `${at}${message}${found === undefined ? ", found nothing" : `, found ${shortJson(found)}`}`;
  });
}

/** True when `b` is close enough to `a` to be a likely misspelling (edit distance ≤ max(2, a third of the length)). */
export function similar(a: string, b: string): boolean {
  return levenshtein.distance(a.toLowerCase(), b.toLowerCase()) <= Math.max(2, Math.floor(a.length / 3));
}

/** Whether `b` is `a` with two adjacent characters swapped (`modle` → `model`), the commonest typing slip. */
function transposed(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return i + 1 < a.length && a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2);
}

/**
 * The candidate nearest to `word`: one with two adjacent letters swapped first (Levenshtein counts a swap as two
 * edits, so `--modle` would otherwise come out as `--mode`, one deletion away), else the closest by Levenshtein.
 */
function nearest(word: string, candidates: readonly string[]): string {
  return candidates.find((c) => transposed(word.toLowerCase(), c.toLowerCase())) ??
    levenshtein.closest(word, [...candidates]);
}

/** The nearest of `candidates` to `word`, when it is a likely misspelling; else undefined. */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  if (candidates.length === 0) return undefined;
  const near = nearest(word, candidates);
  return similar(word, near) ? near : undefined;
}

/**
 * Parses `input` with `schema`; every problem becomes one line of a ConfigError, prefixed with `prefix` (e.g.
 * `["models", 1, "settings"]`).
 */
export function parseWith<S extends z.ZodType>(
  schema: S,
  input: unknown,
  prefix: readonly PropertyKey[] = [],
): z.output<S> {
  const r = schema.safeParse(input, { reportInput: true });
  if (r.success) return r.data;
  const lines = formatIssues(r.error.issues, input, schema, prefix);
  throw new ConfigError(lines.length === 1 ? lines[0] : `invalid configuration:\n  ${lines.join("\n  ")}`);
}

/** One setting of a schema, for `candor models` and the README: name, type in words, default, description. */
export interface SettingDoc {
  /** Key. */
  name: string;
  /** The type in words (`integer ≥ 1`, `one of a, b`, ...). */
  type: string;
  /** Default as JSON, or undefined when the setting is optional without a default. */
  default?: string;
  /** The `.describe()` text. */
  description: string;
}

/** The settings of a strict object schema with their types, defaults and descriptions (from its JSON Schema). */
export function describeSettings(schema: z.ZodType): SettingDoc[] {
  const js = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as {
    properties?: Record<string, Record<string, unknown>>;
  };
  const out: SettingDoc[] = [];
  const walk = (props: Record<string, Record<string, unknown>>, prefix: string) => {
    for (const [name, p] of Object.entries(props)) {
      const nested = p.type === "object"
        ? p.properties as Record<string, Record<string, unknown>> | undefined
        : undefined;
      if (nested !== undefined && Object.keys(nested).length > 0) {
        walk(nested, `${prefix}${name}.`);
        continue;
      }
      out.push({
        name: `${prefix}${name}`,
        type: typeInWords(p),
        ...(p.default === undefined ? {} : { default: JSON.stringify(p.default) }),
        description: String(p.description ?? ""),
      });
    }
  };
  walk(js.properties ?? {}, "");
  return out;
}

function typeInWords(p: Record<string, unknown>): string {
  if (Array.isArray(p.enum)) return `one of ${p.enum.join(", ")}`;
  if (p.const !== undefined) return JSON.stringify(p.const);
  const options = (p.anyOf ?? p.oneOf) as Record<string, unknown>[] | undefined;
  if (Array.isArray(options)) {
    const kinds = options.map((o) => (o.properties as Record<string, { const?: unknown }> | undefined)?.kind?.const);
    if (kinds.every((k) => typeof k === "string")) return `object, kind one of ${kinds.join(", ")}`;
    return options.map(typeInWords).filter((t) => t !== "null").join(" or ");
  }
  if (p.type === "integer") {
    return p.minimum !== undefined ? `integer ≥ ${p.minimum}` : "integer";
  }
  if (p.type === "number") {
    if (p.exclusiveMinimum !== undefined && p.exclusiveMaximum !== undefined) {
      return `number in (${p.exclusiveMinimum}, ${p.exclusiveMaximum})`;
    }
    if (p.minimum !== undefined && p.maximum !== undefined) return `number in [${p.minimum}, ${p.maximum}]`;
    if (p.exclusiveMinimum !== undefined && p.maximum !== undefined) {
      return `number in (${p.exclusiveMinimum}, ${p.maximum}]`;
    }
    if (p.exclusiveMinimum !== undefined) return `number > ${p.exclusiveMinimum}`;
    if (p.minimum !== undefined) return `number ≥ ${p.minimum}`;
    return "number";
  }
  if (Array.isArray(p.prefixItems)) {
    const items = (p.prefixItems as Record<string, unknown>[]).map(typeInWords);
    return items.every((t) => t === items[0]) ? `pair of ${items[0]}` : `[${items.join(", ")}]`;
  }
  if (p.type === "array") {
    const items = p.items as Record<string, unknown> | undefined;
    return `list of ${items === undefined ? "values" : typeInWords(items)}`;
  }
  if (p.type === "object") return "object";
  if (p.type === "string") return "string";
  if (p.type === "boolean") return "true/false";
  if (p.type === "null") return "null";
  return String(p.type ?? "value");
}
