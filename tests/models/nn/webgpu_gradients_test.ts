/**
 * Whole-model gradient check on WebGPU (`@tensorflow/tfjs-backend-webgpu` on Deno's WebGPU): every parameter's
 * gradient of every model's real training loss — MLP, LSTM classifier (with batch norm) and regressor,
 * LSTM+Transformer with its auxiliary heads, xLSTM-TS, the NOTEARS objective — against the cpu backend, with the
 * cases and comparison of gradient_cases.ts.
 *
 * CI runs it on Mesa's software Vulkan device (lavapipe, Debian `mesa-vulkan-drivers`, with `XDG_RUNTIME_DIR` set),
 * which checks correctness, not speed. Where no WebGPU adapter exists the tests are skipped and say why. A short fit
 * and predict on WebGPU checks the training path (asynchronous reads) and prediction on the cpu backend.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend, probeGpuAdapter } from "../../../lib/models/nn/backend.ts";
import { MLPModel } from "../../../lib/models/nn/mlp.ts";
import {
  assertClose,
  assertNotearsExercised,
  modelCases,
  modelGradients,
  normals,
  notearsGradients,
  onBoth,
} from "./gradient_cases.ts";

const probe = await probeGpuAdapter();
let skip = typeof probe === "string" ? probe : undefined;
if (skip === undefined) {
  try {
    const info = await initBackend("webgpu");
    console.log(`WebGPU adapter: ${info.adapter?.description} (${info.adapter?.fallback ? "software" : "hardware"})`);
  } catch (e) {
    skip = (e as Error).message;
  }
}
if (skip !== undefined) console.log(`WebGPU gradient checks skipped: ${skip}`);
const ignore = skip !== undefined;

for (const c of modelCases) {
  Deno.test({
    name: `model gradients: webgpu equals cpu for every parameter — ${c.name}`,
    ignore,
    fn: async () => {
      const { cpu, other } = await onBoth("webgpu", () => modelGradients(c));
      assertClose(c.name, cpu, other, "webgpu", c.zeroGrad);
    },
  });
}

Deno.test({
  name: "model gradients: webgpu equals cpu — NOTEARS objective (acyclicity matMul chain, L1, masked diagonal)",
  ignore,
  fn: async () => {
    const { cpu, other } = await onBoth("webgpu", notearsGradients);
    assertNotearsExercised(cpu);
    assertClose("NOTEARS", cpu, other, "webgpu");
  },
});

Deno.test({
  name: "webgpu: an MLP trains with asynchronous reads, predicts on the cpu backend, and records the adapter",
  ignore,
  fn: async () => {
    await tf.setBackend("webgpu");
    const n = 64;
    const X = { data: normals(n * 4, 11), rows: n, cols: 4 };
    const y = Float64Array.from({ length: n }, (_, i) => (X.data[i * 4] > 0 ? 1 : 0));
    const m = new MLPModel({ hidden: [8], epochs: 3, batchSize: 16, learningRate: 0.05, backend: "webgpu" });
    const report = await m.fit(X, y, { validation: { X, y } });
    assert.equal(report.details!.backend, "webgpu");
    assert.ok((report.details!.backendAdapter as { description: string }).description.length > 0);
    assert.equal(m.history.length, 3);
    assert.ok(m.history.every((h) => Number.isFinite(h.trainLoss) && Number.isFinite(h.valLoss!)));
    assert.ok(m.history[2].trainLoss < m.history[0].trainLoss, m.history.map((h) => h.trainLoss).join(", "));
    const p = m.predict(X);
    assert.equal(p.length, n);
    assert.ok(p.every((v) => v > 0 && v < 1));
    assert.equal(tf.getBackend(), "webgpu", "prediction switches back to webgpu");
    m.dispose();
  },
});
