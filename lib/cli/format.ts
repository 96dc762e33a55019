/**
 * How a study reads on a terminal and as JSON. `candor run` and `candor show` both print a {@link StudyReport} through
 * these functions, so a stored study prints exactly as it did when it ran.
 *
 * Numbers that are undefined on their data (NaN, or null after a JSON round trip) print as "—".
 *
 * @module
 */

import type { BacktestSummary, EntryReport, FoldReport, StudyReport } from "../pipeline/records.ts";
import type { DateWindow } from "../validation/fold.ts";
import { table } from "./args.ts";

type Num = number | null | undefined;

const finite = (x: Num): x is number => typeof x === "number" && Number.isFinite(x);
/** A number with `digits` decimals, or "—". */
export const fmt = (x: Num, digits = 3): string => (finite(x) ? x.toFixed(digits) : "—");
/** A fraction as a percent with one decimal, or "—". */
export const pct = (x: Num): string => (finite(x) ? `${(100 * x).toFixed(1)}%` : "—");
/** A signed difference of fractions in percentage points. */
const pts = (x: Num): string => (finite(x) ? `${x >= 0 ? "+" : ""}${(100 * x).toFixed(2)}` : "—");
/** A p-value. */
const pval = (x: Num): string => (!finite(x) ? "—" : x < 1e-4 ? "< 0.0001" : `= ${x.toFixed(4)}`);

/** How each naive baseline is named in printouts. */
export const BASELINE_LABEL: Record<string, string> = {
  coinFlip: "coin flip",
  alwaysLong: "always long",
  majorityClass: "majority",
  majority: "majority",
  previousSign: "previous sign",
};

function span(w: readonly DateWindow[]): string {
  return w.length === 0 ? "—" : `${w[0].start} → ${w.at(-1)!.end}`;
}

const SCHEME: Record<string, string> = {
  anchored: "anchored walk-forward",
  rolling: "rolling walk-forward",
  "three-way": "three-way split",
  "purged-kfold": "purged k-fold",
  cpcv: "combinatorial purged CV",
};

function foldTable(e: EntryReport): string {
  const t = table([
    "fold",
    "train",
    "test",
    "n test",
    e.task === "regression" ? "dir. acc." : "accuracy",
    "coin flip",
    "always long",
    "majority",
    "prev. sign",
    ...(e.task === "multiclass" ? ["macro-F1"] : []),
    "IC",
    "rank IC",
    "iters",
    "WFE",
  ]);
  for (const f of e.folds) {
    if (f.nTest === 0) {
      t.push([f.index + 1, span(f.train), span(f.test), 0, {
        colSpan: 10 + (e.task === "multiclass" ? 1 : 0),
        content: `not predicted: ${f.skipped ?? ""}`,
      }]);
      continue;
    }
    t.push([
      f.index + 1,
      span(f.train),
      span(f.test),
      f.nTest,
      pct(f.metrics.accuracy),
      pct(f.baselines.coinFlip),
      pct(f.baselines.alwaysLong),
      pct(f.baselines.majorityClass),
      pct(f.baselines.previousSign),
      ...(e.task === "multiclass" ? [fmt(f.metrics.macroF1)] : []),
      fmt(f.metrics.ic),
      fmt(f.metrics.rankIc),
      f.bestIteration ?? "—",
      fmt(f.efficiency?.efficiency, 2),
    ]);
  }
  return t.toString();
}

function targetLine(folds: readonly FoldReport[], task: string): string {
  const part = (f: FoldReport) => {
    const t = f.targets;
    if (task === "multiclass") {
      const s = (x: { classShares?: number[] }) => (x.classShares ?? []).map((v) => pct(v)).join("/");
      return `${f.index + 1}: ${s(t.fit)} | ${s(t.validation)} | ${s(t.test)}`;
    }
    return `${f.index + 1}: ${pct(t.fit.shareUp)} | ${pct(t.validation.shareUp)} | ${pct(t.test.shareUp)}`;
  };
  const what = task === "multiclass" ? "DOWN/FLAT/UP shares" : "share of targets > 0";
  return `Target (${what}; fit | tail | test) by fold — ${folds.map(part).join("; ")}`;
}

