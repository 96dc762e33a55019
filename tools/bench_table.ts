/**
 * Renders bench/results.json (written by `deno task bench`) as README's benchmark table: every row between the
 * `<!-- benchmarks:begin -->` and `<!-- benchmarks:end -->` markers is replaced; nothing else in README changes.
 * Each row shows candor's median with its run-to-run range, the reference's median and range, the ratio, the
 * target and whether it was met, and the date it was measured.
 *
 * Usage: `deno run -A tools/bench_table.ts [--check]` (`--check` exits 1 when README differs from results.json).
 *
 * @module
 */

interface Row {
  module: string;
  name: string;
  value: number;
  unit: string;
  range?: [number, number];
  reference?: number;
  referenceRange?: [number, number];
  ratio?: number;
  target?: string;
  pass?: boolean;
  date?: string;
}

const BEGIN = "<!-- benchmarks:begin -->";
const END = "<!-- benchmarks:end -->";

/** A number with 3 significant digits (2 decimals at most below 100), for a table cell. */
function num(x: number): string {
  if (!Number.isFinite(x)) return "—";
  const a = Math.abs(x);
  return a >= 100 ? x.toFixed(0) : a >= 10 ? x.toFixed(1) : a >= 1 ? x.toFixed(2) : x.toPrecision(2);
}

function cell(value: number | undefined, range: [number, number] | undefined, unit: string): string {
  if (value === undefined) return "—";
  const r = range && range[0] !== range[1] ? ` (${num(range[0])}–${num(range[1])})` : "";
  return `${num(value)}${unit === "" ? "" : ` ${unit}`}${r}`;
}

/** The markdown table of `rows`. */
export function benchTable(rows: Row[]): string {
  const header = [
    "module",
    "benchmark",
    "candor: median (range)",
    "reference: median (range)",
    "ratio",
    "target",
    "met",
  ];
  const lines = rows.map((r) => [
    `\`${r.module}\``,
    r.name.replaceAll("|", "\\|"),
    cell(r.value, r.range, r.unit),
    cell(r.reference, r.referenceRange, r.unit),
    r.ratio === undefined ? "—" : `${num(r.ratio)}×`,
    (r.target ?? "—").replaceAll("|", "\\|"),
    r.pass === undefined ? "—" : r.pass ? "yes" : "**no**",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  return [fmt(header), `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`, ...lines.map(fmt)].join("\n");
}

if (import.meta.main) {
  const root = new URL("..", import.meta.url);
  const results = JSON.parse(await Deno.readTextFile(new URL("bench/results.json", root))) as { results: Row[] };
  const readmeUrl = new URL("README.md", root);
  const readme = await Deno.readTextFile(readmeUrl);
  const a = readme.indexOf(BEGIN), b = readme.indexOf(END);
  if (a < 0 || b < a) {
    console.error(`README.md has no ${BEGIN} … ${END} section`);
    Deno.exit(2);
  }
  const dates = [...new Set(results.results.map((r) => r.date?.slice(0, 10)).filter(Boolean))].sort();
  const body = `${BEGIN}\n\n${benchTable(results.results)}\n\nMeasured ${dates.join(", ")}.\n\n${END}`;
  const next = readme.slice(0, a) + body + readme.slice(b + END.length);
  if (Deno.args.includes("--check")) {
    if (next !== readme) {
      console.error("README's benchmark table differs from bench/results.json (run tools/bench_table.ts)");
      Deno.exit(1);
    }
  } else await Deno.writeTextFile(readmeUrl, next);
}
