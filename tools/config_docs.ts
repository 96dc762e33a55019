/**
 * Generates the README's reference tables from the schemas themselves — every study-config key and every model
 * kind's settings, with types, defaults and meanings — so the documentation cannot drift from the code.
 *
 * ```
 * deno task docs           # rewrite the generated README sections
 * deno task docs --check   # exit 1 when README.md is out of date (CI runs the test that does the same)
 * ```
 *
 * Sections are delimited in README.md by `<!-- generated:NAME -->` … `<!-- /generated:NAME -->`.
 *
 * @module
 */

import { STUDY_CONFIG_PARTS, StudyConfigSchema } from "../lib/pipeline/config.ts";
import { describeSettings, type SettingDoc } from "../lib/pipeline/schema.ts";
import { modelKinds, trainerOf } from "../lib/pipeline/trainers/registry.ts";
import { SIZING_RULES } from "../lib/pipeline/sizing.ts";

/** Escapes a table cell. */
function cell(s: string): string {
  return s.replaceAll("|", "\\|").replaceAll("\n", " ");
}

function row(key: string, d: SettingDoc): string {
  return `| \`${key}\` | ${cell(d.type)} | ${d.default === undefined ? "—" : `\`${cell(d.default)}\``} | ${
    cell(d.description)
  } |`;
}

/** Where each part of the configuration sits (its key prefix) and what the part is, in README order. */
const PARTS: Array<[string, string]> = [
  ["data (files)", "data"],
  ["data (synthetic)", "data.synthetic"],
  ["target", "target"],
  ["validation", "validation"],
  ["features", "features"],
  ["models[]", "models[]"],
  ["backtest", "backtest"],
  ["gate", "gate"],
  ["health", "health"],
];

/** The study-config reference table: every key of every part, then the top-level scalars. */
export function configTable(): string {
  const lines = ["| key | type | default | meaning |", "| --- | --- | --- | --- |"];
  for (const [part, prefix] of PARTS) {
    for (const d of describeSettings(STUDY_CONFIG_PARTS[part])) {
      if (d.name === "kind" && prefix.startsWith("data")) continue;
      if (prefix === "target" && d.name === "flat") {
        lines.push(row("target.flat", {
          ...d,
          type: "{ absolute: width } or { volatility: k, window: days }",
          description: "direction3: the FLAT band — absolute in log-return units, or k · σ_t · √h with σ_t the " +
            "std of the last `window` daily log returns up to t",
        }));
        continue;
      }
      if (prefix === "backtest" && d.name === "sizing") {
        lines.push(row("backtest.sizing", { ...d, type: "a rule name or { kind, …parameters }", default: '"sign"' }));
        continue;
      }
      lines.push(row(`${prefix}.${d.name}`, d));
    }
  }
  const parts = new Set(["data", "target", "validation", "features", "models", "backtest", "gate", "health"]);
  // Top-level scalars only: the parts' keys (flattened as `part.key`) are listed above.
  for (const d of describeSettings(StudyConfigSchema)) {
    if (!parts.has(d.name.split(".")[0])) lines.push(row(d.name, d));
  }
  return lines.join("\n");
}

/** One table per model kind. */
export function kindsTables(): string {
  const out: string[] = [];
  for (const kind of modelKinds()) {
    const t = trainerOf(kind)!;
    out.push(`**\`${kind}\`** — ${t.summary}. Targets: ${t.tasks.join(", ")}.`, "");
    out.push("| setting | type | default | meaning |", "| --- | --- | --- | --- |");
    for (const d of describeSettings(t.settings)) {
      out.push(row(d.name, d));
    }
    out.push("");
  }
  return out.join("\n").trimEnd();
}

/** One table per sizing rule of `backtest.sizing` (its parameters; `kind` is the rule's name). */
export function sizingTables(): string {
  const out: string[] = [];
  for (const [kind, schema] of Object.entries(SIZING_RULES)) {
    const settings = describeSettings(schema).filter((d) => d.name !== "kind");
    out.push(`**\`${kind}\`**${settings.length === 0 ? " — no parameters." : ""}`, "");
    if (settings.length === 0) continue;
    out.push("| parameter | type | default | meaning |", "| --- | --- | --- | --- |");
    for (const d of settings) out.push(row(d.name, d));
    out.push("");
  }
  return out.join("\n").trimEnd();
}

/** The generated sections by name. */
export function generatedSections(): Record<string, string> {
  return { "study-config": configTable(), "model-kinds": kindsTables(), "sizing-rules": sizingTables() };
}

/** README text with every generated section replaced. */
export function updateReadme(readme: string): string {
  let out = readme;
  for (const [name, body] of Object.entries(generatedSections())) {
    const re = new RegExp(`(<!-- generated:${name} -->\\n)(?:[\\s\\S]*?\\n)?(<!-- /generated:${name} -->)`);
    if (!re.test(out)) throw new Error(`README.md has no <!-- generated:${name} --> section`);
    out = out.replace(re, (_m, a, b) => `${a}${body}\n${b}`);
  }
  return out;
}

/** Markdown as `deno fmt` writes it (the README is formatted, so the generated tables must be too). */
export async function formatMarkdown(text: string): Promise<string> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--ext=md", "-"],
    cwd: new URL("..", import.meta.url),
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const out = await child.output();
  if (!out.success) throw new Error(`deno fmt failed: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout);
}

if (import.meta.main) {
  const path = new URL("../README.md", import.meta.url);
  const readme = await Deno.readTextFile(path);
  const updated = await formatMarkdown(updateReadme(readme));
  if (Deno.args.includes("--check")) {
    if (updated !== readme) {
      console.error("README.md's generated sections are out of date: run deno task docs");
      Deno.exit(1);
    }
  } else if (updated !== readme) {
    await Deno.writeTextFile(path, updated);
    console.log("README.md updated");
  }
}
