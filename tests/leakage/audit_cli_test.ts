import assert from "node:assert/strict";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { candor } from "../_helpers/candor_cli.ts";
import pl from "nodejs-polars";
import type { AuditJson } from "../../lib/cli/audit.ts";
import { main } from "../../lib/cli/main.ts";
import { FULL_FEATURES, openStore, panelFromFrame, syntheticMarket, writePanelCsv } from "../../lib/mod.ts";
import { randomWalkPanel } from "../features/_panels.ts";
import { realDataFile, realDataTest } from "../_helpers/real_data.ts";

/** Writes one CSV per symbol (date, OHLC, adj_close, volume and any extra columns) into a fresh folder. */
function writeFolder(frame: pl.DataFrame): string {
  const dir = mkdtempSync(join(tmpdir(), "candor-audit-"));
  for (const s of frame.getColumn("symbol").unique().toArray() as string[]) {
    frame.filter(pl.col("symbol").eq(pl.lit(s))).drop("symbol").writeCSV(join(dir, `${s}.csv`));
  }
  return dir;
}

async function capture(args: string[]): Promise<{ status: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (...a: unknown[]) => out.push(a.join(" "));
  console.error = (...a: unknown[]) => err.push(a.join(" "));
  try {
    const status = await main(["audit", ...args]); // main maps the command's errors to exit statuses
    return { status, out: out.join("\n"), err: err.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}

Deno.test("candor audit: a misaligned returns column is a leak (exit 3, JSON verdicts), honest data exits 0", async () => {
  const panel = randomWalkPanel(31, 2, 300);
  const c = pl.col("adj_close");
  const leaky = panel.frame.withColumns(c.shift(-1).div(c).sub(1).over("symbol").alias("returns"));
  const dirty = writeFolder(leaky);
  const clean = writeFolder(panel.frame);
  try {
    const r = await capture(["--data", dirty, "--json", "--symbols", "1"]);
    assert.equal(r.status, 3, r.err);
    const json = JSON.parse(r.out) as AuditJson;
    const returns = json.features.find((f) => f.name === "returns");
    assert.ok(returns, "the extra column is audited");
    assert.equal(returns.verdict, "leak");
    assert.equal(returns.source, "file");
    assert.ok(returns.reasons.length > 0);
    assert.deepEqual(json.leaking, ["returns"]);
    assert.ok(json.features.filter((f) => f.name !== "returns").every((f) => f.verdict === "ok"));
    assert.ok(json.features.filter((f) => f.name !== "returns").every((f) => f.source === "built-in"));
    // Without the column (never read), nothing leaks.
    const none = await capture(["--data", dirty, "--symbols", "1", "--columns", "none"]);
    assert.equal(none.status, 0, none.err);
    const unknown = await capture(["--data", dirty, "--columns", "nope"]);
    assert.equal(unknown.status, 2);
    assert.match(unknown.err, /columns not found in the price files: nope; extra columns present: returns/);
    const ok = await capture(["--data", clean, "--symbols", "1"]);
    assert.equal(ok.status, 0, ok.err);
    assert.match(ok.out, /0 leak\(s\)/);
  } finally {
    rmSync(dirty, { recursive: true });
    rmSync(clean, { recursive: true });
  }
});

Deno.test("candor audit: bad arguments exit 2 with usage; an unknown option names the nearest one", async () => {
  const none = await capture([]);
  assert.equal(none.status, 2);
  assert.match(none.err, /--data PATH is required\n\nUsage: candor audit --data PATH/);
  assert.equal((await capture(["--data", "x", "--horizon", "0"])).status, 2);
  assert.equal((await capture(["--data", "x", "--bogus"])).status, 2);
  const typo = await capture(["--dat", "x"]);
  assert.equal(typo.status, 2);
  assert.match(typo.err, /unknown option --dat for candor audit \(did you mean --data\?\)/);
  assert.equal((await capture(["--data", "/no/such/folder"])).status, 1, "unreadable input is 1, not 2");
});

Deno.test("candor audit: a horizon longer than the data is refused at once (exit 2); the longest one allowed still runs", async () => {
  // Two symbols of 300 rows: the audit needs a series of at least 3h rows (two non-overlapping h-day periods with a
  // target), so h ≤ 100; h = 101 leaves 2 × 199 rows with a target.
  const dir = writeFolder(randomWalkPanel(43, 2, 300).frame);
  try {
    const start = performance.now();
    const long = await capture(["--data", dir, "--horizon", "100000"]);
    assert.equal(long.status, 2, long.err);
    assert.ok(performance.now() - start < 20_000, "refused before the audit starts");
    assert.match(
      long.err,
      /^candor: horizon 100000 leaves no row with a defined 100000-day target: the longest series, S00, has 300 row\(s\)\. The audit needs the target on at least 30 rows, and on two non-overlapping 100000-day periods of one series \(a series of at least 300000 rows\), to tell a leak from chance: use a horizon of at most 100, or more history/,
    );
    const few = await capture(["--data", dir, "--horizon", "101"]);
    assert.equal(few.status, 2, few.err);
    assert.match(
      few.err,
      /horizon 101 leaves too few rows with a defined 101-day target \(398 in all\): the longest series, S00, has 300 row\(s\), 199 of them with a target\. .*use a horizon of at most 100, or more history/,
    );
    assert.equal(long.out, "");
    const max = await capture(["--data", dir, "--horizon", "100", "--symbols", "1", "--json"]);
    assert.equal(max.status, 0, max.err);
    const json = JSON.parse(max.out) as AuditJson;
    assert.equal(json.horizon, 100);
    assert.equal(json.controlReturns, 200);
    assert.equal(json.features.length, FULL_FEATURES.length);
    assert.deepEqual(json.leaking, []);
    // Unsafe integers are refused as arguments.
    const huge = await capture(["--data", dir, "--horizon", "99999999999999999999"]);
    assert.equal(huge.status, 2);
    assert.match(huge.err, /--horizon expects a positive integer, got "99999999999999999999"/);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

Deno.test("candor audit: no colour when stdout is not a terminal, even without NO_COLOR", async () => {
  const panel = randomWalkPanel(7, 2, 300);
  const c = pl.col("adj_close");
  const dir = writeFolder(panel.frame.withColumns(c.shift(-1).div(c).sub(1).over("symbol").alias("returns")));
  try {
    const env = Object.fromEntries(
      Object.entries(Deno.env.toObject()).filter(([k]) => k !== "NO_COLOR" && k !== "FORCE_COLOR"),
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("../../lib/cli/main.ts", import.meta.url).pathname, "audit", "--data", dir],
      clearEnv: true,
      env,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 3, new TextDecoder().decode(out.stderr));
    assert.match(text, /│ returns +│ file +│ leak +│/, "the leaking column is listed");
    assert.ok(!text.includes("\x1b["), `ANSI escapes in piped output: ${JSON.stringify(text.slice(0, 200))}`);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

realDataTest("candor audit --json on two real symbols: every built-in feature listed, all ok, exit 0", async () => {
  const dir = mkdtempSync(join(tmpdir(), "candor-audit-real-"));
  try {
    for (const s of ["AAPL", "MSFT"]) symlinkSync(realDataFile(s)!, join(dir, `${s}.csv.gz`));
    const r = await candor(["audit", "--data", dir, "--json", "--horizon", "5", "--symbols", "2"]);
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout) as AuditJson;
    assert.deepEqual(Object.keys(json), [
      "horizon",
      "symbolsAudited",
      "cutDates",
      "controlReturns",
      "leaking",
      "suspect",
      "features",
    ]);
    assert.equal(json.horizon, 5);
    assert.deepEqual(json.symbolsAudited, ["AAPL", "MSFT"]);
    assert.equal(json.cutDates.length, 4);
    assert.equal(json.controlReturns, 10);
    assert.deepEqual(json.features.map((f) => f.name), FULL_FEATURES.map((d) => d.name));
    for (const f of json.features) {
      assert.deepEqual(Object.keys(f), ["name", "source", "verdict", "reasons", "notes", "statistics"]);
      assert.equal(f.source, "built-in");
      assert.ok(Array.isArray(f.reasons));
      assert.equal(f.verdict, "ok", `${f.name}: ${f.reasons.join("; ")}`);
      assert.equal(f.statistics.truncation?.cuts, 4);
      assert.equal(f.statistics.truncation?.changed, 0);
    }
  } finally {
    rmSync(dir, { recursive: true });
  }
});

Deno.test("candor run refuses leaking data with exit 3; --allow-leakage trains and stores the override", async () => {
  const dir = mkdtempSync(join(tmpdir(), "candor-run-leak-"));
  try {
    const market = syntheticMarket({ symbols: 3, days: 400, seed: 5 });
    // "tomorrow": the next day's log return, the classic misaligned-returns leak.
    const leaked = market.panel.frame.withColumns(
      pl.col("adj_close").shift(-1).div(pl.col("adj_close")).log().over("symbol").fillNull(0).alias("tomorrow"),
    );
    await writePanelCsv(panelFromFrame(leaked, { extraColumns: ["tomorrow"] }), join(dir, "prices"));
    const db = join(dir, "runs.db");
    const args = ["run", "--data", join(dir, "prices"), "--folds", "2", "--db", db, "--json"];

    const refused = await candor(args);
    assert.equal(refused.code, 3, refused.stderr);
    assert.match(refused.stderr, /tomorrow/);
    assert.equal(refused.stdout, "");

    const allowed = await candor([...args, "--allow-leakage"]);
    assert.equal(allowed.code, 0, allowed.stderr);
    const result = JSON.parse(allowed.stdout) as { id: string; models: { runId: string }[]; warnings: string[] };
    assert.ok(result.warnings.some((w) => /override/.test(w) && /tomorrow/.test(w)), result.warnings.join("\n"));
    const store = openStore(db);
    try {
      const runs = await store.listRuns({});
      assert.equal(runs.length, 1, "the refused run stored nothing");
      const stored = await store.getRun(result.models[0].runId);
      assert.equal(stored?.leakageOverride, true);
      assert.equal(stored?.status, "succeeded");
      assert.equal((await store.getStudy(result.id))?.leakageOverride, true);
    } finally {
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true });
  }
});

Deno.test("candor audit --json on the planted market: the past 5-day return column is ok with its statistics, a leak is a leak", async () => {
  const market = syntheticMarket({ symbols: 4, days: 1200, seed: 9 });
  const c = pl.col("adj_close");
  const frame = market.panel.frame.withColumns(
    c.div(c.shift(5)).log().over("symbol").alias("momentum_5d"),
    c.shift(-1).div(c.shift(4)).log().over("symbol").alias("momentum_to_tomorrow"),
  );
  const dir = writeFolder(frame);
  try {
    for (const horizon of ["1", "5"]) {
      const r = await capture(["--data", dir, "--json", "--symbols", "1", "--horizon", horizon]);
      assert.equal(r.status, 3, r.err);
      const json = JSON.parse(r.out) as AuditJson;
      assert.equal(json.horizon, Number(horizon));
      assert.equal(json.cutDates.length, 4);
      const momentum = json.features.find((f) => f.name === "momentum_5d")!;
      assert.equal(momentum.source, "file");
      assert.equal(momentum.verdict, "ok", momentum.reasons.join("; "));
      assert.ok(momentum.notes.length > 0, "its predictiveness is noted");
      assert.equal(momentum.statistics.controlled?.pastReturns, 10);
      assert.equal(momentum.statistics.controlled?.survives, false);
      assert.ok(typeof momentum.statistics.ic?.z === "number" && momentum.statistics.ic.z > 3);
      const leak = json.features.find((f) => f.name === "momentum_to_tomorrow")!;
      assert.equal(leak.verdict, "leak", `h = ${horizon}`);
      assert.deepEqual(json.leaking, ["momentum_to_tomorrow"]);
    }
  } finally {
    rmSync(dir, { recursive: true });
  }
});
