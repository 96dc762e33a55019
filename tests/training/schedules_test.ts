import assert from "node:assert/strict";
import {
  exponentialDecay,
  lambdaSchedule,
  ReduceLROnPlateau,
  restoreSchedule,
  stepDecay,
  warmupCosine,
} from "../../lib/training/schedules.ts";
import { ConfigError } from "../../lib/errors.ts";

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

Deno.test("schedules: warmup + cosine by hand (warmup 2 of 10 epochs, base 1, floor 0)", () => {
  const s = warmupCosine({ baseLr: 1, epochs: 10, warmupEpochs: 2, warmupStartFactor: 0.1 });
  close(s.lrAt(0), 0.1);
  close(s.lrAt(1), 0.55);
  close(s.lrAt(2), 1);
  close(s.lrAt(6), 0.5); // halfway through T_max = 8
  close(s.lrAt(10), 0);
  close(s.lrAt(12), 0); // past the end: stays at the floor
});

Deno.test("schedules: cosine never divides by zero (0 or 1 epoch, warmup ≥ epochs)", () => {
  for (const [epochs, warmupEpochs] of [[0, 0], [1, 0], [1, 1], [3, 5], [0, 2]]) {
    const s = warmupCosine({ baseLr: 0.01, epochs, warmupEpochs });
    for (const t of [0, 0.25, 0.5, 1, 2, 7]) {
      const lr = s.lrAt(t);
      assert.ok(Number.isFinite(lr) && lr >= 0 && lr <= 0.01, `epochs ${epochs} warmup ${warmupEpochs} t ${t}: ${lr}`);
    }
  }
});

Deno.test("schedules: step and exponential follow PyTorch StepLR / ExponentialLR", () => {
  const st = stepDecay({ baseLr: 0.1, stepEpochs: 3, gamma: 0.5 });
  assert.deepEqual([0, 2.9, 3, 5.5, 6].map((t) => st.lrAt(t)), [0.1, 0.1, 0.05, 0.05, 0.025]);
  const ex = exponentialDecay({ baseLr: 1, gamma: 0.9 });
  close(ex.lrAt(2.5), 0.81);
});

Deno.test("schedules: ReduceLROnPlateau — patience, factor, cooldown, min_lr, state round trip", () => {
  const p = new ReduceLROnPlateau({ baseLr: 1, patience: 1, factor: 0.5, cooldown: 1, minLr: 0.2 });
  const lrs: number[] = [];
  for (const [e, m] of [1, 1, 1, 1, 1, 1, 1, 1].entries()) {
    p.onEpochEnd(e, m);
    lrs.push(p.lrAt());
  }
  // epoch 0 improves (best=1); epochs 1,2 bad → reduce after 2 bad (patience 1) to 0.5, cooldown 1 epoch;
  // epoch 3 in cooldown; epochs 4,5 bad → 0.25; 6 cooldown; 7 bad (1 only).
  assert.deepEqual(lrs, [1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25]);
  const q = restoreSchedule(JSON.parse(JSON.stringify(p.state())));
  q.onEpochEnd!(8, 1);
  p.onEpochEnd(8, 1);
  assert.equal(q.lrAt(0), p.lrAt());
  assert.equal(q.lrAt(0), 0.2, "floored at min_lr");
});

Deno.test("schedules: lambda schedules restore only with their function", () => {
  const f = (t: number) => 1 / (1 + t);
  const s = lambdaSchedule(0.1, f, "inv");
  close(s.lrAt(1), 0.05);
  assert.throws(() => restoreSchedule(s.state()), ConfigError);
  close(restoreSchedule(s.state(), { inv: f }).lrAt(3), 0.025);
  close(restoreSchedule(warmupCosine({ baseLr: 1, epochs: 4 }).state()).lrAt(2), 0.5);
});

Deno.test("schedules: ReduceLROnPlateau mode max with a relative threshold (PyTorch rel mode), by hand", () => {
  const p = new ReduceLROnPlateau({ baseLr: 1, mode: "max", patience: 0, factor: 0.5, threshold: 0.1 });
  const lrs = [1, 1.05, 1.2, 1.25, 1.4].map((m, e) => {
    p.onEpochEnd(e, m);
    return p.lrAt();
  });
  // better iff metric > best·(1 + 0.1): 1 (best 1) | 1.05 ≤ 1.1 bad → 0.5 | 1.2 > 1.1 (best 1.2) | 1.25 ≤ 1.32 bad
  // → 0.25 | 1.4 > 1.32
  assert.deepEqual(lrs, [1, 0.5, 0.5, 0.25, 0.25]);
  assert.equal(p.best, 1.4);
  // mode min: better iff metric < best·(1 − 0.1); a 5 % drop from 1 is not enough, a 15 % drop is.
  const q = new ReduceLROnPlateau({ baseLr: 1, patience: 0, factor: 0.5, threshold: 0.1 });
  const mins = [1, 0.95, 0.85].map((m, e) => {
    q.onEpochEnd(e, m);
    return q.lrAt();
  });
  assert.deepEqual(mins, [1, 0.5, 0.5]);
  assert.equal(q.best, 0.85);
});
