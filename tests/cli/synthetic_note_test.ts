/**
 * On the synthetic market the "too good to be true" flags fold into one note saying the scores are expected there.
 * The note names only the entries whose numbers were flagged: an entry that learned nothing is not "expected" to
 * have scores that would "mean a leak" on real data.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { candor } from "../_helpers/candor_cli.ts";

Deno.test("the synthetic market's note names the flagged entries only", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const config = join(dir, "study.yaml");
    // gbm learns the planted signal (flagged: Sharpe far above buy & hold); flat barely moves from its random start.
    await Deno.writeTextFile(
      config,
      "data: { synthetic: { symbols: 8, days: 1200 } }\nvalidation: { folds: 2 }\nmodels:\n" +
        "  - { name: gbm, kind: xgboost }\n" +
        "  - { name: flat, kind: mlp, settings: { epochs: 1, learningRate: 1.0e-9, hidden: [4] } }\n",
    );
    const r = await candor(["run", "--config", config, "--no-store", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    const verdict = (name: string) => out.models.find((m: { name: string }) => m.name === name).pooled.verdict;
    assert.equal(verdict("gbm"), "edge");
    assert.equal(verdict("flat"), "no-edge");
    const notes = (out.warnings as string[]).filter((w) => w.startsWith("note: this is the synthetic market"));
    assert.equal(notes.length, 1, out.warnings.join("\n"));
    assert.match(notes[0], /the scores of gbm \(accuracy [\d.]+%, rank IC [-\d.]+, Sharpe [-\d.]+\) are expected here/);
    assert.ok(!notes[0].includes("flat ("), notes[0]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("candor simulate: on the synthetic market a strong forward Sharpe is the note; the same prices from files keep the warning", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const synthetic = join(dir, "synthetic.yaml"), files = join(dir, "files.yaml");
    await Deno.writeTextFile(
      synthetic,
      "data: { synthetic: { symbols: 20 } }\nmodels: [{ name: gbm, kind: xgboost }]\n",
    );
    const synth = await candor(["synth", "--out", join(dir, "prices")]); // the same market (default seed) as files
    assert.equal(synth.code, 0, synth.stderr);
    await Deno.writeTextFile(
      files,
      `data: { kind: files, path: ${JSON.stringify(join(dir, "prices"))} }\nmodels: [{ name: gbm, kind: xgboost }]\n`,
    );
    const warningsOf = async (config: string) => {
      const r = await candor(["simulate", "--config", config, "--from", "2017-01-03", "--json"]);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout).entries[0].warnings as string[];
    };
    const onSynthetic = await warningsOf(synthetic);
    assert.equal(onSynthetic.filter((w) => /too good to be true/.test(w)).length, 0, onSynthetic.join("\n"));
    assert.equal(onSynthetic.length, 1, onSynthetic.join("\n"));
    assert.match(
      onSynthetic[0],
      /^note: this is the synthetic market .*: gbm's forward Sharpe [\d.]+ is expected here/,
    );
    const onFiles = await warningsOf(files);
    assert.ok(onFiles.some((w) => /too good to be true/.test(w)), onFiles.join("\n"));
    assert.ok(!onFiles.some((w) => w.startsWith("note: this is the synthetic market")), onFiles.join("\n"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
