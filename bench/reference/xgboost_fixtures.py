"""Writes tests/models/fixtures/xgboost_python.json: a model trained by Python's xgboost (Debian python3-xgboost,
the same libxgboost candor binds), its input matrix, and Python's predictions, so candor's test can check, without
Python, that it loads Python's JSON models and predicts identically.

Run from the repository root: /usr/bin/python3 bench/reference/xgboost_fixtures.py
"""

import json
import os

import numpy as np
import xgboost as xgb


def main() -> None:
    rng = np.random.default_rng(20240611)
    n, p = 300, 4
    X = rng.uniform(size=(n, p)).astype(np.float32)
    X[rng.uniform(size=n) < 0.15, 2] = np.nan
    y = ((X[:, 0] + X[:, 1] > 1) ^ (rng.uniform(size=n) < 0.1)).astype(np.float32)
    names = [f"x{j}" for j in range(p)]
    out = {"version": xgb.__version__, "rows": n, "cols": p, "X": [None if np.isnan(v) else float(v) for v in X.ravel()]}
    models = {}
    for objective, label, extra in [
        ("binary:logistic", y, {}),
        ("reg:squarederror", (X[:, 0] - X[:, 1]).astype(np.float32), {}),
        ("multi:softprob", np.floor(X[:, 0] * 3).clip(0, 2).astype(np.float32), {"num_class": 3}),
    ]:
        dtrain = xgb.DMatrix(X, label=label, feature_names=names)
        params = {"objective": objective, "tree_method": "hist", "max_depth": 3, "eta": 0.3, "subsample": 0.8,
                  "colsample_bytree": 0.8, "seed": 7, "nthread": 1, **extra}
        booster = xgb.train(params, dtrain, num_boost_round=15)
        pred = booster.predict(dtrain)
        models[objective] = {
            "model": booster.save_raw(raw_format="json").decode("utf-8"),
            "predictions": pred.astype(np.float64).ravel().tolist(),
        }
    out["models"] = models
    path = os.path.join("tests", "models", "fixtures", "xgboost_python.json")
    with open(path, "w") as f:
        json.dump(out, f)
    print(json.dumps({"written": path}))


if __name__ == "__main__":
    main()
