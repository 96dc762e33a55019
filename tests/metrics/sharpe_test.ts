import assert from "node:assert/strict";
import ref from "../fixtures/metrics/reference.json" with { type: "json" };
import { ConfigError } from "../../lib/errors.ts";
import {
  deflatedSharpe,
  expectedMaxSharpe,
  minTrackRecordLength,
  probabilisticSharpe,
  sharpeStatistics,
} from "../../lib/metrics/mod.ts";

const close = (a: number, b: number, tol: number, msg = "") =>
  assert.ok(Math.abs(a - b) <= tol, `${msg}: ${a} vs ${b}`);

Deno.test("DSR reproduces the numerical example of Bailey & López de Prado (2014)", () => {
  // Bailey, D. H. and López de Prado, M. (2014), "The Deflated Sharpe Ratio: Correcting for Selection Bias, Backtest
  // Overfitting and Non-Normality", Journal of Portfolio Management 40(5), numerical example: N = 100 independent
  // trials whose annualized Sharpe ratios have variance 1/2, a selected strategy with annualized SR 2.5 over
  // T = 1,250 daily observations (250 per year), skewness −3 and kurtosis 10. The paper reports the expected
  // maximum (non-annualized) SR₀ ≈ 0.1132 and DSR ≈ 0.9004.
  const perYear = 250;
  const trialSharpeVariance = 0.5 / perYear; // annualized variance → per-period variance
  const sr0 = expectedMaxSharpe({ nTrials: 100, trialSharpeVariance });
  close(sr0, 0.1132, 5e-5, "SR0");
  const dsr = deflatedSharpe({
    sharpe: 2.5 / Math.sqrt(perYear),
    nTrials: 100,
    trialSharpeVariance,
    nObs: 1250,
    skew: -3,
    kurtosis: 10,
  });
  close(dsr, 0.9004, 5e-5, "DSR");
  // The DSR is the PSR against SR₀.
  close(
    dsr,
    probabilisticSharpe({ sharpe: 2.5 / Math.sqrt(perYear), benchmark: sr0, nObs: 1250, skew: -3, kurtosis: 10 }),
    1e-15,
    "DSR = PSR(SR0)",
  );
});

Deno.test("PSR, DSR and MinTRL equal the scipy-based reference on a fat-tailed return series", () => {
  const c = ref.sharpe;
  const s = sharpeStatistics(c.returns);
  close(s.sharpe, c.sharpe, 1e-12, "sharpe");
  close(s.skew, c.skew, 1e-10, "skew");
  close(s.kurtosis, c.kurtosis, 1e-10, "kurtosis");
  close(probabilisticSharpe({ ...s, benchmark: 0 }), c.psr0, 1e-12, "PSR(0)");
  close(probabilisticSharpe({ ...s, benchmark: 0.02 }), c.psr002, 1e-12, "PSR(0.02)");
  close(expectedMaxSharpe({ nTrials: 50, trialSharpeVariance: 0.0009 }), c.expectedMax, 1e-12, "SR0");
  close(deflatedSharpe({ ...s, nTrials: 50, trialSharpeVariance: 0.0009 }), c.dsr, 1e-12, "DSR");
  close(minTrackRecordLength({ ...s, confidence: 0.95 }), c.minTrl95, 1e-8, "MinTRL");
});

Deno.test("PSR and MinTRL agree with each other and with the normal-returns special case", () => {
  // Normal returns (skew 0, kurtosis 3), SR 0.1 per period: MinTRL = 1 + (1 + SR²/2) (z₀.₉₅ / SR)².
  const z = 1.6448536269514722;
  close(minTrackRecordLength({ sharpe: 0.1 }), 1 + (1 + 0.005) * (z / 0.1) ** 2, 1e-9, "MinTRL normal");
  // At exactly MinTRL observations the PSR equals the confidence level.
  const n = minTrackRecordLength({ sharpe: 0.08, skew: -1, kurtosis: 6, confidence: 0.9 });
  close(probabilisticSharpe({ sharpe: 0.08, nObs: n, skew: -1, kurtosis: 6 }), 0.9, 1e-12, "PSR at MinTRL");
  assert.equal(minTrackRecordLength({ sharpe: 0.01, benchmark: 0.02 }), Infinity);
  // One trial: nothing to deflate.
  assert.equal(expectedMaxSharpe({ nTrials: 1, trialSharpeVariance: 1 }), 0);
  // Negative skew and fat tails lower the PSR of a positive Sharpe.
  assert.ok(
    probabilisticSharpe({ sharpe: 0.05, nObs: 500, skew: -2, kurtosis: 12 }) <
      probabilisticSharpe({ sharpe: 0.05, nObs: 500 }),
  );
  // Excess kurtosis passed by mistake for a skewed series is caught.
  assert.throws(() => probabilisticSharpe({ sharpe: 0.5, nObs: 100, skew: 3, kurtosis: 0 }), ConfigError);
});
