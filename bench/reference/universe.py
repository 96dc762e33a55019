"""Reference for the whole-universe study benchmark (bench/universe.ts): the same steps as
`candor run --data DIR --model xgboost --folds 5` in pandas + Python's xgboost, timed end to end inside the
interpreter (imports excluded).

  python3 bench/reference/universe.py DATA_DIR PLAN.json

PLAN.json is candor's fold plan for the same data (written by the benchmark from `candor run --dry-run`):
{"folds": [{"fit": [first, last], "tail": [first, last], "test": [first, last], "rows": [fit, tail, test]}, ...]}.
Steps: read every <SYMBOL>.csv.gz; the 12 base features (formulas of lib/features/technical.ts, as in
bench/reference/features.py); the direction target (next day's log return of adj_close > 0; rows without one
dropped); for each fold, an XGBoost booster (candor's default parameters, 400 rounds, early stopping after 30 on the
tail's log loss, 2 threads) trained on the fit rows and used to predict the test rows; pooled accuracy and rank IC.
Prints {"seconds": wall, "cpu": cpu seconds, "xgboost_seconds": time inside xgboost, "rows": [[fit, tail, test], ...], "accuracy": ..., "rank_ic": ...,
"peak_rss_mb": ...} on its last line. What candor does on top (leakage audit, naive baselines, bootstrap intervals,
backtest) has no counterpart here.
"""

import glob
import json
import os
import resource
import sys
import time

import numpy as np
import pandas as pd
import xgboost as xgb

PARAMS = {
    "tree_method": "hist",
    "max_depth": 3,
    "eta": 0.05,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "min_child_weight": 20,
    "lambda": 1,
    "objective": "binary:logistic",
    "eval_metric": "logloss",
    "nthread": 2,
    "seed": 42,
}


def load(data_dir):
    frames = []
    for path in sorted(glob.glob(os.path.join(data_dir, "*.csv.gz"))):
        df = pd.read_csv(path)
        if not {"open", "high", "low", "close"} <= set(df.columns):
            continue
        df["symbol"] = os.path.basename(path)[: -len(".csv.gz")]
        if "adj_close" not in df.columns:
            df["adj_close"] = np.nan
        df["adj_close"] = df["adj_close"].fillna(df["close"])
        frames.append(df[["date", "symbol", "open", "high", "low", "close", "adj_close", "volume"]])
    return pd.concat(frames, ignore_index=True).sort_values(["symbol", "date"], kind="stable").reset_index(drop=True)


def base_features(df):
    f = df["adj_close"] / df["close"]
    H, L, C = df["high"] * f, df["low"] * f, df["adj_close"]
    V = df["volume"] / f
    sym = df["symbol"]
    row = df.groupby("symbol", sort=False).cumcount().to_numpy()
    g = lambda s: s.groupby(sym, sort=False)  # noqa: E731

    def mask(s, lookback):
        s = s.astype(float).copy()
        s[row < lookback] = np.nan
        return s

    def shift(s, k):
        return mask(s.shift(k), k)

    def rstd(s, d):
        return g(s).rolling(d).std().reset_index(level=0, drop=True)

    def ewm(s, alpha, minp):
        return g(s).transform(lambda x: x.ewm(alpha=alpha, adjust=False, min_periods=minp).mean())

    out = {}
    r = np.log(C / shift(C, 1))
    for d in [1, 5, 20]:
        out[f"RET{d}"] = np.log(C / shift(C, d))
    for d in [5, 20]:
        out[f"RVOL{d}"] = rstd(r, d)
    for d in [5, 20]:
        out[f"MAR{d}"] = C / mask(C.rolling(d).mean(), d - 1) - 1
    dC = C - shift(C, 1)
    gain = dC.clip(lower=0).where(dC.notna())
    loss = (-dC).clip(lower=0).where(dC.notna())
    G, Lo = ewm(gain, 1 / 14, 14), ewm(loss, 1 / 14, 14)
    out["RSI14"] = 100 * G / (G + Lo)
    lv = np.log(V + 1)
    out["VZ20"] = (lv - mask(lv.rolling(20).mean(), 19)) / rstd(lv, 20)
    out["RANGE"] = (H - L) / C
    prev = shift(C, 1)
    tr = pd.concat([H - L, (H - prev).abs(), (L - prev).abs()], axis=1).max(axis=1)
    tr = tr.where(prev.notna(), H - L)
    out["ATR14"] = ewm(tr, 1 / 14, 14) / C
    m20, s20 = mask(C.rolling(20).mean(), 19), rstd(C, 20)
    out["BBPB20"] = (C - (m20 - 2 * s20)) / (4 * s20)
    res = pd.DataFrame({k: np.asarray(v, dtype=np.float32) for k, v in out.items()})
    return res.replace([np.inf, -np.inf], np.nan)


def rank_ic(a, b):
    ok = np.isfinite(a) & np.isfinite(b)
    return float(pd.Series(a[ok]).rank().corr(pd.Series(b[ok]).rank()))


def main():
    data_dir, plan_path = sys.argv[1], sys.argv[2]
    with open(plan_path) as fh:
        plan = json.load(fh)
    t0, c0 = time.perf_counter(), time.process_time()
    df = load(data_dir)
    X = base_features(df)
    nxt = df.groupby("symbol", sort=False)["adj_close"].shift(-1)
    target = np.log(nxt / df["adj_close"]).to_numpy()
    keep = np.isfinite(target)
    X, target, dates = X[keep].to_numpy(), target[keep], df["date"].to_numpy()[keep]
    y = (target > 0).astype(np.float32)
    rows, preds, truth, rounds = [], [], [], []
    boosting = 0.0  # seconds inside xgboost (DMatrix, training, prediction): the floor both sides share
    for fold in plan["folds"]:
        sel = [(dates >= a) & (dates <= b) for a, b in (fold["fit"], fold["tail"], fold["test"])]
        rows.append([int(s.sum()) for s in sel])
        tb = time.perf_counter()
        fit = xgb.DMatrix(X[sel[0]], label=y[sel[0]], missing=np.nan, nthread=2)
        tail = xgb.DMatrix(X[sel[1]], label=y[sel[1]], missing=np.nan, nthread=2)
        booster = xgb.train(PARAMS, fit, num_boost_round=400, evals=[(tail, "tail")], early_stopping_rounds=30,
                            verbose_eval=False)
        p = booster.inplace_predict(X[sel[2]], iteration_range=(0, booster.best_iteration + 1))
        boosting += time.perf_counter() - tb
        rounds.append([booster.best_iteration + 1, booster.num_boosted_rounds()])
        preds.append(p)
        truth.append(target[sel[2]])
    p, t = np.concatenate(preds), np.concatenate(truth)
    accuracy = float(np.mean((p > 0.5) == (t > 0)))
    ic = rank_ic(p - 0.5, t)
    print(json.dumps({
        "seconds": time.perf_counter() - t0,
        "cpu": time.process_time() - c0,
        "xgboost_seconds": boosting,
        "rows": rows,
        "rounds": rounds,
        "accuracy": accuracy,
        "rank_ic": ic,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == "__main__":
    main()
