"""Reference values for candor's validation and metrics tests, computed with scikit-learn, scipy and numpy.

Writes tests/fixtures/metrics/reference.json (so CI needs no Python). Regenerate with:

    /usr/bin/python3 bench/reference/metrics_fixtures.py

Every input is generated here with a fixed seed and stored beside the expected outputs.
"""
import itertools
import json
import math
import os
import shutil
import subprocess

import numpy as np
from scipy import stats
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    classification_report,
    confusion_matrix,
    f1_score,
    matthews_corrcoef,
    mean_absolute_error,
    mean_squared_error,
    precision_recall_curve,
    r2_score,
)
from sklearn.model_selection import KFold, TimeSeriesSplit
from sklearn.utils.class_weight import compute_class_weight

rng = np.random.default_rng(20261122)
out = {"generator": "bench/reference/metrics_fixtures.py", "versions": {}}
import sklearn, scipy  # noqa: E402

out["versions"] = {"sklearn": sklearn.__version__, "scipy": scipy.__version__, "numpy": np.__version__}


def fl(x):
    return [float(v) for v in x]


# --- classification ---------------------------------------------------------------------------------------------
cls_cases = []
specs = [
    ("binary balanced", 2, 200, None),
    ("binary imbalanced, skewed predictions", 2, 150, [0.8, 0.2]),
    ("three classes", 3, 300, None),
    ("class never predicted", 3, 120, "never2"),
    ("constant prediction", 2, 90, "const"),
]
for name, k, n, mode in specs:
    y_true = rng.integers(0, k, n)
    if mode == "const":
        y_pred = np.ones(n, dtype=int)
    elif mode == "never2":
        y_pred = rng.integers(0, 2, n)
    elif isinstance(mode, list):
        y_true = rng.choice([0, 1], n, p=mode)
        y_pred = np.where(rng.random(n) < 0.7, y_true, 1 - y_true)
        y_pred[:40] = 1
    else:
        y_pred = np.where(rng.random(n) < 0.6, y_true, rng.integers(0, k, n))
    labels = sorted(set(y_true.tolist()) | set(y_pred.tolist()))
    rep = classification_report(y_true, y_pred, labels=labels, output_dict=True, zero_division=0)
    cls_cases.append({
        "name": name,
        "yTrue": y_true.tolist(),
        "yPred": y_pred.tolist(),
        "labels": labels,
        "confusion": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        "perClass": [{"label": l, "precision": rep[str(l)]["precision"], "recall": rep[str(l)]["recall"],
                      "f1": rep[str(l)]["f1-score"], "support": rep[str(l)]["support"]} for l in labels],
        "accuracy": accuracy_score(y_true, y_pred),
        "macroAvg": {k2: rep["macro avg"][k1] for k1, k2 in
                     [("precision", "precision"), ("recall", "recall"), ("f1-score", "f1")]},
        "weightedAvg": {k2: rep["weighted avg"][k1] for k1, k2 in
                        [("precision", "precision"), ("recall", "recall"), ("f1-score", "f1")]},
        "macroF1": f1_score(y_true, y_pred, average="macro", zero_division=0),
        "balancedAccuracy": balanced_accuracy_score(y_true, y_pred),
        "mcc": matthews_corrcoef(y_true, y_pred),
    })
out["classification"] = cls_cases

# --- correlation ------------------------------------------------------------------------------------------------
corr_cases = []
for name, n, ties, nans in [("continuous", 120, False, False), ("heavy ties", 80, True, False),
                            ("with NaN pairs", 100, True, True)]:
    a = rng.normal(size=n)
    b = 0.3 * a + rng.normal(size=n)
    if ties:
        a = np.round(a * 2) / 2
        b = np.round(b)
    if nans:
        a[[3, 17, 50]] = np.nan
        b[[5, 50, 99]] = np.nan
    ok = np.isfinite(a) & np.isfinite(b)
    corr_cases.append({
        "name": name,
        "a": [None if not np.isfinite(v) else float(v) for v in a],
        "b": [None if not np.isfinite(v) else float(v) for v in b],
        "pearson": float(stats.pearsonr(a[ok], b[ok])[0]),
        "spearman": float(stats.spearmanr(a[ok], b[ok])[0]),
    })
