/**
 * `rowDatePositions`: each row's index on the panel's sorted date axis, by hand on a small panel and as a property
 * (against `indexOf` on the sorted union) on random ones.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { rowDatePositions } from "../../lib/data/panel.ts";
import { panelOfRows } from "../features/_panels.ts";

Deno.test("rowDatePositions: each row's index on the sorted union of dates", () => {
  const panel = panelOfRows([
    { symbol: "A", date: "2020-01-02" },
    { symbol: "A", date: "2020-01-06" },
    { symbol: "B", date: "2020-01-03" },
    { symbol: "B", date: "2020-01-06" },
    { symbol: "B", date: "2020-01-07" },
  ]);
  assert.deepStrictEqual(panel.dates, ["2020-01-02", "2020-01-03", "2020-01-06", "2020-01-07"]);
  assert.deepStrictEqual([...rowDatePositions(panel)], [0, 2, 1, 2, 3]);
  // Computed once per panel.
  assert.equal(rowDatePositions(panel), rowDatePositions(panel));
});

Deno.test("rowDatePositions: property — positions index panel.dates back to each row's date", () => {
  const day = (k: number) => new Date(Date.UTC(2001, 0, 1 + k)).toISOString().slice(0, 10);
  fc.assert(
    fc.property(
      fc.array(fc.uniqueArray(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 30 }), {
        minLength: 1,
        maxLength: 6,
      }),
      (days) => {
        const rows = days.flatMap((ks, s) =>
          [...ks].sort((a, b) => a - b).map((k) => ({ symbol: `S${s}`, date: day(k) }))
        );
        const panel = panelOfRows(rows);
        const expected = [...new Set(rows.map((r) => r.date))].sort();
        const at = rowDatePositions(panel);
        assert.deepStrictEqual(panel.dates, expected);
        assert.deepStrictEqual([...at].map((i) => panel.dates[i]), rows.map((r) => r.date));
      },
    ),
    { numRuns: 50 },
  );
});
