/**
 * `candor models` (the model kinds a study can train, their settings and defaults) and `candor features` (the
 * built-in feature names).
 *
 * @module
 */

import { describeSettings } from "../pipeline/schema.ts";
import { modelKinds, trainerOf } from "../pipeline/trainers/registry.ts";
import { BASE_FEATURES } from "../features/base.ts";
import { FULL_FEATURES } from "../features/catalog.ts";
import { ConfigError } from "../errors.ts";
import { suggest } from "../pipeline/schema.ts";
import { type CommandSpec, helpText, parseCommand, table } from "./args.ts";

/** `candor models`. */
export const MODELS_SPEC: CommandSpec = {
  name: "models",
  summary: "List the model kinds with their tasks, settings, types and defaults.",
  usage: "models [KIND] [--json]",
  options: [{ name: "json", type: "boolean", description: "print the kinds and their settings as JSON" }],
  positionals: true,
  examples: ["candor models", "candor models lstm", "candor models --json"],
};

/** `candor features`. */
export const FEATURES_SPEC: CommandSpec = {
  name: "features",
  summary: "List the built-in features: the base set (the default) and the full set.",
  usage: "features [--json]",
  options: [{ name: "json", type: "boolean", description: "print { base: [...], full: [...] }" }],
};

/** Runs `candor models`. */
export function modelsCommand(args: string[]): number {
  const { values, positionals, help } = parseCommand(MODELS_SPEC, args);
  if (help) {
    console.log(helpText(MODELS_SPEC));
    return 0;
  }
  const kinds = positionals.length > 0 ? positionals : modelKinds();
  const rows = kinds.map((kind) => {
    const t = trainerOf(kind);
    if (t === undefined) {
      const near = suggest(kind, modelKinds());
      throw new ConfigError(
        `unknown model kind ${JSON.stringify(kind)}${near ? ` (did you mean "${near}"?)` : ""}; kinds: ${
          modelKinds().join(", ")
        }`,
      );
    }
    return { kind, summary: t.summary, tasks: [...t.tasks], settings: describeSettings(t.settings) };
  });
  if (values.json) {
    console.log(JSON.stringify(rows, null, 2));
    return 0;
  }
  const out: string[] = [];
  for (const r of rows) {
    out.push(`${r.kind} — ${r.summary}`, `  targets: ${r.tasks.join(", ")}`);
    // The setting column as wide as its longest name: the names are what users type, never cut.
    const nameWidth = Math.max(9, ...r.settings.map((s) => s.name.length)) + 2;
    const t = table(["setting", "type", "default", "meaning"], {
      wordWrap: true,
      colWidths: [nameWidth, 28, 22, 60],
    });
    for (const s of r.settings) t.push([s.name, s.type, s.default ?? "—", s.description]);
    out.push(t.toString(), "");
  }
  out.push("Use: models: [{ name: NAME, kind: KIND, settings: { ... } }] in a study config (candor run --help).");
  console.log(out.join("\n"));
  return 0;
}

/** Runs `candor features`. */
export function featuresCommand(args: string[]): number {
  const { values, help } = parseCommand(FEATURES_SPEC, args);
  if (help) {
    console.log(helpText(FEATURES_SPEC));
    return 0;
  }
  const base = BASE_FEATURES.map((d) => d.name);
  const full = FULL_FEATURES.map((d) => d.name);
  if (values.json) {
    console.log(JSON.stringify({ base, full }, null, 2));
    return 0;
  }
  console.log(
    [
      `base (${base.length}, the default): ${base.join(", ")}`,
      "",
      `full (${full.length}): ${full.join(", ")}`,
      "",
      "Use: features: base | full | [NAME, ...] in a study config, or --features.",
    ].join("\n"),
  );
  return 0;
}
