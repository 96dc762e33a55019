import assert from "node:assert/strict";
import { causalWaveletDenoise, denoiseBlock, wholeSeriesWaveletDenoise } from "../../lib/mod.ts";
import { normal, uniform } from "./_panels.ts";

const z = normal(uniform(5));
const clean = Array.from({ length: 400 }, (_, i) => Math.sin(i / 25));
const noisy = clean.map((v) => v + 0.2 * z());

Deno.test("causal denoiser: the value at t is the last point of the denoised trailing window, unchanged by later data", () => {
  const W = 64;
  const full = causalWaveletDenoise(noisy, W);
  const cut = causalWaveletDenoise(noisy.slice(0, 250), W);
  for (let t = 0; t < W - 1; t++) assert.ok(Number.isNaN(full[t]));
  for (let t = W - 1; t < 250; t++) assert.equal(cut[t], full[t]);
  const t = 200;
  assert.equal(full[t], denoiseBlock(noisy.slice(t - W + 1, t + 1))[W - 1]);
});

Deno.test("denoising removes noise: lower error against the clean signal than the raw series", () => {
  const d = denoiseBlock(noisy.slice(0, 256));
  const mse = (a: number[]) => a.reduce((s, v, i) => s + (v - clean[i]) ** 2, 0) / a.length;
  assert.ok(mse(d) < 0.5 * mse(noisy.slice(0, 256)), `${mse(d)} vs ${mse(noisy.slice(0, 256))}`);
});

Deno.test("the whole-series denoiser leaks: removing later data changes earlier values", () => {
  const full = wholeSeriesWaveletDenoise(noisy);
  const cut = wholeSeriesWaveletDenoise(noisy.slice(0, 250));
  let changed = 0;
  for (let t = 0; t < 250; t++) if (Math.abs(full[t] - cut[t]) > 1e-9) changed++;
  assert.ok(changed > 10, `${changed} values changed`);
});
