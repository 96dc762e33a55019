"""Writes tests/models/fixtures/linear_sklearn.json: scikit-learn's ElasticNet (incl. positive=True and sample
weights), Ridge and LogisticRegression fitted on a small seeded dataset, so candor's linear models are checked against
an independent implementation without Python in CI.

Run from the repository root: /usr/bin/python3 bench/reference/linear_fixtures.py
"""

import json
import os

import numpy as np
import sklearn
from sklearn.linear_model import ElasticNet, LogisticRegression, Ridge


def main() -> None:
    rng = np.random.default_rng(7)
    n, p = 150, 6
    Z = rng.normal(size=(n, p))
    X = (Z + 0.5 * Z[:, [0]]).astype(np.float32)  # correlated columns
    beta = np.array([1.5, -2.0, 0.0, 0.7, 0.0, -0.3])
    y = X.astype(np.float64) @ beta + 0.3 + rng.normal(scale=0.5, size=n)
    label = (y + rng.normal(scale=1.0, size=n) > 0.3).astype(np.float64)
    w = rng.uniform(0.2, 2.0, size=n)
    Xd = X.astype(np.float64)
    cases = []

    def add(kind, params, est, target, weight):
        est.fit(Xd, target, sample_weight=weight)
        cases.append({
            "kind": kind,
            "params": params,
            "weighted": weight is not None,
            "coef": np.ravel(est.coef_).tolist(),
            "intercept": float(np.ravel([est.intercept_])[0]),
            "predictions": (est.predict_proba(Xd)[:, 1] if kind == "logistic" else est.predict(Xd)).tolist(),
        })

    for alpha, l1, positive, weighted in [(0.1, 0.5, False, False), (0.05, 0.9, True, False), (0.2, 1.0, False, False),
                                          (0.1, 0.3, False, True), (0.02, 0.5, True, True), (0.5, 0.05, False, False)]:
        add("elasticnet", {"alpha": alpha, "l1Ratio": l1, "positive": positive},
            ElasticNet(alpha=alpha, l1_ratio=l1, positive=positive, tol=1e-12, max_iter=1_000_000),
            y, w if weighted else None)
    for alpha, weighted in [(2.0, False), (0.5, True)]:
        add("ridge", {"alpha": alpha}, Ridge(alpha=alpha, solver="cholesky"), y, w if weighted else None)
    # newton-cg: lbfgs stops with gradients ~1e-4 on this problem even at tol=1e-12; newton-cg reaches ~1e-8.
    for C, weighted in [(0.5, False), (10.0, True)]:
        add("logistic", {"C": C}, LogisticRegression(C=C, tol=1e-12, max_iter=100_000, solver="newton-cg"), label,
            w if weighted else None)

    out = {"sklearn": sklearn.__version__, "rows": n, "cols": p, "X": X.astype(np.float64).ravel().tolist(),
           "y": y.tolist(), "label": label.tolist(), "weight": w.tolist(), "cases": cases}
    path = os.path.join("tests", "models", "fixtures", "linear_sklearn.json")
    with open(path, "w") as f:
        json.dump(out, f)
    print(json.dumps({"written": path, "cases": len(cases)}))


if __name__ == "__main__":
    main()
