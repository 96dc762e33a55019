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
def cscv_halves(t, s):
    """Every CSCV split of t rows in s contiguous groups: (in-sample rows, out-of-sample rows), S/2 groups each."""
    groups = np.array_split(np.arange(t), s)
    for combo in itertools.combinations(range(s), s // 2):
        yield (np.concatenate([groups[g] for g in combo]),
               np.concatenate([groups[g] for g in range(s) if g not in combo]))


def pbo_reference(m, s):
    n = m.shape[1]
    logits, oos_loss, is_best, oos_best = [], [], [], []
    for is_rows, oos_rows in cscv_halves(m.shape[0], s):
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


# --- PBO: S = 16, the "mean" metric, and zero-variance trials (drawn after every case above, so those keep their
# values). Same CSCV as pbo_reference, with candor's documented conventions for a constant trial: Sharpe 0 when its
# mean is 0, +/-inf otherwise; the degradation line is fitted on the combinations with finite IS and OOS values.
def perf(x, metric):
    mean = x.mean(0)
    if metric == "mean":
        return mean
    sd = x.std(0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = mean / sd
        return np.where(sd == 0, np.where(mean == 0, 0.0, np.sign(mean) * np.inf), p)


def pbo_reference_general(m, s, metric):
    n = m.shape[1]
    logits, oos_loss, is_best, oos_best = [], [], [], []
    for is_rows, oos_rows in cscv_halves(m.shape[0], s):
        is_perf = perf(m[is_rows], metric)
        oos_perf = perf(m[oos_rows], metric)
        star = int(np.argmax(is_perf))
        # scipy 1.10's rankdata returns all-NaN when both +inf and -inf occur: rank order-preserving finite stand-ins.
        w = stats.rankdata(np.nan_to_num(oos_perf, posinf=1e300, neginf=-1e300))[star] / (n + 1)
        logits.append(math.log(w / (1 - w)))
        oos_loss.append(oos_perf[star] < 0)
        is_best.append(is_perf[star])
        oos_best.append(oos_perf[star])
    logits = np.array(logits)
    is_best, oos_best = np.array(is_best), np.array(oos_best)
    finite = np.isfinite(is_best) & np.isfinite(oos_best)
    slope, intercept = np.polyfit(is_best[finite], oos_best[finite], 1)
    return logits, {"pbo": float(np.mean(logits <= 0)), "probOosLoss": float(np.mean(oos_loss)),
                    "degradationSlope": float(slope), "degradationIntercept": float(intercept),
                    "degradationCombinations": int(finite.sum()), "nCombinations": len(logits)}


m16 = rng.normal(0, 0.01, (64, 6))
m16[:, 1] += 0.002
logits16, r16 = pbo_reference_general(m16, 16, "sharpe")
# C(16, 8) = 12,870 logits are too many to store: the first and last ten and two checksums.
out["pboS16"] = {"rows": 64, "cols": 6, "S": 16, "metric": "sharpe", "matrix": fl(m16.ravel()), **r16,
                 "logitsHead": fl(logits16[:10]), "logitsTail": fl(logits16[-10:]),
                 "logitsSum": float(logits16.sum()), "logitsSumSquares": float((logits16 ** 2).sum())}

m_mean = rng.normal(0, 0.01, (120, 9))
m_mean[:, 4] += 0.001
logits_mean, r_mean = pbo_reference_general(m_mean, 8, "mean")
out["pboMean"] = {"rows": 120, "cols": 9, "S": 8, "metric": "mean", "matrix": fl(m_mean.ravel()), **r_mean,
                  "logits": fl(logits_mean)}

m_zv = rng.normal(0, 0.01, (120, 8))
zv_groups = np.array_split(np.arange(120), 6)
m_zv[np.concatenate([zv_groups[g] for g in (0, 2, 4)]), 2] = 2.0 ** -12  # constant (exactly representable) in 3 groups
m_zv[:, 5] = 0.0  # a flat trial: Sharpe 0 everywhere
m_zv[:, 6] = -(2.0 ** -8)  # a constant loser: Sharpe -inf everywhere
logits_zv, r_zv = pbo_reference_general(m_zv, 6, "sharpe")
out["pboZeroVariance"] = {"rows": 120, "cols": 8, "S": 6, "metric": "sharpe", "matrix": fl(m_zv.ravel()), **r_zv,
                          "logits": fl(logits_zv)}

path = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "fixtures", "metrics", "reference.json")
text = json.dumps(out, separators=(",", ":")) + "\n"
deno = shutil.which("deno")
if deno:
    # Keep the committed file in `deno fmt` layout (readable diffs). deno.json excludes tests/fixtures/ from fmt, so a
    # path argument finds no target: format through stdin, from the repository root so its lineWidth applies.
    root = os.path.join(os.path.dirname(__file__), "..", "..")
    fmt = subprocess.run([deno, "fmt", "--ext=json", "-"], input=text, capture_output=True, text=True, cwd=root)
    if fmt.returncode != 0:
        raise SystemExit(f"deno fmt failed: {fmt.stderr}")
    text = fmt.stdout
with open(path, "w") as f:
    f.write(text)
print(json.dumps({"written": os.path.normpath(path), "bytes": os.path.getsize(path)}))
