import assert from "node:assert/strict";
import { DEFAULT_CONFIG, resolveConfig } from "../../lib/pipeline/config.ts";
import { ConfigError } from "../../lib/errors.ts";

Deno.test("resolveConfig: defaults are the documented demo (20 symbols × 2520 days, 5 folds, h = 1, lag 1)", () => {
  const c = resolveConfig();
  assert.deepEqual(c.data, { kind: "synthetic", symbols: 20, days: 2520, mode: "planted", seed: 42 });
  assert.equal(c.folds, 5);
  assert.equal(c.horizon, 1);
  assert.equal(c.purge, 1);
  assert.equal(c.backtest.lag, 1);
  assert.equal(c.model.kind, "xgboost");
  assert.equal(c.model.kind === "xgboost" && c.model.params.objective, "binary:logistic");
  assert.notEqual(c, DEFAULT_CONFIG);
});

Deno.test("resolveConfig: the purge defaults to the horizon and may not be shorter", () => {
  assert.equal(resolveConfig({ horizon: 5 }).purge, 5);
  assert.equal(resolveConfig({ horizon: 5, purge: 8 }).purge, 8);
  assert.throws(
    () => resolveConfig({ horizon: 5, purge: 4 }),
    (e) => e instanceof ConfigError && /purge \(4\)/.test(e.message),
  );
});

Deno.test("resolveConfig: same-bar trading (lag 0), negative costs and unknown modes are refused", () => {
  assert.throws(() => resolveConfig({ backtest: { lag: 0 } }), ConfigError);
  assert.throws(() => resolveConfig({ backtest: { costBps: -1 } }), ConfigError);
  assert.throws(() => resolveConfig({ data: { kind: "synthetic", mode: "trending" as "planted" } }), ConfigError);
  assert.throws(() => resolveConfig({ folds: 1 }), ConfigError);
  assert.throws(() => resolveConfig({ data: { kind: "files", path: "" } }), ConfigError);
});
