/**
 * Whole-model gradient check on wasm: for every neural model, the gradient of its real training loss with respect to
 * every parameter is computed on the pure-JS cpu backend and on wasm (with candor's kernel patches: OpenBLAS matMul,
 * the fused dense, LSTM and sLSTM kernels, explicit-transpose matMul, shared-data identity, heap-view slicing, cpu fallbacks)
 * from the same seeded parameters and batch, and compared element-wise (cases and comparison in gradient_cases.ts).
 * This covers what the per-op cases of backend_test.ts do not: weight gradients through the fused dense, LSTM and sLSTM
 * backward passes, batch-norm moments, squaredDifference (MSE and auxiliary heads), step (ReLU backward), the NOTEARS
 * acyclicity matMul chain, and rank-3 slices of the sequence models.
 *
 * The last test runs this file again in a subprocess with `CANDOR_BLAS=0` (kernels are registered once per process),
 * so the path without OpenBLAS — tfjs's own matMul with the explicit-transpose patch, the op-by-op layers — is checked
 * too.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { initBackend } from "../../../lib/models/nn/backend.ts";
import {
  assertClose,
  assertNotearsExercised,
  modelCases,
  modelGradients,
  notearsGradients,
  onBoth,
} from "./gradient_cases.ts";

const CHILD = Deno.env.get("CANDOR_GRADCHECK_CHILD") === "1";
const info = await initBackend("wasm");

for (const c of modelCases) {
  Deno.test(`model gradients: wasm equals cpu for every parameter — ${c.name}`, async () => {
    const { cpu, other } = await onBoth("wasm", () => modelGradients(c));
    assertClose(c.name, cpu, other, "wasm", c.zeroGrad);
  });
}

Deno.test("model gradients: wasm equals cpu — NOTEARS objective (acyclicity matMul chain, L1, masked diagonal)", async () => {
  const { cpu, other } = await onBoth("wasm", notearsGradients);
  assertNotearsExercised(cpu);
  assertClose("NOTEARS", cpu, other, "wasm");
});

Deno.test(`model gradients: the wasm run used ${CHILD ? "tfjs's kernels (CANDOR_BLAS=0)" : "OpenBLAS and the fused kernels"}`, () => {
  assert.equal(info.name, "wasm");
  for (
    const k of [
      "BatchMatMul:blas",
      "CandorLstmForward:blas",
      "CandorSlstmForward:blas",
      "CandorDenseStack:blas",
      "CandorDenseBackward:blas",
    ]
  ) {
    assert.equal(info.patches.includes(k), !CHILD, info.patches.join(", "));
  }
  assert.equal(info.patches.some((p) => p.startsWith("blas-unavailable: disabled by CANDOR_BLAS=0")), CHILD);
  assert.ok(info.patches.includes("BatchMatMul:explicit-transpose"));
});

if (!CHILD) {
  Deno.test("model gradients: the same checks pass with CANDOR_BLAS=0 (subprocess)", async () => {
    const file = fileURLToPath(import.meta.url);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["test", "-A", "--no-check", file],
      env: { CANDOR_BLAS: "0", CANDOR_GRADCHECK_CHILD: "1", NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, text.slice(-3000));
    const passed = /ok \| (\d+) passed \| 0 failed/.exec(text);
    assert.ok(passed !== null && Number(passed[1]) === modelCases.length + 2, text.slice(-1500));
  });
}
