/**
 * checkPanelAdequacy / assertPanelAdequate: too few dates, a horizon as long as the data, constant prices — each
 * found with the numbers, on panels built by hand so the expected numbers are known.
 */

import assert from "node:assert/strict";
import { assertPanelAdequate, checkPanelAdequacy, MIN_LEARNING_DATES } from "../../lib/data/adequacy.ts";
import { ConfigError, DataError } from "../../lib/errors.ts";
import { panelOfRows, randomWalkPanel } from "../features/_panels.ts";

Deno.test("a long random walk is adequate: no problem, the numbers counted", () => {
  const panel = randomWalkPanel(3, 2, 300);
  const found = checkPanelAdequacy(panel, { horizon: 5 });
  assert.equal(found.ok, true, found.problems.join("; "));
  assert.deepEqual(found.problems, []);
  assert.equal(found.symbols, 2);
  assert.equal(found.dates, 300);
  assert.equal(found.rows, 600);
  assert.equal(found.datesWithTarget, 295);
  assert.equal(found.minDates, MIN_LEARNING_DATES);
  assert.deepEqual(found.constantSymbols, []);
  assert.equal(assertPanelAdequate(panel, { horizon: 5 }).ok, true);
});

Deno.test("a 15-row file is too short: dates, dates with a target and the minimum in the message", () => {
  const panel = randomWalkPanel(4, 1, 15);
  const found = checkPanelAdequacy(panel, { horizon: 1, source: "prices/X.csv" });
  assert.equal(found.tooShort, true);
  assert.equal(found.datesWithTarget, 14);
  assert.deepEqual(found.problems, [
    `too few dates to learn from: 15 date(s), of which 14 have a 1-day target, fewer than the ${MIN_LEARNING_DATES} ` +
    `required; use more history (or a shorter horizon)`,
  ]);
  assert.throws(() => assertPanelAdequate(panel, { source: "prices/X.csv" }), (e: unknown) => {
    assert.ok(e instanceof DataError);
    assert.equal(e.file, "prices/X.csv");
    assert.match(e.message, /^prices\/X\.csv: cannot learn from these prices: too few dates to learn from: 15 date/);
    assert.equal(e.found, "1 symbol(s), 15 date(s), 15 row(s)");
    return true;
  });
  // The caller's own need: 10 dates are enough for a plan that asks for 10.
  assert.equal(checkPanelAdequacy(panel, { minDates: 10 }).ok, true);
  assert.equal(checkPanelAdequacy(panel, { minDates: 15 }).tooShort, true);
});

Deno.test("a horizon as long as the data leaves no target, and says so with the horizon", () => {
  const panel = randomWalkPanel(5, 1, 200);
  const found = checkPanelAdequacy(panel, { horizon: 200 });
  assert.equal(found.datesWithTarget, 0);
  assert.equal(found.tooShort, true);
  assert.match(
    found.problems[0],
    /^the horizon of 200 trading day\(s\) is not shorter than the data \(200 date\(s\)\)/,
  );
  assert.equal(checkPanelAdequacy(panel, { horizon: 100, minDates: 100 }).ok, true);
  assert.equal(checkPanelAdequacy(panel, { horizon: 101, minDates: 100 }).tooShort, true);
});

Deno.test("constant prices: one symbol among others, and the whole panel, with price, rows and dates", () => {
  const dates = ["2021-01-04", "2021-01-05", "2021-01-06", "2021-01-07"];
  const moving = dates.map((date, i) => ({ symbol: "MOVE", date, close: 10 + i }));
  const flat = dates.map((date) => ({ symbol: "FLAT", date, close: 7.5 }));
  const lone = [{ symbol: "ONE", date: dates[0], close: 3 }]; // one row: no return to be constant
  const mixed = checkPanelAdequacy(panelOfRows([...flat, ...moving, ...lone]), { minDates: 1 });
  assert.deepEqual(mixed.constantSymbols, [
    { symbol: "FLAT", rows: 4, price: 7.5, firstDate: "2021-01-04", lastDate: "2021-01-07" },
  ]);
  assert.equal(mixed.constantPanel, false);
  assert.deepEqual(mixed.problems, [
    `constant prices: adj_close never changes for 1 of 2 symbol(s): FLAT (7.5 on all 4 rows, 2021-01-04 → ` +
    `2021-01-07); their returns are all 0 and would be learned as "down"; drop them or fix their prices`,
  ]);

  const allFlat = checkPanelAdequacy(panelOfRows(flat), { minDates: 1 });
  assert.equal(allFlat.constantPanel, true);
  assert.match(allFlat.problems[0], /^constant prices: adj_close never changes for any of the 1 symbol\(s\): FLAT/);
  assert.throws(() => assertPanelAdequate(panelOfRows(flat), { minDates: 1, source: "flat.csv" }), (e: unknown) => {
    assert.ok(e instanceof DataError);
    assert.equal(e.found, "1 symbol(s), 4 date(s), 4 row(s), 1 with constant prices");
    return true;
  });
});

Deno.test("bad options are ConfigErrors, not data problems", () => {
  const panel = randomWalkPanel(6, 1, 50);
  assert.throws(() => checkPanelAdequacy(panel, { horizon: 0 }), ConfigError);
  assert.throws(() => checkPanelAdequacy(panel, { minDates: 2.5 }), ConfigError);
});
