"""Reference implementation of candor's full feature set (lib/features) in pandas/numpy.

Two uses:

  python3 bench/reference/features.py bench DATA_DIR [RUNS]
      loads every <SYMBOL>.csv.gz in DATA_DIR (not timed), computes the full feature set RUNS times and prints
      {"seconds": [...], "cpu_seconds": [...], "fresh_gib": [...], "rows": N, "features": K} on its last line
      (wall time, user + system CPU time, and GiB of memory pages touched for the first time, from minor page faults).

  python3 bench/reference/features.py fixture tests/fixtures/features/oracle.json
      generates a small seeded two-symbol OHLCV panel, computes every feature and writes inputs and outputs as JSON:
      the independent oracle tests/features/oracle_test.ts compares candor against (CI needs no Python).

Formulas follow the module docs of lib/features/{technical,alpha158,calendar}.ts. Idiomatic pandas: rolling windows
per symbol (whole-column rolling then masking each symbol's first `lookback` rows, exactly as candor does for bounded
features; groupby for standard deviations and exponential averages), numpy sliding windows for regressions,
correlations, arg-max and ranks.
"""

import glob
import json
import os
import resource
import sys
import time

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

EPS = 1e-12
WINDOWS = [5, 10, 20, 30, 60]


def load(data_dir):
    frames = []
    for path in sorted(glob.glob(os.path.join(data_dir, "*.csv.gz"))):
        sym = os.path.basename(path)[: -len(".csv.gz")]
        df = pd.read_csv(path)
        df["symbol"] = sym
        df["adj_close"] = df["adj_close"].fillna(df["close"])
        frames.append(df[["date", "symbol", "open", "high", "low", "close", "adj_close", "volume"]])
    return pd.concat(frames, ignore_index=True).sort_values(["symbol", "date"], kind="stable").reset_index(drop=True)


