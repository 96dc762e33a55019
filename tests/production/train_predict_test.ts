/**
 * Production end to end on a market whose next-day driver is known by construction (the synthetic market's
 * conditional mean of tomorrow's return, written as the file column `driver`): a study → its gate → production
 * training on the first 540 days → predictions at later dates. The positions must follow the driver; the same inputs
 * must give the same output; bad input must be refused with exit status 2 and nothing stored.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cpSync } from "node:fs";
import pl from "nodejs-polars";
import { syntheticMarket } from "../../lib/data/synthetic.ts";
import { writePanelCsv } from "../../lib/data/write.ts";
import { panelFromFrame } from "../../lib/data/panel.ts";
import { runStudy } from "../../lib/pipeline/study.ts";
import { resolveStudyConfig } from "../../lib/pipeline/config.ts";
import { openStore } from "../../lib/store/mod.ts";
import { newModelId } from "../../lib/store/mod.ts";
import { trainProduction } from "../../lib/production/train.ts";
import { fromStudyResult } from "../../lib/production/study_source.ts";
import { predictLatest } from "../../lib/production/predict.ts";
import { readManifest, writeManifest } from "../../lib/production/model.ts";
import { applyCalibrator, fitIsotonic } from "../../lib/models/calibration/calibration.ts";
import { compact } from "../../lib/production/train.ts";
import fc from "fast-check";
import { candor } from "../_helpers/candor_cli.ts";

const DAYS = 600, TRAIN_DAYS = 540;
const market = syntheticMarket({ symbols: 8, days: DAYS, seed: 7, exposeDriver: true, signalStrength: 0.35 });
const trainEnd = market.panel.dates[TRAIN_DAYS - 1];
const laterDates = market.panel.dates.slice(TRAIN_DAYS + 5, DAYS).filter((_, i) => i % 5 === 0);

/** sign(driver) per (symbol, date): the oracle's call. */
const driverSign = new Map<string, number>();
{
  const f = market.panel.frame;
  const d = f.getColumn("date").toArray() as string[], s = f.getColumn("symbol").toArray() as string[];
  const v = f.getColumn("driver").toArray() as number[];
  d.forEach((date, i) => driverSign.set(`${s[i]}|${date}`, Math.sign(v[i])));
}

function study(path: string) {
  return resolveStudyConfig({
    data: { path },
    target: { kind: "direction", horizon: 1 },
    validation: { folds: 3 },
    features: { set: ["RET1"], columns: ["driver"] },
    models: [{ name: "lin", kind: "logistic" }],
    seed: 1,
  });
}

