import assert from "node:assert/strict";
import { registerTrainer, unregisterTrainer } from "../../lib/pipeline/trainers/registry.ts";
import { runStudy } from "../../lib/pipeline/study.ts";
import { resolveStudyConfig } from "../../lib/pipeline/config.ts";
import { ConfigError } from "../../lib/errors.ts";
import { formatStudy } from "../../lib/cli/format.ts";
import { toyTrainer } from "./_toy_kind.ts";

Deno.test("a new model kind is one file plus one line: the toy kind trains in a study beside a built-in one", async () => {
  registerTrainer(toyTrainer); // the one line
  try {
    assert.throws(
      () => resolveStudyConfig({ models: [{ kind: "toy-sign", settings: { tilt: 0.9 } }] }),
      (e) => e instanceof ConfigError && /models\[0\]\.settings\.tilt/.test(e.message),
    );
    assert.throws(
      () => resolveStudyConfig({ models: [{ kind: "toy-sign", settings: { tlt: 0.2 } }] }),
      /models\[0\]\.settings\.tlt: unknown key \(did you mean "tilt"\?\); allowed here: tilt/,
    );
    const r = await runStudy({
      data: { synthetic: { symbols: 4, days: 600, seed: 3 } },
      validation: { folds: 2 },
      models: [{ kind: "toy-sign" }, { kind: "logistic" }],
    });
    const toy = r.report.entries.find((e) => e.kind === "toy-sign")!;
    assert.equal(toy.folds.length, 2);
    assert.equal(toy.backend, "none");
    // Its rows are the plan's test rows, exactly the rows the built-in entry was scored on.
    const other = r.report.entries.find((e) => e.kind === "logistic")!;
    assert.deepEqual(toy.folds.map((f) => f.nTest), other.folds.map((f) => f.nTest));
    // Its calls: P(up) = 0.5 ± 0.1, so every prediction is one of two values and the share of up calls is theirs.
    const scores = r.predictions.get("toy-sign")!.scores;
    assert.ok(scores.every((p) => Math.abs(p - 0.6) < 1e-12 || Math.abs(p - 0.4) < 1e-12 || p === 0.5));
    assert.ok(Number.isFinite(toy.pooled.accuracy));
  } finally {
    unregisterTrainer("toy-sign");
  }
});

Deno.test("one-sided test calls make a fold unhealthy: fold health, the comparison row and the printed study say so", async () => {
  // The toy kind calls up on about half the rows, whatever it was fitted on: inside the default band [20 %, 80 %], and
  // outside a band whose upper end is 45 % — by construction, so the band alone decides the fold's health.
  registerTrainer(toyTrainer);
  try {
    const study = (band: [number, number]) =>
      runStudy({
        data: { synthetic: { symbols: 4, days: 600, seed: 3 } },
        validation: { folds: 2 },
        models: [{ kind: "toy-sign" }],
        health: { upShareBand: band },
      });
    const wide = await study([0.2, 0.8]);
    assert.deepEqual(wide.report.entries[0].folds.map((f) => f.health), ["healthy", "healthy"]);
    assert.equal(wide.report.comparison[0].health, "healthy");
    assert.match(formatStudy(wide.report), /^Health \(training and test calls\): healthy in every fold$/m);

    const narrow = await study([0.2, 0.45]);
    const folds = narrow.report.entries[0].folds;
    assert.equal(folds.length, 2);
    for (const f of folds) {
      assert.match(
        f.health,
        /^share of "up" calls [\d.]+% outside \[20\.0%, 45\.0%\]: the model mostly calls one side/,
      );
    }
    assert.equal(narrow.report.comparison[0].health, "2 of 2 folds unhealthy");
    assert.match(formatStudy(narrow.report), /^fold 1 health: share of "up" calls /m);
  } finally {
    unregisterTrainer("toy-sign");
  }
});