def features(df):
    out = {}
    f = df["adj_close"] / df["close"]
    O, H, L, C = df["open"] * f, df["high"] * f, df["low"] * f, df["adj_close"]
    V = df["volume"] / f
    sym = df["symbol"]
    row = df.groupby("symbol", sort=False).cumcount().to_numpy()
    g = lambda s: s.groupby(sym, sort=False)  # noqa: E731
    starts = np.flatnonzero(np.r_[True, sym.to_numpy()[1:] != sym.to_numpy()[:-1]])
    bounds = list(zip(starts, list(starts[1:]) + [len(df)]))

    def mask(s, lookback):  # bounded: whole-column result, first `lookback` rows of every symbol set to NaN
        s = s.astype(float).copy()
        s[row < lookback] = np.nan
        return s

    def shift(s, k):
        return mask(s.shift(k), k)

    def rstd(s, d):  # per symbol, like candor's std-based features
        return g(s).rolling(d).std().reset_index(level=0, drop=True)

    def ewm(s, alpha, minp):
        return g(s).transform(lambda x: x.ewm(alpha=alpha, adjust=False, min_periods=minp).mean())

    def per_symbol(fn):  # numpy function of one symbol's arrays, concatenated
        res = np.full(len(df), np.nan)
        for a, b in bounds:
            res[a:b] = fn(a, b)
        return res

    def slide(x, d):
        n = len(x)
        return None if n < d else sliding_window_view(x, d)

    # candle shape and price
    rng = H - L + EPS
    top, bot = np.maximum(O, C), np.minimum(O, C)
    out.update({
        "KMID": (C - O) / O, "KLEN": (H - L) / O, "KMID2": (C - O) / rng, "KUP": (H - top) / O,
        "KUP2": (H - top) / rng, "KLOW": (bot - L) / O, "KLOW2": (bot - L) / rng, "KSFT": (2 * C - H - L) / O,
        "KSFT2": (2 * C - H - L) / rng, "OPEN0": O / C, "HIGH0": H / C, "LOW0": L / C,
    })
    Cn, Hn, Ln, Vn = C.to_numpy(), H.to_numpy(), L.to_numpy(), V.to_numpy()
    logV = np.log(Vn + 1)
    cr = (C / shift(C, 1)).to_numpy()
    vr = np.log(V / shift(V, 1) + 1).to_numpy()
    dC = C - shift(C, 1)
    dV = V - shift(V, 1)
    wv = (C / shift(C, 1) - 1).abs() * V
    for d in WINDOWS:
        w = d - 1
        out[f"ROC{d}"] = shift(C, d) / C
        out[f"MA{d}"] = mask(C.rolling(d).mean(), w) / C
        out[f"STD{d}"] = rstd(C, d) / C

        def reg(a, b, d=d):
            y = Cn[a:b]
            res = np.full((3, b - a), np.nan)
            Y = slide(y, d)
            if Y is None:
                return res
            x = np.arange(d) - (d - 1) / 2
            sxx = d * (d * d - 1) / 12
            ym = Y.mean(axis=1)
            dy = Y - ym[:, None]
            sxy = dy @ x
            syy = (dy * dy).sum(axis=1)
            slope = sxy / sxx
            with np.errstate(divide="ignore", invalid="ignore"):
                res[1, d - 1:] = np.where(syy > 0, sxy * sxy / (sxx * syy), np.nan)
            res[0, d - 1:] = slope
            res[2, d - 1:] = y[d - 1:] - (ym + slope * (d - 1 - (d - 1) / 2))
            return res

        R = np.full((3, len(df)), np.nan)
        for a, b in bounds:
            R[:, a:b] = reg(a, b)
        out[f"BETA{d}"] = R[0] / Cn
        out[f"RSQR{d}"] = R[1]
        out[f"RESI{d}"] = R[2] / Cn
        hi = mask(H.rolling(d).max(), w)
        lo = mask(L.rolling(d).min(), w)
        out[f"MAX{d}"] = hi / C
        out[f"MIN{d}"] = lo / C
        out[f"QTLU{d}"] = mask(C.rolling(d).quantile(0.8, interpolation="linear"), w) / C
        out[f"QTLD{d}"] = mask(C.rolling(d).quantile(0.2, interpolation="linear"), w) / C
        out[f"RANK{d}"] = mask(C.rolling(d).rank(pct=True, method="average"), w)
        out[f"RSV{d}"] = (C - lo) / (hi - lo + EPS)

        def argext(x, a, b, d=d, fn=np.argmax):
            res = np.full(b - a, np.nan)
            X = slide(x[a:b], d)
            if X is not None:
                res[d - 1:] = fn(X, axis=1) + 1
            return res

        imax = per_symbol(lambda a, b: argext(Hn, a, b))
        imin = per_symbol(lambda a, b: argext(Ln, a, b, fn=np.argmin))
        out[f"IMAX{d}"] = imax / d
        out[f"IMIN{d}"] = imin / d
        out[f"IMXD{d}"] = (imax - imin) / d

        def corr(x, y, a, b, first=0, d=d):
            res = np.full(b - a, np.nan)
            X, Y = slide(x[a + first:b], d), slide(y[a + first:b], d)
            if X is None:
                return res
            dx = X - X.mean(axis=1)[:, None]
            dy = Y - Y.mean(axis=1)[:, None]
            cxx, cyy = (dx * dx).sum(axis=1), (dy * dy).sum(axis=1)
            mx, my = X.mean(axis=1), Y.mean(axis=1)
            ok = (cxx > 1e-20 * d * mx * mx) & (cyy > 1e-20 * d * my * my) & (cxx > 0) & (cyy > 0)
            with np.errstate(divide="ignore", invalid="ignore"):
                res[first + d - 1:] = np.where(ok, (dx * dy).sum(axis=1) / np.sqrt(cxx * cyy), np.nan)
            return res

        out[f"CORR{d}"] = per_symbol(lambda a, b: corr(Cn, logV, a, b))
        out[f"CORD{d}"] = per_symbol(lambda a, b: corr(cr, vr, a, b, first=1))
        up = (dC > 0).astype(float).where(dC.notna())
        down = (dC < 0).astype(float).where(dC.notna())
        cntp = mask(up.rolling(d).mean(), d)
        cntn = mask(down.rolling(d).mean(), d)
        out[f"CNTP{d}"], out[f"CNTN{d}"], out[f"CNTD{d}"] = cntp, cntn, cntp - cntn
        s_abs = mask(dC.abs().rolling(d).sum(), d) + EPS
        s_up = mask(dC.clip(lower=0).rolling(d).sum(), d)
        s_dn = mask((-dC).clip(lower=0).rolling(d).sum(), d)
        out[f"SUMP{d}"], out[f"SUMN{d}"], out[f"SUMD{d}"] = s_up / s_abs, s_dn / s_abs, (s_up - s_dn) / s_abs
        out[f"VMA{d}"] = mask(V.rolling(d).mean(), w) / (V + EPS)
        out[f"VSTD{d}"] = rstd(V, d) / (V + EPS)
        out[f"WVMA{d}"] = rstd(wv, d) / (mask(wv.rolling(d).mean(), d) + EPS)
        v_abs = mask(dV.abs().rolling(d).sum(), d) + EPS
        v_up = mask(dV.clip(lower=0).rolling(d).sum(), d)
        v_dn = mask((-dV).clip(lower=0).rolling(d).sum(), d)
        out[f"VSUMP{d}"], out[f"VSUMN{d}"], out[f"VSUMD{d}"] = v_up / v_abs, v_dn / v_abs, (v_up - v_dn) / v_abs

    # technical
    r = np.log(C / shift(C, 1))
    for d in [1, 5, 10, 20, 60]:
        out[f"RET{d}"] = np.log(C / shift(C, d))
    for d in [5, 10, 20, 60]:
        out[f"RVOL{d}"] = rstd(r, d)
    for d in [5, 10, 20, 60]:
        out[f"MAR{d}"] = C / mask(C.rolling(d).mean(), d - 1) - 1
    gain = dC.clip(lower=0).where(dC.notna())
    loss = (-dC).clip(lower=0).where(dC.notna())
    G, Lo = ewm(gain, 1 / 14, 14), ewm(loss, 1 / 14, 14)
    out["RSI14"] = 100 * G / (G + Lo)
    macd = (ewm(C, 2 / 13, 12) - ewm(C, 2 / 27, 26)) / C
    sig = ewm(macd, 2 / 10, 9)
    out["MACD"], out["MACDSIG"], out["MACDHIST"] = macd, sig, macd - sig
    m20, s20 = mask(C.rolling(20).mean(), 19), rstd(C, 20)
    out["BBPB20"] = (C - (m20 - 2 * s20)) / (4 * s20)
    prev = shift(C, 1)
    tr = pd.concat([H - L, (H - prev).abs(), (L - prev).abs()], axis=1).max(axis=1)
    tr = tr.where(prev.notna(), H - L)
    out["ATR14"] = ewm(tr, 1 / 14, 14) / C
    out["RANGE"] = (H - L) / C
    hl = np.log(H / L)
    co = np.log(C / O)
    out["PARK20"] = np.sqrt(mask((hl * hl).rolling(20).mean(), 19) / (4 * np.log(2)))
    out["GK20"] = np.sqrt(mask((0.5 * hl * hl - (2 * np.log(2) - 1) * co * co).rolling(20).mean(), 19).clip(lower=0))
    lv = np.log(V + 1)
    for d in [20, 60]:
        out[f"VZ{d}"] = (lv - mask(lv.rolling(d).mean(), d - 1)) / rstd(lv, d)
    # calendar
    dt = pd.to_datetime(df["date"], format="%Y-%m-%d")
    out["DOW"], out["MONTH"], out["DOM"] = dt.dt.dayofweek, dt.dt.month, dt.dt.day
    res = pd.DataFrame({k: np.asarray(v, dtype=float) for k, v in out.items()})
    res = res.replace([np.inf, -np.inf], np.nan)
    # cross-sectional ranks
    for src in ["RET1", "RET5", "RET20", "RVOL20", "MAR20", "RSI14", "VZ20"]:
        res[f"CSR_{src}"] = res[src].groupby(df["date"]).rank(method="average", pct=True)
    return res