function entryText(e: EntryReport, theoretical: number | undefined): string {
  const out: string[] = [];
  const p = e.pooled;
  out.push(`── ${e.name} (${e.kind}${e.backend ? ` on ${e.backend}` : ""}) ──`);
  out.push(foldTable(e));
  out.push(targetLine(e.folds, e.task));
  const n = p.metrics.nTest;
  const theory = theoretical === undefined ? "" : ` (theoretical best for this market: ${pct(theoretical)})`;
  const what = e.task === "regression"
    ? "direction accuracy"
    : e.task === "multiclass"
    ? "3-class accuracy"
    : "accuracy";
  // The naive binomial interval stays for contrast; its p-value against the coin flip is not printed (it is in the
  // JSON): rows taken as independent, against the weakest baseline, it would be the first "significance" a reader
  // sees while always long may do better. The edge line below carries the p-value that counts.
  out.push(
    `Pooled over ${n} rows: ${what} ${pct(p.accuracy)} (95% CI ${pct(p.accuracyCi[0])}–${
      pct(p.accuracyCi[1])
    }, block bootstrap over dates; naive binomial, rows as if independent: ${pct(p.naive.ci[0])}–${
      pct(p.naive.ci[1])
    })${theory}`,
  );
  out.push(
    `  baselines on the same rows: always long ${pct(p.baselines.alwaysLong)}, majority ${
      pct(p.baselines.majority)
    }, previous sign ${pct(p.baselines.previousSign)}, coin flip ${pct(p.baselines.coinFlip)}; strongest: ${
      BASELINE_LABEL[p.strongestBaseline] ?? p.strongestBaseline
    }`,
  );
  const against = BASELINE_LABEL[p.edge.against] ?? p.edge.against;
  out.push(
    `  edge over ${against}: ${pts(p.edge.difference)} points (95% CI ${pts(p.edge.ci[0])} to ${pts(p.edge.ci[1])}, p ${
      pval(p.edge.pValue)
    })`,
  );
  out.push(
    `  IC ${fmt(p.ic.value)} (95% CI ${fmt(p.ic.ci[0])} to ${fmt(p.ic.ci[1])}, block bootstrap; Driscoll–Kraay SE ${
      fmt(p.icDriscollKraay?.se, 4)
    }), rank IC ${fmt(p.metrics.rankIc)}, mean cross-sectional rank IC ${
      !finite(p.metrics.meanIC)
        ? "— (undefined: it needs 5 symbols with a prediction on a date)"
        : `${fmt(p.metrics.meanIC)} (${
          p.metrics.meanICLow === undefined // studies stored before the interval was computed
            ? ""
            : `95% CI ${fmt(p.metrics.meanICLow)} to ${fmt(p.metrics.meanICHigh)}; `
        }ICIR ${fmt(p.metrics.icir, 2)})`
    }, ${
      e.task === "multiclass"
        ? `calls down/flat/up ${[p.metrics.shareDown, p.metrics.shareFlat, p.metrics.shareUp].map(pct).join("/")}, ` +
          // Guessing each class at random in its share of the test rows has F1 = that share per class: macro-F1 1/3.
          `macro-F1 ${fmt(p.metrics.macroF1)} (guessing in the class shares: 0.333)`
        : `share of "up" calls ${pct(p.metrics.shareUp)}`
    }`,
  );
  out.push(
    `Verdict: ${p.verdict} (${p.verdictOn === "ic" ? "IC" : `accuracy edge over ${against}`} ${
      p.verdict === "edge" ? "above 0" : "not above 0"
    } at 95 %). Gate: ${e.gate.passed ? "passed" : "failed"} — ${e.gate.reason}`,
  );
  const unhealthy = e.folds.filter((f) => f.health !== "healthy" && f.health !== "not predicted");
  out.push(
    unhealthy.length === 0
      ? "Health (training and test calls): healthy in every fold"
      : unhealthy.map((f) => `fold ${f.index + 1} health: ${f.health}`).join("\n"),
  );
  out.push(...formatBacktest(e.backtest));
  return out.join("\n");
}

/** The line that puts a Sharpe ratio beside buy & hold's: their difference with its block-bootstrap interval. */
export function sharpeDifferenceLine(sd: BacktestSummary["sharpeDifference"]): string {
  return `  Sharpe − buy & hold Sharpe: ${fmt(sd.value, 2)} (95% CI ${fmt(sd.ci[0], 2)} to ${
    fmt(sd.ci[1], 2)
  }, block ` +
    `bootstrap over days)`;
}

/** The backtest lines of an entry: conventions, the strategy beside buy & hold, the Sharpe difference, CPCV paths. */
export function formatBacktest(b: BacktestSummary): string[] {
  const out: string[] = [];
  const sizing = b.sizing === undefined || b.sizing === "sign()" ? "" : `, ${b.sizing}`;
  const bt = table(["", "total return", "CAGR", "Sharpe", "max drawdown", "turnover/day"]);
  bt.push([
    `strategy (${b.portfolio}${sizing})`,
    pct(b.metrics.totalReturn),
    pct(b.metrics.cagr),
    fmt(b.metrics.sharpe, 2),
    pct(b.metrics.maxDrawdown),
    fmt(b.metrics.turnover, 3),
  ]);
  bt.push([
    "buy & hold (equal weight)",
    pct(b.buyAndHold.totalReturn),
    pct(b.buyAndHold.cagr),
    fmt(b.buyAndHold.sharpe, 2),
    pct(b.buyAndHold.maxDrawdown),
    "—",
  ]);
  const borrow = b.borrowBps === undefined || b.borrowBps === 0 ? "" : `, borrow ${b.borrowBps} bps/year`;
  out.push(
    `Backtest ${b.window.start} → ${b.window.end} (lag ${b.lag}, costs ${b.costBps} bps${
      b.slippageBps ? ` + slippage ${b.slippageBps} bps` : ""
    }${borrow}, annualization ${b.annualization})`,
  );
  out.push(bt.toString());
  out.push(sharpeDifferenceLine(b.sharpeDifference));
  if (b.paths !== undefined) {
    const s = b.paths.map((x) => x.metrics.sharpe).filter(finite).sort((a, c) => a - c);
    out.push(
      `  CPCV: ${b.paths.length} backtest paths, Sharpe ${fmt(s[0], 2)} … ${fmt(s.at(-1), 2)} (median ${
        fmt(s[Math.floor(s.length / 2)], 2)
      }); the table shows path 1`,
    );
  }
  return out;
}

