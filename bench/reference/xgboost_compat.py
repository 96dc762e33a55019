"""Loads an XGBoost JSON model with Python's xgboost and prints its predictions as JSON.

Usage: python3 xgboost_compat.py MODEL.json DATA.f32 ROWS COLS

DATA.f32 is a row-major little-endian float32 matrix (NaN = missing). The last stdout line is
{"version": ..., "predictions": [...], "num_boosted_rounds": n} with float32 predictions widened to float64, so a
caller can compare them bit for bit with its own float32 predictions.
"""

import json
import sys

import numpy as np
import xgboost as xgb


def main() -> None:
    model_path, data_path, rows, cols = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    X = np.fromfile(data_path, dtype="<f4").reshape(rows, cols)
    booster = xgb.Booster(model_file=model_path)
    dmat = xgb.DMatrix(X, missing=np.nan, feature_names=booster.feature_names)
    pred = booster.predict(dmat)
    print(json.dumps({
        "version": xgb.__version__,
        "num_boosted_rounds": booster.num_boosted_rounds(),
        "predictions": pred.astype(np.float64).ravel().tolist(),
    }))


if __name__ == "__main__":
    main()