out["correlation"] = corr_cases

# cross-sectional IC: 30 dates x 12 symbols, per-date spearman, mean, std (ddof=1), ICIR
dates = [f"2024-01-{d:02d}" for d in range(1, 31)]
rows_d, pred, targ = [], [], []
for d in dates:
    p = rng.normal(size=12)
    t = 0.2 * p + rng.normal(size=12)
    rows_d += [d] * 12
    pred += fl(np.round(p, 1))
    targ += fl(t)
pred_a, targ_a = np.array(pred), np.array(targ)
per = []
for i, d in enumerate(dates):
    sl = slice(12 * i, 12 * i + 12)
    per.append(float(stats.spearmanr(pred_a[sl], targ_a[sl])[0]))
per = np.array(per)
out["crossSectionalIC"] = {"dates": rows_d, "predictions": pred, "targets": targ, "perDate": fl(per),
                           "meanIC": float(per.mean()), "icStd": float(per.std(ddof=1)),
                           "icir": float(per.mean() / per.std(ddof=1))}

# --- regression -------------------------------------------------------------------------------------------------
yt = rng.normal(0, 0.01, 250)
yp = 0.2 * yt + rng.normal(0, 0.005, 250)
out["regression"] = {"yTrue": fl(yt), "yPred": fl(yp), "mse": mean_squared_error(yt, yp),
                     "mae": mean_absolute_error(yt, yp), "r2": r2_score(yt, yp),
                     "predictionStd": float(np.std(yp, ddof=1))}

# --- class weights ----------------------------------------------------------------------------------------------
yw = rng.choice([0, 1, 2], 97, p=[0.6, 0.3, 0.1])
out["classWeights"] = {"y": yw.tolist(), "classes": [0, 1, 2],
                       "balanced": fl(compute_class_weight("balanced", classes=np.array([0, 1, 2]), y=yw))}

# --- splitters --------------------------------------------------------------------------------------------------
splits = []
for n, k, gap, max_train, test_size in [(100, 5, 5, None, None), (257, 4, 3, 40, None), (120, 3, 2, None, 20),
                                        (64, 6, 1, None, None)]:
    tss = TimeSeriesSplit(n_splits=k, gap=gap, max_train_size=max_train, test_size=test_size)
    folds = [{"train": tr.tolist(), "test": te.tolist()} for tr, te in tss.split(np.arange(n))]
    splits.append({"n": n, "folds": k, "gap": gap, "maxTrainSize": max_train, "testSize": test_size,
                   "split": folds})
out["timeSeriesSplit"] = splits
out["kFold"] = [{"n": n, "folds": k, "tests": [te.tolist() for _, te in KFold(n_splits=k).split(np.arange(n))]}
                for n, k in [(100, 5), (103, 4), (37, 6)]]

# --- significance -----------------------------------------------------------------------------------------------
binom = []
for k, n, p in [(540, 1000, 0.5), (27, 50, 0.5), (3, 40, 0.2), (611, 1000, 0.55), (0, 10, 0.5), (10, 10, 0.5)]:
    r_two = stats.binomtest(k, n, p, alternative="two-sided")
    r_g = stats.binomtest(k, n, p, alternative="greater")
    r_l = stats.binomtest(k, n, p, alternative="less")
    ci95 = r_two.proportion_ci(confidence_level=0.95, method="wilson")
    ci99 = r_two.proportion_ci(confidence_level=0.99, method="wilson")
    binom.append({"k": k, "n": n, "p": p, "twoSided": r_two.pvalue, "greater": r_g.pvalue, "less": r_l.pvalue,
                  "wilson95": [ci95.low, ci95.high], "wilson99": [ci99.low, ci99.high]})
out["binomial"] = binom

# --- sharpe statistics (scipy's normal distribution, Bailey & Lopez de Prado formulas) -----------------------------
rets = rng.standard_t(5, 750) * 0.01 + 0.0006
sr = rets.mean() / rets.std(ddof=1)
skew = stats.skew(rets)
kurt = stats.kurtosis(rets, fisher=False)
def psr(sr, sr_star, n, skew, kurt):
    return stats.norm.cdf((sr - sr_star) * math.sqrt(n - 1) / math.sqrt(1 - skew * sr + (kurt - 1) / 4 * sr ** 2))
