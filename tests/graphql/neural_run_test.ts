import assert from "node:assert/strict";
import { join } from "node:path";
import { openStore } from "../../lib/store/mod.ts";
import { createGraphQLHandler } from "../../graphql/handler.ts";
import { runStudy } from "../../lib/pipeline/study.ts";
import { query } from "../_helpers/graphql_client.ts";

const HEALTH = `query ($id: ID!) {
  run(id: $id) {
    model backend
    folds { index fitReport accuracy: metric(name: "accuracy") }
    epochs(fold: 0) { fold epoch trainLoss valLoss gradNorm clipRatio nonFinite }
    diagnostics { fold kind severity message }
    warnings: diagnostics(severity: warning) { kind }
  }
}`;

Deno.test("graphql: a real MLP run's training health (epochs of fold 0, diagnostics) as the pipeline stored it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "candor-graphql-neural-" });
  const store = openStore(join(dir, "runs.db"));
  try {
    const study = await runStudy(
      {
        data: { synthetic: { symbols: 4, days: 400, mode: "planted", seed: 5 } },
        validation: { folds: 2 },
        models: [{ kind: "mlp", settings: { hidden: [8], epochs: 3, patience: 2, batchSize: 64 } }],
      },
      { store },
    );
    const r = study.report.entries[0];
    const stored = (await store.getRun(r.runId!))!;
    const res = await query(createGraphQLHandler(store), HEALTH, { id: r.runId });
    assert.equal(res.errors, undefined, JSON.stringify(res.errors));
    // deno-lint-ignore no-explicit-any
    const run = res.data!.run as any;
    assert.equal(run.model, "mlp");
    assert.equal(run.backend, r.backend);
    assert.equal(run.folds.length, 2);
    for (const f of run.folds) {
      assert.equal(f.fitReport.backend.name, r.backend);
      assert.equal(f.accuracy, r.folds[f.index].metrics.accuracy);
    }

    // Fold 0's epochs: exactly the stored ones, in order, with the pipeline's numbers.
    const epochs0 = stored.epochs.filter((e) => e.fold === 0);
    assert.ok(epochs0.length >= 1 && epochs0.length <= 3);
    assert.equal(epochs0.length, r.folds[0].fit.iterations);
    assert.deepEqual(
      run.epochs,
      epochs0.map((e) => ({
        fold: 0,
        epoch: e.epoch,
        trainLoss: e.trainLoss,
        valLoss: e.valLoss,
        gradNorm: e.gradNorm,
        clipRatio: e.clipRatio,
        nonFinite: [],
      })),
    );
    assert.deepEqual(run.epochs.map((e: { epoch: number }) => e.epoch), epochs0.map((_, i) => i));

    // Diagnostics: every fold has its training-health verdict, the run its verdict and gate findings.
    for (const fold of [0, 1]) {
      const verdict = run.diagnostics.find((d: { fold: number; kind: string }) =>
        d.fold === fold && d.kind === "training-health"
      );
      assert.equal(verdict.message, r.folds[fold].health);
      assert.ok(
        run.diagnostics.some((d: { fold: number; kind: string }) => d.fold === fold && d.kind === "variance-collapse"),
      );
    }
    for (const kind of ["verdict", "gate"]) {
      assert.ok(run.diagnostics.some((d: { fold: null; kind: string }) => d.fold === null && d.kind === kind), kind);
    }
    assert.equal(run.diagnostics.length, stored.diagnostics.length);
    assert.equal(run.warnings.length, stored.diagnostics.filter((d) => d.severity === "warning").length);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