function comparisonTable(r: StudyReport): string {
  const t = table([
    "model",
    "kind",
    "headline",
    "strongest baseline",
    "verdict",
    "WFE",
    "gate",
    "Sharpe",
    "max DD",
    "B&H Sharpe",
    "B&H max DD",
    "health",
  ]);
  for (const c of r.comparison) {
    const head = c.headline.metric === "ic"
      ? `IC ${fmt(c.headline.value)} [${fmt(c.headline.ci[0])}, ${fmt(c.headline.ci[1])}]`
      : `${pct(c.headline.value)} [${pct(c.headline.ci[0])}, ${pct(c.headline.ci[1])}]`;
    t.push([
      c.name,
      c.kind,
      head,
      `${BASELINE_LABEL[c.baseline.name] ?? c.baseline.name} ${pct(c.baseline.value)}`,
      c.verdict,
      fmt(c.wfe, 2),
      c.gate ? "passed" : "failed",
      fmt(c.sharpe, 2),
      pct(c.maxDrawdown),
      fmt(c.buyAndHoldSharpe, 2),
      pct(c.buyAndHoldMaxDrawdown),
      c.health,
    ]);
  }
  return t.toString();
}

/** The human-readable study: header, one section per entry, the comparison, notes and warnings. */
export function formatStudy(r: StudyReport): string {
  const c = r.config;
  const v = c.validation;
  const out: string[] = [];
  const plan = v.scheme === "cpcv"
    ? `${v.groups} groups, ${v.testGroups} test groups`
    : v.scheme === "three-way"
    ? `${v.split.train}/${v.split.validation}/${v.split.test}`
    : `${r.plan.folds.length} folds`;
  out.push(
    `Study${r.id ? ` ${r.id}` : ""}${
      c.name ? ` "${c.name}"` : ""
    }: ${r.entries.length} model(s) on ${r.symbols.length} ` +
      `symbols from ${r.source}; target ${c.target.kind}, horizon ${c.target.horizon} day(s); ${
        SCHEME[v.scheme] ?? v.scheme
      } (${plan}, purge ${v.purge}${v.embargo > 0 ? `, embargo ${v.embargo}` : ""})`,
  );
  const set = c.features.set;
  const extra = r.features.length - (Array.isArray(set) ? set.length : r.features.length);
  out.push(
    `Features (${r.features.length}): ${Array.isArray(set) ? set.join(", ") : `${set} set`}${
      extra > 0 ? ` + ${extra} file column(s)` : ""
    }`,
  );
  for (const e of r.entries) out.push("", entryText(e, r.theoreticalAccuracy));
  if (r.entries.length > 1) out.push("", "Comparison (same folds, same rows):", comparisonTable(r));
  out.push("");
  for (const n of r.notes) out.push(`note: ${n}`);
  for (const w of r.warnings) out.push(w.startsWith("note: ") ? w : `warning: ${w}`);
  if (r.id !== undefined) out.push(`stored as study ${r.id} (candor show ${r.id})`);
  return out.join("\n").replace(/\n{3,}/g, "\n\n").trimEnd();
}

/** The `--json` shape of a study: `{ id, config, models: [{ name, kind, pooled, gate, folds, backtest }], ... }`. */
export function studyJson(r: StudyReport): Record<string, unknown> {
  return {
    id: r.id ?? null,
    config: r.config,
    source: r.source,
    fingerprint: r.fingerprint,
    version: r.version,
    symbols: r.symbols,
    features: r.features,
    plan: r.plan,
    models: r.entries.map((e) => ({
      name: e.name,
      kind: e.kind,
      task: e.task,
      runId: e.runId ?? null,
      backend: e.backend,
      pooled: { ...e.pooled.metrics, ...e.pooled },
      gate: e.gate,
      efficiency: e.efficiency,
      upShare: e.upShare,
      folds: e.folds.map((f) => ({
        index: f.index,
        train: f.train,
        validation: f.validation,
        test: f.test,
        nTrain: f.nTrain,
        nValidation: f.nValidation,
        nTest: f.nTest,
        metrics: f.metrics,
        baselines: f.baselines,
        bestIteration: f.bestIteration ?? null,
        health: f.health,
        targets: f.targets,
        efficiency: f.efficiency,
        ...(f.skipped === undefined ? {} : { skipped: f.skipped }),
      })),
      backtest: e.backtest,
      warnings: e.warnings,
    })),
    comparison: r.comparison,
    theoreticalAccuracy: r.theoreticalAccuracy ?? null,
    notes: r.notes,
    warnings: r.warnings,
  };
}
