"""Reference CSCV (probability of backtest overfitting) in numpy, for bench/pbo.ts.

Same algorithm and conventions as lib/metrics/pbo.ts (per-group sums and sums of squares, Sharpe = mean / sample
std, average OOS rank of the IS winner, logit <= 0 counts as overfit), vectorized over trials with numpy.

Usage: python3 bench/reference/pbo.py MATRIX.f64 ROWS COLS S
Prints one JSON line: {"seconds": compute time, "pbo": ..., "probabilityOfLoss": ...}.
"""
import itertools
import json
import sys
import time

import numpy as np
from scipy.stats import rankdata


def cscv(m, s):
    t, n = m.shape
    groups = np.array_split(np.arange(t), s)
    gsum = np.stack([m[g].sum(0) for g in groups])
    gsq = np.stack([(m[g] ** 2).sum(0) for g in groups])
    gcount = np.array([len(g) for g in groups])
    tsum, tsq = gsum.sum(0), gsq.sum(0)
    logits, losses = [], 0
    for combo in itertools.combinations(range(s), s // 2):
        idx = list(combo)
        n_is = gcount[idx].sum()
        s_is, q_is = gsum[idx].sum(0), gsq[idx].sum(0)
        s_oos, q_oos, n_oos = tsum - s_is, tsq - q_is, t - n_is
        perf_is = (s_is / n_is) / np.sqrt((q_is - s_is ** 2 / n_is) / (n_is - 1))
        perf_oos = (s_oos / n_oos) / np.sqrt((q_oos - s_oos ** 2 / n_oos) / (n_oos - 1))
        star = int(np.argmax(perf_is))
        w = rankdata(perf_oos)[star] / (n + 1)
        logits.append(np.log(w / (1 - w)))
        losses += perf_oos[star] < 0
    logits = np.array(logits)
    return float(np.mean(logits <= 0)), losses / len(logits)


def main():
    path, rows, cols, s = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    m = np.fromfile(path, dtype="<f8").reshape(rows, cols)
    t0 = time.perf_counter()
    pbo, loss = cscv(m, s)
    print(json.dumps({"seconds": time.perf_counter() - t0, "pbo": pbo, "probabilityOfLoss": loss}))


if __name__ == "__main__":
    main()
