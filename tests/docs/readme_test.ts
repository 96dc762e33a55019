import assert from "node:assert/strict";
import { formatMarkdown, updateReadme } from "../../tools/config_docs.ts";

Deno.test("README's study-config and model-kind tables are the ones generated from the schemas (deno task docs)", async () => {
  const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
  assert.equal(await formatMarkdown(updateReadme(readme)), readme, "README.md is out of date: run deno task docs");
  // The tables hold every kind and every top-level key.
  for (
    const kind of [
      "xgboost",
      "elasticnet",
      "ridge",
      "logistic",
      "mlp",
      "lstm",
      "lstm-regressor",
      "lstm-transformer",
      "xlstm",
      "stacking",
    ]
  ) {
    assert.ok(readme.includes(`**\`${kind}\`** — `), kind);
  }
  for (
    const key of [
      "data.path",
      "target.horizon",
      "validation.scheme",
      "features.set",
      "models[].kind",
      "backtest.costBps",
      "gate.wfeThreshold",
      "seed",
    ]
  ) {
    assert.ok(readme.includes(`| \`${key}\``), key);
  }
});
