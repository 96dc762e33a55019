/** The dashboard's one-sided-calls line (graphql/page/run_view.ts `upShareText`), two-way and three-class. */
import assert from "node:assert/strict";
import { upShareText } from "../../graphql/page/run_view.ts";

Deno.test("dashboard up-share line: the share of up calls and its band; for three classes the most-called class", () => {
  const band = { low: 0.2, high: 0.8 };
  assert.equal(
    upShareText({ call: "up", share: 0.6, band, inBand: true, classShares: null }),
    'share of "up" calls 60.0% (band 20%–80%)',
  );
  assert.equal(
    upShareText({ call: "flat", share: 0.74, band, inBand: true, classShares: [0.14, 0.74, 0.12] }),
    'most called class "flat" 74.0% of calls (at most 80%; down/flat/up 14.0%/74.0%/12.0%)',
  );
});
