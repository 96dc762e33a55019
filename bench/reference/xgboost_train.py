"""Reference timings for bench/xgboost.ts: Python's xgboost (Debian python3-xgboost, the same libxgboost.so.0 that
candor binds) on the same data and parameters.

Usage: python3 xgboost_train.py train CONFIG.json
       python3 xgboost_train.py predict CONFIG.json

CONFIG.json: {"train": path, "rows": n, "cols": p, "label": path, "val": path?, "val_rows": m?, "val_label": path?,
"params": {...}, "num_boost_round": r, "early_stopping_rounds": k?, "predict": path?, "predict_rows": q?, "model": path?}
Matrices are row-major little-endian float32 files, NaN = missing.

`train` times one fit the way a Python user writes it (DMatrix construction + xgb.train, with the validation set in
`evals` for early stopping), after an untimed one-round warm-up that starts OpenMP's threads. `predict` loads the
model and times `inplace_predict` on the prediction matrix (one untimed warm-up). Prints one JSON line.
"""

import json
import sys
import time

import numpy as np
import xgboost as xgb


def load(path: str, rows: int, cols: int) -> np.ndarray:
    return np.fromfile(path, dtype="<f4").reshape(rows, cols)


def main() -> None:
    mode, cfg_path = sys.argv[1], sys.argv[2]
    with open(cfg_path) as f:
        cfg = json.load(f)
    if mode == "train":
        X = load(cfg["train"], cfg["rows"], cfg["cols"])
        y = np.fromfile(cfg["label"], dtype="<f4")
        Xv = load(cfg["val"], cfg["val_rows"], cfg["cols"]) if cfg.get("val") else None
        yv = np.fromfile(cfg["val_label"], dtype="<f4") if cfg.get("val") else None
        xgb.train(cfg["params"], xgb.DMatrix(X[:1000], label=y[:1000]), num_boost_round=1)  # warm-up
        t0, c0 = time.perf_counter(), time.process_time()
        nthread = cfg["params"].get("nthread", -1)
        dtrain = xgb.DMatrix(X, label=y, missing=np.nan, nthread=nthread)
        evals = [(xgb.DMatrix(Xv, label=yv, missing=np.nan, nthread=nthread), "validation")] if Xv is not None else []
        booster = xgb.train(cfg["params"], dtrain, num_boost_round=cfg["num_boost_round"], evals=evals,
                            early_stopping_rounds=cfg.get("early_stopping_rounds"), verbose_eval=False)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        rounds = booster.best_iteration + 1 if evals and cfg.get("early_stopping_rounds") else booster.num_boosted_rounds()
        print(json.dumps({"seconds": seconds, "cpu": cpu, "rounds": rounds, "trained": booster.num_boosted_rounds()}))
    elif mode == "predict":
        booster = xgb.Booster(model_file=cfg["model"])
        booster.set_param({"nthread": cfg["params"].get("nthread", 0)})
        X = load(cfg["predict"], cfg["predict_rows"], cfg["cols"])
        booster.inplace_predict(X[:1000])
        t0 = time.perf_counter()
        pred = booster.inplace_predict(X)
        seconds = time.perf_counter() - t0
        print(json.dumps({"seconds": seconds, "checksum": float(np.asarray(pred, dtype=np.float64).sum())}))


if __name__ == "__main__":
    main()