def sr0(var, n_trials):
    g = 0.5772156649015329
    return math.sqrt(var) * ((1 - g) * stats.norm.ppf(1 - 1 / n_trials) + g * stats.norm.ppf(1 - 1 / (n_trials * math.e)))
def min_trl(sr, sr_star, skew, kurt, alpha):
    return 1 + (1 - skew * sr + (kurt - 1) / 4 * sr ** 2) * (stats.norm.ppf(1 - alpha) / (sr - sr_star)) ** 2
out["sharpe"] = {"returns": fl(rets), "sharpe": float(sr), "skew": float(skew), "kurtosis": float(kurt),
                 "psr0": float(psr(sr, 0, len(rets), skew, kurt)),
                 "psr002": float(psr(sr, 0.02, len(rets), skew, kurt)),
                 "expectedMax": float(sr0(0.0009, 50)),
                 "dsr": float(psr(sr, sr0(0.0009, 50), len(rets), skew, kurt)),
                 "minTrl95": float(min_trl(sr, 0, skew, kurt, 0.05))}

# --- best-F1 threshold ------------------------------------------------------------------------------------------
yb = rng.integers(0, 2, 300)
sc = np.round(0.3 * yb + rng.normal(0, 0.35, 300), 2)
prec, rec, thr = precision_recall_curve(yb, sc)
f1 = np.where(prec + rec > 0, 2 * prec * rec / np.maximum(prec + rec, 1e-300), 0)[:-1]
best = int(np.argmax(f1))
out["bestF1"] = {"yTrue": yb.tolist(), "scores": fl(sc), "threshold": float(thr[best]), "f1": float(f1[best])}


# --- PBO by CSCV (direct, slow implementation on row subsets) -------------------------------------------------------
def pbo_reference(m, s):
    t, n = m.shape
    groups = np.array_split(np.arange(t), s)
    logits, oos_loss, is_best, oos_best = [], [], [], []
    for combo in itertools.combinations(range(s), s // 2):
        is_rows = np.concatenate([groups[g] for g in combo])
        oos_rows = np.concatenate([groups[g] for g in range(s) if g not in combo])
        is_perf = m[is_rows].mean(0) / m[is_rows].std(0, ddof=1)
        oos_perf = m[oos_rows].mean(0) / m[oos_rows].std(0, ddof=1)
        star = int(np.argmax(is_perf))
        w = stats.rankdata(oos_perf)[star] / (n + 1)
        logits.append(math.log(w / (1 - w)))
        oos_loss.append(oos_perf[star] < 0)
        is_best.append(is_perf[star])
        oos_best.append(oos_perf[star])
    logits = np.array(logits)
    slope, intercept = np.polyfit(is_best, oos_best, 1)
    return {"pbo": float(np.mean(logits <= 0)), "logits": fl(logits), "probOosLoss": float(np.mean(oos_loss)),
            "degradationSlope": float(slope), "degradationIntercept": float(intercept)}


pbo_cases = []
for name, t, n, s, skill in [("noise", 203, 12, 6, 0.0), ("one skilled trial", 160, 10, 8, 0.25),
                             ("noise S=4", 90, 7, 4, 0.0)]:
    m = rng.normal(0, 0.01, (t, n))
    if skill > 0:
        m[:, 3] += skill * 0.01
    pbo_cases.append({"name": name, "rows": t, "cols": n, "S": s, "matrix": fl(m.ravel()), **pbo_reference(m, s)})
out["pbo"] = pbo_cases

path = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "fixtures", "metrics", "reference.json")
with open(path, "w") as f:
    json.dump(out, f, separators=(",", ":"))
    f.write("\n")
deno = shutil.which("deno")
if deno:  # keep the committed file in `deno fmt` style so `deno fmt --check` passes
    subprocess.run([deno, "fmt", "-q", path], check=True)
print(json.dumps({"written": os.path.normpath(path), "bytes": os.path.getsize(path)}))
