"""Writes tests/models/fixtures/isotonic_sklearn.json: scikit-learn's IsotonicRegression(out_of_bounds="clip") fitted
on seeded data with ties and weights, evaluated on new points inside and outside the fitted range, so candor's
hand-written PAVA is checked against an independent implementation without Python in CI.

Run from the repository root: /usr/bin/python3 bench/reference/calibration_fixtures.py
"""

import json
import os

import numpy as np
from sklearn.isotonic import IsotonicRegression


def main() -> None:
    rng = np.random.default_rng(3)
    n = 200
    x = np.round(rng.uniform(0.2, 0.8, size=n), 2)  # rounding creates ties
    y = (rng.uniform(size=n) < x).astype(np.float64)
    w = rng.uniform(0.1, 3.0, size=n)
    x_new = np.concatenate([np.linspace(0.0, 1.0, 41), x[:20] + 0.003])
    cases = []
    for weighted in [False, True]:
        iso = IsotonicRegression(out_of_bounds="clip").fit(x, y, sample_weight=w if weighted else None)
        cases.append({"weighted": weighted, "train": iso.predict(x).tolist(), "new": iso.predict(x_new).tolist()})
    out = {"x": x.tolist(), "y": y.tolist(), "w": w.tolist(), "x_new": x_new.tolist(), "cases": cases}
    path = os.path.join("tests", "models", "fixtures", "isotonic_sklearn.json")
    with open(path, "w") as f:
        json.dump(out, f)
    print(json.dumps({"written": path}))


if __name__ == "__main__":
    main()
