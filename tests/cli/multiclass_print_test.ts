/** A 3-class study's printout puts its macro-F1 beside what guessing in the class shares scores (1/3, by hand). */
import assert from "node:assert/strict";
import { candor } from "../_helpers/candor_cli.ts";
import { macroF1 } from "../../lib/metrics/classification.ts";

Deno.test("macro-F1 of guessing in the class shares is 1/3 whatever the shares (simulated), and is printed beside it", async () => {
  // Per class k: precision = recall = share p_k, so F1_k = p_k and the macro mean is 1/3. Uneven shares, 60,000 rows.
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const draw = () => {
    const u = rand();
    return u < 0.2 ? 0 : u < 0.75 ? 1 : 2;
  };
  const truth = Array.from({ length: 60_000 }, draw), guess = Array.from({ length: 60_000 }, draw);
  assert.ok(Math.abs(macroF1(truth, guess, [0, 1, 2]) - 1 / 3) < 0.01);

  const r = await candor([
    "demo",
    ...["--symbols", "4", "--days", "600", "--folds", "2", "--target", "direction3", "--model", "xgboost"],
    "--no-store",
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /macro-F1 [\d.]+ \(guessing in the class shares: 0\.333\)/);
});

Deno.test("a mean cross-sectional rank IC that cannot be computed (under 5 symbols a date) says why", async () => {
  const r = await candor([
    "demo",
    ...["--symbols", "3", "--days", "500", "--folds", "2", "--model", "logistic", "--no-store"],
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /mean cross-sectional rank IC — \(undefined: it needs 5 symbols with a prediction on a date\)/,
  );
});
