/**
 * The one-sided-calls check (lib/pipeline/evaluate.ts `callShare`, `predictionHealth`) on calls counted by hand: two-way
 * calls hold the share of "up" calls to the band; three classes hold the most-called class's share to the band's upper
 * end, so a class called rarely is not mistaken for a collapse.
 */
import assert from "node:assert/strict";
import { callShare, callShareText, predictionHealth } from "../../lib/pipeline/evaluate.ts";
import type { StudyData } from "../../lib/pipeline/trainers/contract.ts";

const BAND = [0.2, 0.8] as const;
/** `n` calls: `counts[c]` of class c, in class order. */
const calls = (...counts: number[]) => Int8Array.from(counts.flatMap((k, c) => Array<number>(k).fill(c)));

Deno.test("callShare, two-way calls: the share of up calls against both ends of the band", () => {
  assert.deepEqual(callShare("binary", calls(45, 55), BAND), {
    call: "up",
    share: 0.55,
    band: [0.2, 0.8],
    inBand: true,
  });
  const low = callShare("regression", calls(90, 10), BAND);
  assert.equal(low.share, 0.1);
  assert.equal(low.inBand, false);
  assert.equal(callShare("binary", calls(15, 85), BAND).inBand, false);
  assert.equal(callShareText(low), 'share of "up" calls 10.0% outside [20.0%, 80.0%]');
});

Deno.test("callShare, three classes: a rarely called class passes, one class taking nearly every call does not", () => {
  // Up called on 12 % of rows, flat on 74 %: no class above 80 % — the binary rule would have flagged the 12 %.
  const spread = callShare("multiclass", calls(14, 74, 12), BAND);
  assert.equal(spread.call, "flat");
  assert.equal(spread.share, 0.74);
  assert.equal(spread.inBand, true);
  assert.deepEqual(spread.classShares, [0.14, 0.74, 0.12]);
  const collapsed = callShare("multiclass", calls(91, 6, 3), BAND);
  assert.equal(collapsed.call, "down");
  assert.equal(collapsed.inBand, false);
  assert.equal(
    callShareText(collapsed),
    'share of "down" calls, the most called class, 91.0% above 80.0% (down/flat/up 91.0%/6.0%/3.0%)',
  );
  // Exactly at the upper end passes, as it does for two-way calls.
  assert.equal(callShare("multiclass", calls(10, 80, 10), BAND).inBand, true);
});

Deno.test("predictionHealth: three-class scores called mostly flat but not collapsed raise no warning; collapsed ones do", () => {
  const data = { task: "multiclass", classes: 3 } as unknown as StudyData;
  // Row scores [down, flat, up]; each row's call is its largest score.
  const rows = (down: number, flat: number, up: number) => {
    const out: number[] = [];
    for (let i = 0; i < down; i++) out.push(0.5, 0.3, 0.2);
    for (let i = 0; i < flat; i++) out.push(0.2 + 0.001 * i, 0.6, 0.2);
    for (let i = 0; i < up; i++) out.push(0.1, 0.3, 0.6);
    return Float64Array.from(out);
  };
  const ok = predictionHealth(0, data, rows(15, 75, 10));
  assert.deepEqual(ok.warnings, []);
  const check = ok.diagnostics.find((d) => d.kind === "up-share")!;
  assert.equal(check.severity, "info");
  assert.equal(check.data!.call, "flat");
  assert.equal(check.data!.shareUp, 0.1);
  const bad = predictionHealth(2, data, rows(2, 95, 3));
  assert.equal(bad.warnings.length, 1);
  assert.match(bad.warnings[0], /^fold 3: share of "flat" calls, the most called class, 95\.0% above 80\.0%/);
  assert.match(bad.warnings[0], /mostly calls one class, so its accuracy is close to that class's base rate$/);
});