def fixture_panel():
    rng = np.random.default_rng(20261122)
    rows = []
    dates = pd.bdate_range("2015-01-02", periods=120).strftime("%Y-%m-%d")
    for s, base in [("AAA", 40.0), ("BBB", 900.0)]:
        c = base
        for i, d in enumerate(dates):
            o = c * np.exp(0.003 * rng.standard_normal())
            c = o * np.exp(0.015 * rng.standard_normal())
            h = max(o, c) * np.exp(0.006 * abs(rng.standard_normal()))
            lo = min(o, c) * np.exp(-0.006 * abs(rng.standard_normal()))
            v = float(round(1e6 * np.exp(0.4 * rng.standard_normal())))
            adj = c * (0.5 if i < 60 and s == "BBB" else 1.0)  # a 2:1 split-like adjustment on BBB
            rows.append((d, s, o, h, lo, c, adj, v))
    return pd.DataFrame(rows, columns=["date", "symbol", "open", "high", "low", "close", "adj_close", "volume"])


def main():
    mode = sys.argv[1]
    if mode == "bench":
        df = load(sys.argv[2])
        runs = int(sys.argv[3]) if len(sys.argv) > 3 else 1
        times, cpu, fresh = [], [], []
        for _ in range(runs):
            u0 = resource.getrusage(resource.RUSAGE_SELF)
            t0 = time.perf_counter()
            res = features(df)
            times.append(time.perf_counter() - t0)
            u1 = resource.getrusage(resource.RUSAGE_SELF)
            cpu.append(u1.ru_utime + u1.ru_stime - u0.ru_utime - u0.ru_stime)
            fresh.append((u1.ru_minflt - u0.ru_minflt) * resource.getpagesize() / 2**30)  # GiB of first-touched pages
        out = {"seconds": times, "cpu_seconds": cpu, "fresh_gib": fresh, "rows": len(df), "features": res.shape[1]}
        print(json.dumps(out))
    elif mode == "fixture":
        df = fixture_panel()
        res = features(df)
        clean = lambda a: [None if not np.isfinite(x) else float("%.12g" % x) for x in a]  # noqa: E731
        out = {
            "generator": "bench/reference/features.py fixture (pandas " + pd.__version__ + ", numpy " + np.__version__ + ")",
            "input": {c: (df[c].tolist() if c in ("date", "symbol") else clean(df[c].to_numpy())) for c in df.columns},
            "features": {c: clean(res[c].to_numpy()) for c in res.columns},
        }
        with open(sys.argv[2], "w") as fh:
            json.dump(out, fh)
        print(json.dumps({"features": res.shape[1], "rows": len(df)}))
    else:
        raise SystemExit("usage: features.py bench DATA_DIR [RUNS] | fixture OUT.json")


if __name__ == "__main__":
    main()
