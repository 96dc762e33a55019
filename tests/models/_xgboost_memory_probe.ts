/**
 * Memory probe for tests/models/xgboost_explain_test.ts, run in a process of its own (so no other test module's
 * allocations share its resident set) with `--v8-flags=--expose-gc` (so collectable JS garbage is collected before
 * each reading). Prints `{"grownMB": …}`: the resident-set growth over 1,000 fit/predict cycles after 300 warm-up
 * cycles. With the argument `leak`, models are not disposed, to show the probe sees a real leak.
 */
import { XGBoostModel } from "../../lib/models/xgboost/model.ts";
import { classification } from "./_synthetic.ts";

const leak = Deno.args[0] === "leak";
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with --v8-flags=--expose-gc");
const { X, label } = classification(200, 5, 31);
const kept: XGBoostModel[] = [];
const cycle = async () => {
  const m = new XGBoostModel({ params: { objective: "binary:logistic", max_depth: 3, nthread: 1 }, numBoostRound: 5 });
  await m.fit(X, label, { validation: { X, y: label } });
  m.predict(X);
  if (leak) kept.push(m);
  else m.dispose();
};
for (let i = 0; i < 300; i++) await cycle();
gc();
const before = Deno.memoryUsage().rss;
for (let i = 0; i < 1000; i++) await cycle();
gc();
const grownMB = (Deno.memoryUsage().rss - before) / 2 ** 20;
console.log(JSON.stringify({ grownMB, kept: kept.length }));
for (const m of kept) m.dispose();