Deno.test("production: study → gate → train on all labelled data → predict later dates; positions follow the known driver", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "candor-production-" });
  const trainPrices = join(dir, "train"), allPrices = join(dir, "all"), noDriver = join(dir, "no-driver");
  const db = join(dir, "runs.db"), models = join(dir, "models");
  writePanelCsv(
    panelFromFrame(market.panel.frame.filter(pl.col("date").lessThanEquals(pl.lit(trainEnd))), {
      extraColumns: ["driver"],
    }),
    trainPrices,
  );
  writePanelCsv(market.panel, allPrices);
  writePanelCsv(panelFromFrame(market.panel.frame, { extraColumns: [] }), noDriver);
  const store = openStore(db);
  try {
    const config = study(trainPrices);
    const result = await runStudy(config, { store });
    const entry = result.report.entries[0];
    assert.equal(entry.gate.passed, true, entry.gate.reason);

    let modelId = "";
    await t.step("train: one model per passing entry, registered with everything needed to predict", async () => {
      const r = await trainProduction({ ...fromStudyResult(result, config), store, modelsDir: models });
      assert.equal(r.models.length, 1);
      const m = r.models[0].manifest;
      modelId = m.id;
      assert.equal(m.study.id, result.id);
      assert.equal(m.study.runId, entry.runId);
      assert.deepEqual(m.study.gate, entry.gate);
      assert.equal(m.study.skipGate, false);
      assert.deepEqual(m.features.names, ["RET1", "driver"]);
      assert.equal(m.features.builtIn[0].kind, "expr");
      assert.ok(m.features.builtIn[0].expr !== undefined, "the expression is saved");
      assert.equal(m.dataFingerprint, result.report.fingerprint);
      assert.equal(m.trainedOn.lastPriceDate, trainEnd);
      // All labelled data: the last label date is the one before the last price (h = 1); tail + fit = every date.
      assert.equal(m.trainedOn.to, market.panel.dates[TRAIN_DAYS - 2]);
      assert.equal(m.trainedOn.from, market.panel.dates[0]);
      const { prior, holdoutAccuracy, trainShareUp } = m.winRatePrior;
      assert.equal(prior, Math.min(0.6, Math.max(0.5, holdoutAccuracy, trainShareUp)));
      assert.ok(
        m.targetStats.fit.n === m.trainedOn.rows.fit && m.targetStats.validation.n === m.trainedOn.rows.validation,
      );
      // The early-stopping tail is the last 15 % of the dates, the purge (1 date) before it.
      const dates = TRAIN_DAYS - 1;
      assert.equal(m.trainedOn.rows.validation, 8 * Math.round(dates * 0.15));
      assert.equal(m.trainedOn.rows.fit, 8 * (dates - Math.round(dates * 0.15) - 1));
      const [record] = await store.getModels([m.id]);
      assert.equal(record.path, r.models[0].path);
      assert.equal(record.skipGate, false);
      assert.equal(record.dataFingerprint, m.dataFingerprint);
      await Deno.stat(join(record.path, "entries", "lin", "linear.json"));
      await Deno.stat(join(record.path, "entries", "lin", "scaler.json"));
    });

    await t.step(
      "predict: at later dates the positions follow sign(driver); the same inputs give the same output",
      async () => {
        const [record] = await store.getModels([modelId]);
        const manifest = await readManifest(record.path);
        // The calibration was fitted on the study's out-of-fold predictions: every test row of the 3 folds.
        assert.equal(manifest.calibration?.rows, entry.folds.reduce((n, f) => n + f.nTest, 0));
        const scored: [number, number][] = [];
        let agree = 0, total = 0;
        for (const asOf of laterDates) {
          const { output } = await predictLatest({ store, model: modelId, data: allPrices, asOf });
          assert.equal(output.asOf, asOf);
          assert.equal(output.predictions.length, 8);
          // The confidence is read beside always long's rate on the training rows (the manifest's, as a percentage).
          assert.ok(
            output.conventions.confidence.endsWith(
              `; for scale, always long was right on ${
                (100 * manifest.winRatePrior.trainShareUp).toFixed(1)
              }% of the training rows`,
            ),
            output.conventions.confidence,
          );
          for (const p of output.predictions) {
            assert.equal(p.date, asOf);
            assert.ok(p.score > 0 && p.score < 1);
            const cal: number = applyCalibrator(manifest.calibration!.calibrator, [p.score])[0];
            assert.equal(p.confidence, p.score > 0.5 ? cal : 1 - cal);
            scored.push([p.score, p.confidence]);
            // sign sizing, long-short book: ±1 per symbol, ±1/8 of capital.
            assert.equal(Math.abs(p.position), 1);
            assert.equal(p.weight, p.position / 8);
            total++;
            if (Math.sign(p.position) === driverSign.get(`${p.symbol}|${asOf}`)) agree++;
          }
        }
        assert.ok(agree / total >= 0.9, `positions follow the driver in ${agree} of ${total} predictions`);
        // Calibrated confidence: a probability, monotone in the score on each side of 0.5 (an isotonic map).
        for (const up of [true, false]) {
          const side = scored.filter(([x]) => (x > 0.5) === up).sort((a, b) => a[0] - b[0]);
          for (let i = 1; i < side.length; i++) {
            const step = side[i][1] - side[i - 1][1];
            assert.ok(up ? step >= 0 : step <= 0, `confidence not monotone at ${side[i][0]}`);
          }
        }
        assert.ok(scored.every(([, c]) => c >= 0 && c <= 1));
        const a = await predictLatest({ store, model: "latest", data: allPrices, asOf: laterDates[2] });
        const b = await predictLatest({ store, model: modelId, data: allPrices, asOf: laterDates[2] });
        assert.deepEqual(a, b);
        // A gap of more than 21 trading days since training is said on every prediction.
        const last = await predictLatest({ store, model: modelId, data: allPrices });
        assert.equal(last.output.asOf, market.panel.dates[DAYS - 1]);
        assert.ok(
          last.output.predictions.every((p) => p.warnings.some((w) => /gap since training: 60 trading days/.test(w))),
        );
      },
    );

    await t.step("candor predict --json: the documented shape, stored, identical when repeated", async () => {
      const before = (await store.listProductionPredictions([modelId])).length;
      const args = ["predict", "--model", modelId, "--data", allPrices, "--as-of", laterDates[0], "--json", "--db", db];
      const one = await candor(args);
      const two = await candor(args);
      assert.equal(one.code, 0, one.stderr);
      assert.equal(one.stdout, two.stdout);
      const out = JSON.parse(one.stdout);
      assert.equal(out.model, modelId);
      assert.equal(out.asOf, laterDates[0]);
      assert.deepEqual(Object.keys(out.predictions[0]).sort(), [
        "confidence",
        "date",
        "position",
        "score",
        "symbol",
        "warnings",
        "weight",
      ]);
      const stored = await store.listProductionPredictions([modelId]);
      assert.equal(stored.length, before + 2);
      assert.deepEqual(
        stored.at(-1)!.rows.map((r) => r.position),
        out.predictions.map((p: { position: number }) => p.position),
      );
      assert.match(JSON.stringify(stored.at(-1)!.details), /P\(up\)/);
    });

    await t.step("warnings: a symbol the model never saw, stale data, missing features", async () => {
      // The generator's symbols do not depend on how many are generated: SYN08 is new, the others are the same.
      const nine = syntheticMarket({ symbols: 9, days: DAYS, seed: 7, exposeDriver: true, signalStrength: 0.35 });
      const lastDates = nine.panel.dates.slice(-3);
      const frame = nine.panel.frame.filter(
        pl.col("symbol").neq(pl.lit("SYN01")).or(pl.col("date").lessThan(pl.lit(lastDates[0]))),
      );
      const dirNine = join(dir, "nine");
      writePanelCsv(panelFromFrame(frame, { extraColumns: ["driver"] }), dirNine);
      const { output } = await predictLatest({ store, model: modelId, data: dirNine });
      const bySymbol = new Map(output.predictions.map((p) => [p.symbol, p]));
      assert.ok(bySymbol.get("SYN08")!.warnings.includes("a symbol the model never saw in training"));
      const stale = bySymbol.get("SYN01")!;
      assert.equal(stale.date, nine.panel.dates[DAYS - 4]);
      assert.ok(
        stale.warnings.some((w) => w.startsWith(`stale data: the last price is on ${stale.date}, 3 trading day(s)`)),
      );
      assert.ok(!bySymbol.get("SYN00")!.warnings.some((w) => /stale|never saw|missing features/.test(w)));
      // A file that starts on the as-of date has no history for RET1: the feature is missing, said per symbol.
      const short = join(dir, "short");
      writePanelCsv(
        panelFromFrame(market.panel.frame.filter(pl.col("date").greaterThanEquals(pl.lit(laterDates[0]))), {
          extraColumns: ["driver"],
        }),
        short,
      );
      const first = await predictLatest({ store, model: modelId, data: short, asOf: laterDates[0] });
      assert.ok(first.output.predictions.every((p) => p.warnings.some((w) => /^missing features: RET1 /.test(w))));
    });

    await t.step("bad input is refused with exit status 2 and nothing stored", async () => {
      const count = async () => (await store.listProductionPredictions([modelId])).length;
      const before = await count();
      const unknown = await candor(["predict", "--model", newModelId(), "--data", allPrices, "--db", db]);
      assert.equal(unknown.code, 2, unknown.stderr);
      assert.match(unknown.stderr, /no production model "model_[0-9A-Z]+" in this store; the newest: model_/);
      const early = await candor([
        "predict",
        "--model",
        modelId,
        "--data",
        allPrices,
        "--as-of",
        market.panel.dates[500],
        "--db",
        db,
      ]);
      assert.equal(early.code, 2, early.stderr);
      assert.match(
        early.stderr,
        new RegExp(`prices end on ${market.panel.dates[500]}, before the data model .* ended \\(${trainEnd}\\)`),
      );
      const missing = await candor(["predict", "--model", modelId, "--data", noDriver, "--db", db]);
      assert.equal(missing.code, 2, missing.stderr);
      assert.match(missing.stderr, /cannot produce the features .*: missing column\(s\) driver/);
      assert.equal(await count(), before);
    });

    await t.step(
      "a model from another candor: definitions that can be loaded are used; others refuse the model",
      async () => {
        const [record] = await store.getModels([modelId]);
        const original = await readManifest(record.path);
        const register = async (edit: (m: typeof original) => void) => {
          const id = newModelId();
          const path = join(dir, "models-copy", id);
          cpSync(join(record.path, "entries"), join(path, "entries"), { recursive: true });
          const m = structuredClone(original);
          m.id = id;
          edit(m);
          await writeManifest(path, m);
          const { createdAt: _c, ...rest } = record;
          await store.registerModel({ ...rest, id, path, version: m.version });
          return { id, path };
        };
        // Another version whose RET1 recipe differs from this candor's: the saved expression is loaded and used.
        const loadable = await register((m) => {
          m.version = "0.0.1";
          m.features.builtIn[0].fingerprint = "0".repeat(64);
        });
        const { output } = await predictLatest({ store, model: loadable.id, data: allPrices, asOf: laterDates[0] });
        assert.ok(output.warnings.some((w) => /trained with candor 0\.0\.1/.test(w)));
        assert.ok(
          output.warnings.some((w) =>
            /RET1: this candor defines it differently; computed from the definitions saved/.test(w)
          ),
        );
        const reference = await candor([
          "predict",
          "--model",
          modelId,
          "--data",
          allPrices,
          "--as-of",
          laterDates[0],
          "--json",
          "--no-store",
          "--db",
          db,
        ]);
        const expected = JSON.parse(reference.stdout).predictions.map((p: { score: number }) => p.score);
        assert.deepEqual(output.predictions.map((p) => p.score), expected);
        // A per-symbol function whose code differs cannot be loaded: refused, naming it.
        const before = (await store.listProductionPredictions([loadable.id])).length;
        const unloadable = await register((m) => {
          m.features.builtIn[0] = {
            ...m.features.builtIn[0],
            kind: "series",
            expr: undefined,
            fingerprint: "1".repeat(64),
          };
        });
        const refused = await candor(["predict", "--model", unloadable.id, "--data", allPrices, "--db", db]);
        assert.equal(refused.code, 2, refused.stderr);
        assert.match(
          refused.stderr,
          /the definition of RET1 \(series\) differs from this candor's and cannot be loaded/,
        );
        assert.equal((await store.listProductionPredictions([unloadable.id])).length, 0);
        assert.equal((await store.listProductionPredictions([loadable.id])).length, before);
      },
    );
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("production: a failed gate refuses training with its numbers; --skip-gate trains and stores the override", async () => {
  const dir = await Deno.makeTempDir({ prefix: "candor-gate-" });
  try {
    const db = join(dir, "runs.db");
    const config = join(dir, "rw.yaml");
    await Deno.writeTextFile(
      config,
      "data: { synthetic: { symbols: 4, days: 400, mode: random-walk, seed: 3 } }\nvalidation: { folds: 2 }\n" +
        "models: [{ name: lin, kind: logistic }]\n",
    );
    const refused = await candor(["train", "--config", config, "--db", db, "--models-dir", join(dir, "models")]);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(
      refused.stderr,
      /refusing to train a production model: lin: gate failed — no edge: accuracy edge over .* points \(95% CI .*\).*threshold 0\.5\); train anyway with --skip-gate/,
    );
    const store = openStore(db);
    try {
      assert.deepEqual(await store.listModels(), []);
      assert.equal((await store.listStudies()).length, 1, "the study was run and stored first");
    } finally {
      await store.close();
    }
    const forced = await candor([
      "train",
      "--config",
      config,
      "--db",
      db,
      "--skip-gate",
      "--json",
      "--models-dir",
      join(dir, "models"),
    ]);
    assert.equal(forced.code, 0, forced.stderr);
    const out = JSON.parse(forced.stdout);
    assert.equal(out.models.length, 1);
    assert.equal(out.models[0].skipGate, true);
    assert.equal(out.models[0].gate.passed, false);
    const again = openStore(db);
    try {
      const [m] = await again.listModels();
      assert.equal(m.skipGate, true);
      assert.equal((m.gate as { passed: boolean }).passed, false);
      assert.equal((await again.listStudies()).length, 1, "the stored study was found, not run again");
    } finally {
      await again.close();
    }
    // Predicting with it says, for the model, that its gate was overridden. Its study's Holm reading (written into
    // its manifest here, as a study of three entries would have left it) adds nothing while the entry had no edge of
    // its own, and warns once an edge it had does not survive the correction.
    const manifestPath = join(out.models[0].path, "model.json");
    const manifest = JSON.parse(await Deno.readTextFile(manifestPath));
    const prices = join(dir, "prices");
    const synth = await candor(
      ["synth", "--out", prices, "--symbols", "4", "--days", "400", "--mode", "random-walk", "--seed", "3"],
    );
    assert.equal(synth.code, 0, synth.stderr);
    const predict = async (family: Record<string, unknown>) => {
      manifest.study.family = family;
      await Deno.writeTextFile(manifestPath, JSON.stringify(manifest));
      return await candor(["predict", "--model", "latest", "--data", prices, "--db", db, "--no-store"]);
    };
    const noEdge = await predict({ tests: 3, adjustedP: 1, edge: false, holds: false });
    assert.equal(noEdge.code, 0, noEdge.stderr);
    assert.match(noEdge.stdout, /^warning: trained despite a failed gate/m);
    assert.ok(!noEdge.stdout.includes("Holm"), noEdge.stdout);
    const predicted = await predict({ tests: 3, adjustedP: 0.041, edge: true, holds: false });
    assert.equal(predicted.code, 0, predicted.stderr);
    assert.match(
      predicted.stdout,
      /^warning: trained despite a failed gate \(--skip-gate\): no edge: accuracy edge over .* points \(95% CI /m,
    );
    assert.ok(
      predicted.stdout.includes(
        "warning: its edge does not hold under Holm's correction over its study's 3 entries (adjusted p = 0.041): " +
          "the best of several entries can be a chance winner",
      ),
      predicted.stdout,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a compacted isotonic calibrator is the same function with one point per block end", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.boolean()), { minLength: 2, maxLength: 200 }),
      fc.array(fc.double({ min: -0.5, max: 1.5, noNaN: true }), { minLength: 1, maxLength: 50 }),
      (points, probes) => {
        const full = fitIsotonic(points.map(([x]) => x), points.map(([, y]) => (y ? 1 : 0)));
        if (full.kind !== "isotonic") return false;
        const small = compact(full);
        const a = applyCalibrator(full, probes), b = applyCalibrator(small, probes);
        return small.x.length <= full.x.length && a.every((v, i) => Math.abs(v - b[i]) < 1e-12);
      },
    ),
  );
});
