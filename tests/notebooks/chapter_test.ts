/**
 * The chapters' data source (notebooks/chapter.ts) and facts (notebooks/facts.ts), outside Jupyter: real prices only
 * from an existing folder, the synthetic market only when no folder is configured, and a note that says which.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { dataNote, loadChapterPrices } from "../../notebooks/chapter.ts";
import { recordFacts } from "../../notebooks/facts.ts";
import { realDataTest } from "../_helpers/real_data.ts";

const REQUEST = {
  symbols: ["AAPL", "MSFT"],
  start: "2015-01-01",
  end: "2015-12-31",
  synthetic: { symbols: 3, days: 120, seed: 9, mode: "random-walk" as const },
};

Deno.test("without a real-data folder a chapter runs on the synthetic market and its note says so", async () => {
  for (const folder of [undefined, ""]) {
    const prices = await loadChapterPrices(REQUEST, folder);
    assert.equal(prices.source, "synthetic");
    assert.deepEqual(prices.panel.symbols, ["SYN00", "SYN01", "SYN02"]);
    assert.equal(prices.panel.dates.length, 120);
    assert.equal(prices.market?.params.seed, 9);
    const note = dataNote(prices);
    assert.match(note, /synthetic — not real prices/);
    assert.match(note, /CANDOR_REAL_DATA/);
    assert.match(note, /3 symbols × 120 trading days/);
  }
});

Deno.test("a real-data folder that does not exist is an error, not a silent switch to synthetic prices", async () => {
  const dir = await Deno.makeTempDir({ prefix: "candor-chapter-" });
  try {
    const missing = join(dir, "nothing-here");
    await assert.rejects(() => loadChapterPrices(REQUEST, missing), /CANDOR_REAL_DATA=.*nothing-here: no such folder/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

realDataTest("with the real-data folder a chapter loads the named symbols, cut to its dates", async (dir) => {
  const prices = await loadChapterPrices(REQUEST, dir);
  assert.equal(prices.source, "real");
  assert.deepEqual(prices.panel.symbols, ["AAPL", "MSFT"]);
  // 2015 had 252 NYSE trading days; both stocks traded on all of them.
  assert.equal(prices.panel.dates.length, 252);
  assert.equal(prices.panel.dates[0], "2015-01-02");
  assert.equal(prices.panel.dates.at(-1), "2015-12-31");
  assert.equal(prices.panel.frame.height, 2 * 252);
  assert.match(
    dataNote(prices),
    /^\*\*Data: real prices\.\*\* S&P 500 daily prices: AAPL, MSFT, 2015-01-02 → 2015-12-31/,
  );
  // The note names the variable, not a path of the machine that rendered the report.
  assert.ok(!dataNote(prices).includes(dir));
  await assert.rejects(
    () => loadChapterPrices({ ...REQUEST, symbols: ["AAPL", "NOSUCH"] }, dir),
    /NOSUCH/,
  );
});

Deno.test("recordFacts refuses non-finite numbers (JSON would turn them into null) and is silent outside Jupyter", async () => {
  await recordFacts({ a: 1, b: [0.5, { c: "x" }], d: null });
  await assert.rejects(() => recordFacts({ a: 1, nested: { b: [0, NaN] } }), /nested\.b\[1\] = NaN/);
  await assert.rejects(() => recordFacts({ x: Infinity }), /x = Infinity/);
});
