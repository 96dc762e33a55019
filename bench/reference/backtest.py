#!/usr/bin/env python3
"""Independent numpy implementation of candor's backtest conventions (lib/backtest), used two ways:

    backtest.py fixture DATA_DIR OUT.json   real prices -> tests/fixtures/backtest/reference.json
    backtest.py bench                       timings of the same computations, printed as one JSON line

Written from the stated conventions, not from the TypeScript code:
  r[t] = P[t] / P[previous date with a price] - 1 (NaN where no price);  q[t] = w[t - lag];
  net[t] = sum_j q*r (NaN r -> 0) - (cost + slippage)/1e4 * sum|q[t] - q[t-1]| - borrow/1e4/A * sum max(-q, 0);
  window = [first decision row + lag, min(last decision row + lag, n - 1)];  equity = cumprod(1 + net);
  buy & hold = 1/N in each symbol with a return on the first held date, never rebalanced, entry cost once;
  metrics as documented in lib/backtest/metrics.ts (Sharpe with ddof 1 * sqrt(A), drawdown negative, ...);
  PSR(0) and DSR (Bailey & Lopez de Prado 2012, 2014) with the normal CDF from math.erfc and its quantile from
  statistics.NormalDist, skewness and kurtosis (not excess) as biased moment estimators.
Top-k with dropout follows Qlib's TopkDropoutStrategy (method_sell="bottom", method_buy="top") with full sorts.
Sizing (lib/backtest/sizing.ts conventions): sign; clip(scale * forecast / sigma, +-cap) with sigma the ddof-1 std of
the last `window` finite returns up to t; volatility targeting target / (sigma * sqrt(A)); fractional Kelly
f* = p - (1 - p) / b; the long-biased hybrid; the drawdown breaker, here evaluated from scratch at every close by
running the reference engine on the decisions taken so far (quadratic, but independent of the sequential
implementation); forecast conversion exp(f / h + s^2 / 2) - 1; sweeps of window x sizing x cost cells deflated with
N = number of rows.
"""

import csv
import gzip
import json
import math
import os
import statistics
import sys
import time

import numpy as np

SYMBOLS = ["AAPL", "IBM", "JPM", "KIM", "MA", "MSFT", "RHI", "SPGI", "VIAC", "WELL", "XOM"]
START, END = "2006-01-01", "2007-12-31"
MOMENTUM = 20


def load_prices(data_dir):
    """Dates (sorted union inside the window) and an n x m adj_close grid with NaN where a symbol has no row."""
    series = {}
    for s in SYMBOLS:
        with gzip.open(os.path.join(data_dir, f"{s}.csv.gz"), "rt") as f:
            rows = list(csv.DictReader(f))
        series[s] = {r["date"]: float(r["adj_close"]) for r in rows if START <= r["date"] <= END}
    dates = sorted(set().union(*[set(v) for v in series.values()]))
    prices = np.full((len(dates), len(SYMBOLS)), np.nan)
    for j, s in enumerate(SYMBOLS):
        for i, d in enumerate(dates):
            prices[i, j] = series[s].get(d, np.nan)
    return dates, prices


def returns_from_prices(prices):
    """Gap-spanning arithmetic returns: each price against the symbol's previous available price."""
    n, m = prices.shape
    r = np.full((n, m), np.nan)
    for j in range(m):
        idx = np.flatnonzero(~np.isnan(prices[:, j]))
        r[idx[1:], j] = prices[idx[1:], j] / prices[idx[:-1], j] - 1.0
    return r


def momentum(prices, k=MOMENTUM):
    """log(P[t] / P[t - k]) on the date grid; NaN when either price is missing."""
    f = np.full(prices.shape, np.nan)
    f[k:] = np.log(prices[k:] / prices[:-k])
    return f


def weights_simple(f, scheme):
    elig = np.isfinite(f)
    count = elig.sum(axis=1).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        if scheme == "equal-weight":
            w = np.where(elig, 1.0, 0.0) / count[:, None]
        elif scheme == "long-short":
            w = np.where(elig, np.sign(np.nan_to_num(f)), 0.0) / count[:, None]
        elif scheme == "long-only":
            w = np.where(elig & (np.nan_to_num(f) > 0), 1.0, 0.0) / count[:, None]
        else:
            raise ValueError(scheme)
    w[count == 0] = np.nan
    return w


def _ranked(names, score):
    """Names sorted best first: higher score, ties by lower index."""
    return sorted(names, key=lambda j: (-score[j], j))


def _topk_dropout_book(score, held, eligible, k, n_drop):
    last = _ranked([j for j in held if j in eligible], score)
    others = _ranked([j for j in eligible if j not in last], score)
    today = others[: max(0, n_drop + k - len(last))]
    comb = _ranked(list(last) + list(today), score)
    worst = set(comb[max(k, len(comb) - n_drop):])
    sell = [j for j in last if j in worst]
    left = [j for j in last if j not in worst]
    buy = today[: max(0, len(sell) + k - len(last))]
    return left + buy


def weights_topk(f, k, n_drop, short):
    n, m = f.shape
    w = np.zeros((n, m))
    long_book, short_book = [], []
    for t in range(n):
        eligible = [j for j in range(m) if np.isfinite(f[t, j])]
        if not eligible:
            w[t] = np.nan
            continue
        score = {j: f[t, j] for j in eligible}
        long_book = _topk_dropout_book(score, long_book, set(eligible), k, n_drop)
        if short:
            rest = set(eligible) - set(long_book)
            neg = {j: -score[j] for j in rest}
            short_book = _topk_dropout_book(neg, short_book, rest, k, n_drop)
        half = 0.5 if short and long_book and short_book else 1.0
        for j in long_book:
            w[t, j] = half / len(long_book)
        for j in short_book:
            w[t, j] = -half / len(short_book)
    return w


def window_of(w, lag, n):
    rows = np.flatnonzero(np.isfinite(w).any(axis=1))
    if rows.size == 0:
        return n, -1
    return rows[0] + lag, min(rows[-1] + lag, n - 1)


def simulate(r, w, lag, cost_bps, slippage_bps, borrow_bps, annualization):
    n, m = r.shape
    start, end = window_of(w, lag, n)
    q = np.nan_to_num(w[start - lag : end - lag + 1], nan=0.0)
    rr = np.nan_to_num(r[start : end + 1], nan=0.0)
    prev = np.vstack([np.zeros((1, m)), q[:-1]])
    traded = np.abs(q - prev).sum(axis=1)
    shorts = np.clip(-q, 0, None).sum(axis=1)
    net = (q * rr).sum(axis=1) - (cost_bps + slippage_bps) / 1e4 * traded - borrow_bps / 1e4 / annualization * shorts
    gross = np.abs(q).sum(axis=1)
    return start, end, net, gross, traded


def buy_and_hold(r, start, end, entry_cost):
    members = np.isfinite(r[start])
    growth = np.cumprod(1.0 + np.nan_to_num(r[start : end + 1][:, members], nan=0.0), axis=0)
    total = growth.sum(axis=1) / members.sum()
    net = total / np.concatenate([[1.0], total[:-1]]) - 1.0
    net[0] -= entry_cost
    return net


def normal_cdf(z):
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


EULER_GAMMA = 0.5772156649015329


def sharpe_significance(net, trials=None, trial_variance=None):
    """Per-period Sharpe (ddof 1), biased skewness and kurtosis, PSR(0), and the DSR given the trials."""
    out = {"probabilisticSharpe": None, "skewness": None, "kurtosis": None}
    if trials is not None:
        out["trials"] = trials
        out["deflatedSharpe"] = None
    n = net.size
    if n < 3 or not np.all(np.isfinite(net)):
        return out
    d = net - net.mean()
    m2, m3, m4 = (d**2).mean(), (d**3).mean(), (d**4).mean()
    sd = net.std(ddof=1)
    if not (sd > 0 and m2 > 0):
        return out
    sr = net.mean() / sd
    skew = m3 / m2**1.5
    kurt = m4 / m2**2
    denom = math.sqrt(1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr * sr)
    out.update({"skewness": skew, "kurtosis": kurt, "probabilisticSharpe": normal_cdf(sr * math.sqrt(n - 1) / denom)})
    if trials is not None:
        sr0 = 0.0
        if trials > 1:
            inv = statistics.NormalDist().inv_cdf
            sr0 = math.sqrt(trial_variance) * ((1 - EULER_GAMMA) * inv(1 - 1 / trials)
                                               + EULER_GAMMA * inv(1 - 1 / (trials * math.e)))
        out["deflatedSharpe"] = normal_cdf((sr - sr0) * math.sqrt(n - 1) / denom)
    return out


def metrics(net, annualization, gross=None, traded=None, bench=None):
    n = net.size
    A = annualization
    growth = np.prod(1.0 + net)
    sd = net.std(ddof=1)
    downside = math.sqrt(np.mean(np.minimum(net, 0.0) ** 2))
    equity = np.cumprod(1.0 + net)
    peak = np.maximum.accumulate(np.concatenate([[1.0], equity]))[1:]
    dd = equity / peak - 1.0
    below = np.concatenate([[0], (equity < peak).astype(np.int8), [0]])
    edges = np.diff(below)
    runs = np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)
    longest = int(runs.max()) if runs.size else 0
    mdd = float(dd.min()) if n else 0.0
    mdd = min(mdd, 0.0)
    gross = np.ones(n) if gross is None else gross
    invested = gross > 0
    cagr = growth ** (A / n) - 1.0
    out = {
        "totalReturn": growth - 1.0,
        "cagr": cagr,
        "annualVolatility": sd * math.sqrt(A),
        "sharpe": net.mean() / sd * math.sqrt(A) if sd > 0 else None,
        "sortino": net.mean() / downside * math.sqrt(A) if downside > 0 else None,
        "maxDrawdown": mdd,
        "maxDrawdownDuration": longest,
        "calmar": cagr / abs(mdd) if mdd < 0 else None,
        "hitRate": float((net[invested] > 0).mean()) if invested.any() else None,
        "turnover": float(traded.mean()) if traded is not None else 0.0,
        "annualTurnover": float(traded.mean()) * A if traded is not None else 0.0,
        "exposure": float(gross.mean()),
        "timeInMarket": float(invested.mean()),
        "periods": n,
    }
    if bench is not None:
        active = net - bench
        out["alpha"] = active.mean() * A
        out["informationRatio"] = active.mean() / active.std(ddof=1) * math.sqrt(A)
        out["beta"] = np.cov(net, bench, ddof=1)[0, 1] / bench.var(ddof=1)
        out["excessTotalReturn"] = (growth - 1.0) - (np.prod(1.0 + bench) - 1.0)
    out.update(sharpe_significance(net))
    return {k: (None if v is None else float(v)) for k, v in out.items()}


def run_config(r, w, cfg):
    A = cfg.get("annualization", 252)
    start, end, net, gross, traded = simulate(
        r, w, cfg["lag"], cfg["costBps"], cfg.get("slippageBps", 0), cfg.get("borrowBps", 0), A
    )
    entry = (cfg["costBps"] + cfg.get("slippageBps", 0)) / 1e4
    if r.shape[1] == 1:  # single series: buy & hold = constant position 1 through the same engine
        ones = np.full(w.shape, np.nan)
        ones[start - cfg["lag"] : end - cfg["lag"] + 1] = 1.0
        _, _, bh, bh_gross, bh_traded = simulate(r, ones, cfg["lag"], cfg["costBps"], cfg.get("slippageBps", 0),
                                                 cfg.get("borrowBps", 0), A)
    else:
        bh = buy_and_hold(r, start, end, entry)
        bh_gross = np.ones(bh.size)
        bh_traded = np.zeros(bh.size)
        bh_traded[0] = 1.0
    return {
        "start": int(start),
        "end": int(end),
        "net": net.tolist(),
        "equity": np.cumprod(1.0 + net).tolist(),
        "buyAndHoldNet": bh.tolist(),
        "metrics": metrics(net, A, gross, traded, bh),
        "buyAndHold": metrics(bh, A, bh_gross, bh_traded),
    }


PANEL_CONFIGS = [
    {"name": "long-short lag1 10bps", "portfolio": "long-short", "lag": 1, "costBps": 10},
    {"name": "long-only lag2 5+5bps", "portfolio": "long-only", "lag": 2, "costBps": 5, "slippageBps": 5},
    {"name": "equal-weight lag1 0bps", "portfolio": "equal-weight", "lag": 1, "costBps": 0},
    {"name": "top3 drop1 long-only 10bps", "portfolio": {"kind": "topk", "k": 3, "nDrop": 1}, "lag": 1,
     "costBps": 10},
    {"name": "top2 drop1 long-short 10bps borrow 100", "portfolio": {"kind": "topk", "k": 2, "nDrop": 1,
                                                                   "short": True},
     "lag": 1, "costBps": 10, "borrowBps": 100},
]
SERIES_CONFIG = {"name": "AAPL clip(momentum/0.1) lag1 5+2bps borrow 50", "symbol": "AAPL", "lag": 1, "costBps": 5,
                 "slippageBps": 2, "borrowBps": 50}


def weights_for(f, portfolio):
    if isinstance(portfolio, str):
        return weights_simple(f, portfolio)
    return weights_topk(f, portfolio["k"], portfolio.get("nDrop", portfolio["k"]), portfolio.get("short", False))


# ---- sizing -------------------------------------------------------------------------------------------------------


def trailing_std(x, window):
    """std (ddof 1) of the last `window` finite values up to and including t (NaN before `window` of them)."""
    x = np.asarray(x, dtype=float)
    out = np.full(x.size, np.nan)
    idx = np.flatnonzero(np.isfinite(x))
    if idx.size < window:
        return out
    sd = np.lib.stride_tricks.sliding_window_view(x[idx], window).std(axis=1, ddof=1)
    seen = np.cumsum(np.isfinite(x))  # finite values up to t
    ok = seen >= window
    out[ok] = sd[seen[ok] - window]
    return out


def daily_expected(f, horizon, log_vol):
    return np.expm1(f / horizon + np.asarray(log_vol) ** 2 / 2.0)


def converted(spec, f, r):
    h = spec.get("horizon")
    if h is None:
        return f
    vol = spec.get("dailyLogVol", 0.0)
    if vol == "trailing":
        vol = trailing_std(np.log1p(r), spec.get("window", 20))
    return daily_expected(f, h, vol)


def kelly_star(p, b):
    return p - (1.0 - p) / b


def hybrid_base(f, spec):
    k = spec.get("kellyFraction", 0.5) * max(0.0, kelly_star(spec["winRate"], spec.get("payoff", 1.0)))
    bull = min(spec["maxLong"], spec["baseLongBias"] + k)
    bear = 0.0 if spec["bearishRiskOff"] else max(-spec["maxShort"], spec["baseLongBias"] - k)
    neutral = min(spec["maxLong"], spec["baseLongBias"])
    with np.errstate(invalid="ignore"):
        return np.where(f > 0, bull, np.where(f < 0, bear, np.where(f == 0, neutral, np.nan)))


def breaker(base, r, threshold, cap, costs):
    """At each close t: run the reference engine on the decisions so far (window forced to end at t), then cap the
    decision at t while the drawdown has reached -threshold since the last time equity stood at its peak."""
    n = base.size
    out = base.astype(float).copy()
    tripped = np.zeros(n, dtype=bool)
    lag = costs["lag"]
    finite = np.flatnonzero(np.isfinite(base))
    start = finite[0] + lag if finite.size else n
    last_end = min(finite[-1] + lag, n - 1) if finite.size else -1
    for t in range(n):
        on = False
        end = min(t, last_end)
        if end >= start:
            q = np.nan_to_num(out[start - lag : end - lag + 1], nan=0.0)
            rr = np.nan_to_num(r[start : end + 1], nan=0.0)
            prev = np.concatenate([[0.0], q[:-1]])
            net = (q * rr - (costs["costBps"] + costs["slippageBps"]) / 1e4 * np.abs(q - prev)
                   - costs["borrowBps"] / 1e4 / costs["annualization"] * np.clip(-q, 0, None))
            e = np.cumprod(1.0 + net)
            before = np.maximum.accumulate(np.concatenate([[1.0], e]))[:-1]  # peak before each period
            at_peak = np.flatnonzero(e >= before)
            peak = np.maximum(before, e)
            trips = np.flatnonzero((e < before) & (e / peak - 1.0 <= -threshold))
            on = trips.size > 0 and (at_peak.size == 0 or trips[-1] > at_peak[-1])
        tripped[t] = on
        if on and np.isfinite(base[t]):
            out[t] = min(cap, max(-cap, base[t]))
    return out, tripped


def size(spec, f, r, prob=None, costs=None):
    """Positions of a SizingSpec (lib/backtest/sizing.ts) from forecasts f and returns r (1-D)."""
    f = converted(spec, f, r)
    kind = spec["kind"]
    A = (costs or {}).get("annualization", 252)
    with np.errstate(invalid="ignore", divide="ignore"):
        if kind == "sign":
            return np.sign(f) * spec.get("scale", 1.0)
        if kind == "forecastOverSigma":
            sigma = trailing_std(r, spec.get("window", 20))
            pos = np.clip(spec.get("scale", 1.0) * f / sigma, -spec.get("cap", 1.0), spec.get("cap", 1.0))
            return np.where(sigma > 0, pos, np.nan)
        if kind == "volatilityTarget":
            s = trailing_std(r, spec.get("window", 20)) * math.sqrt(A)
            lev = spec.get("maxLeverage", 2.0)
            pos = np.clip(np.sign(f) * spec["targetVol"] / s, -lev, lev)
            return np.where(s > 0, pos, np.nan)
        if kind == "kelly":
            frac, b, cap = spec.get("fraction", 0.5), spec.get("payoff", 1.0), spec.get("maxPosition", 1.0)
            up = frac * np.maximum(0.0, kelly_star(prob, b))
            down = frac * np.maximum(0.0, kelly_star(1.0 - prob, b))
            pos = np.where(up > 0, np.minimum(cap, up), np.where(down > 0, -np.minimum(cap, down), 0.0))
            return np.where(np.isfinite(prob), pos, np.nan)
    if kind == "hybrid":
        base = hybrid_base(f, spec)
        if spec.get("drawdownThreshold") is None:
            return base
        return breaker(base, r, spec["drawdownThreshold"], spec["drawdownMaxPosition"], costs)[0]
    raise ValueError(kind)


SIZING_SYMBOL = "AAPL"
HORIZON = MOMENTUM  # the momentum feature is a 20-day log return: convert it as a 20-day log forecast
CONVERSION_VOL = 0.015
PROBABILITY = {"center": 0.5, "slope": 2.0, "lo": 0.05, "hi": 0.95}  # P(up) = clip(center + slope * f, lo, hi)
HOLDOUT_START = "2007-01-01"


def win_rate_inputs(dates, f, r):
    """Direction accuracy of sign(f[t]) for r[t + 1] from HOLDOUT_START on; share of positive returns before it."""
    d = np.array(dates)
    hold = d[:-1] >= HOLDOUT_START
    fx, nxt = f[:-1], r[1:]
    ok = hold & np.isfinite(fx) & np.isfinite(nxt) & (fx != 0) & (nxt != 0)
    accuracy = float((np.sign(fx[ok]) == np.sign(nxt[ok])).mean())
    train = (d < HOLDOUT_START) & np.isfinite(r)
    share = float((r[train] > 0).mean())
    return accuracy, share, min(0.6, max(0.5, max(accuracy, share)))


def jsonable(a):
    return [None if not np.isfinite(x) else float(x) for x in a]


def sizing_section(dates, r_all, f_all):
    j = SYMBOLS.index(SIZING_SYMBOL)
    r, f = r_all[:, j], f_all[:, j]
    accuracy, share, win = win_rate_inputs(dates, f, r)
    c = PROBABILITY
    prob = np.clip(c["center"] + c["slope"] * f, c["lo"], c["hi"])
    cases = [
        ("forecast/sigma of a 20-day log forecast, trailing log vol", {
            "kind": "forecastOverSigma", "window": 20, "scale": 10.0, "cap": 1.0, "horizon": HORIZON,
            "dailyLogVol": "trailing"}, {"lag": 1, "costBps": 5}),
        ("volatility target 15 %", {"kind": "volatilityTarget", "targetVol": 0.15, "window": 20, "maxLeverage": 1.5},
         {"lag": 1, "costBps": 10, "slippageBps": 2}),
        ("half Kelly, payoff 1.2", {"kind": "kelly", "fraction": 0.5, "payoff": 1.2, "maxPosition": 0.8},
         {"lag": 1, "costBps": 5, "borrowBps": 50}),
        ("full Kelly, payoff 1", {"kind": "kelly", "fraction": 1.0}, {"lag": 2, "costBps": 0}),
        # Breaker settings chosen so that on these prices each trips and releases more than once.
        ("hybrid long-biased, shorts, breaker 3 % -> 0.2", {
            "kind": "hybrid", "maxLong": 1.0, "maxShort": 0.25, "baseLongBias": 0.1, "bearishRiskOff": False,
            "kellyFraction": 1.0, "winRate": win, "payoff": 1.5, "drawdownThreshold": 0.03,
            "drawdownMaxPosition": 0.2}, {"lag": 1, "costBps": 5, "slippageBps": 2, "borrowBps": 100}),
        ("hybrid half Kelly, risk-off, breaker 5 % -> 0.2, lag 2", {
            "kind": "hybrid", "maxLong": 1.0, "maxShort": 0.0, "baseLongBias": 0.5, "bearishRiskOff": True,
            "kellyFraction": 0.5, "winRate": win, "drawdownThreshold": 0.05, "drawdownMaxPosition": 0.2},
         {"lag": 2, "costBps": 10}),
    ]
    out = []
    for name, spec, cfg in cases:
        costs = {"lag": 1, "costBps": 0, "slippageBps": 0, "borrowBps": 0, "annualization": 252, **cfg}
        pos = size(spec, f, r, prob, costs)
        entry = {"name": name, "spec": spec, **costs}
        if spec["kind"] == "hybrid":
            entry["tripped"] = int(breaker(hybrid_base(converted(spec, f, r), spec), r, spec["drawdownThreshold"],
                                           spec["drawdownMaxPosition"], costs)[1].sum())
        entry["positions"] = jsonable(pos)
        entry.update(run_config(r[:, None], pos[:, None], costs))
        out.append(entry)
    return {
        "symbol": SIZING_SYMBOL,
        "horizon": HORIZON,
        "conversionVol": CONVERSION_VOL,
        "converted": jsonable(daily_expected(f, HORIZON, CONVERSION_VOL)),
        "probability": PROBABILITY,
        "winRate": {"holdoutStart": HOLDOUT_START, "holdoutAccuracy": accuracy, "trainPositiveShare": share,
                    "winRate": win},
        "cases": out,
    }


SWEEP = {
    "symbols": ["AAPL", "MSFT"],
    "windows": [{"start": "2006-01-01", "end": "2006-12-31"}, {"start": "2007-01-01", "end": "2007-12-31"}],
    "costBps": [0, 10],
    "lag": 1,
    "borrowBps": 25,
    "annualization": 252,
}


def sweep_section(dates, r_all, f_all, win):
    sizing = [
        {"kind": "sign"},
        {"kind": "forecastOverSigma", "window": 20, "scale": 10.0, "cap": 1.0, "horizon": HORIZON},
        {"kind": "hybrid", "maxLong": 1.0, "maxShort": 0.5, "baseLongBias": 0.2, "bearishRiskOff": False,
         "kellyFraction": 1.0, "winRate": win, "payoff": 1.5, "drawdownThreshold": 0.05, "drawdownMaxPosition": 0.1},
    ]
    d = np.array(dates)
    rows = []
    for sym in SWEEP["symbols"]:
        j = SYMBOLS.index(sym)
        for w in SWEEP["windows"]:
            idx = np.flatnonzero((d >= w["start"]) & (d <= w["end"]))
            a, b = idx[0], idx[-1]
            r, f = r_all[a : b + 1, j], f_all[a : b + 1, j]
            for k, spec in enumerate(sizing):
                for cost in SWEEP["costBps"]:
                    costs = {"lag": SWEEP["lag"], "costBps": cost, "slippageBps": 0, "borrowBps": SWEEP["borrowBps"],
                             "annualization": SWEEP["annualization"]}
                    pos = size(spec, f, r, None, costs)
                    res = run_config(r[:, None], pos[:, None], costs)
                    net = np.array(res["net"])
                    rows.append({"symbol": sym, "windowStart": dates[a], "windowEnd": dates[b], "costBps": cost,
                                 "sizingIndex": k, "net": net, "metrics": res["metrics"],
                                 "buyAndHold": res["buyAndHold"]})
    # Deflation: N = rows, variance (ddof 1) of the finite per-period Sharpe ratios.
    per_period = np.array([row["metrics"]["sharpe"] / math.sqrt(SWEEP["annualization"]) for row in rows
                           if row["metrics"]["sharpe"] is not None])
    variance = float(per_period.var(ddof=1))
    for row in rows:
        sig = sharpe_significance(row.pop("net"), len(rows), variance)
        row["metrics"]["trials"] = float(len(rows))
        row["metrics"]["deflatedSharpe"] = sig["deflatedSharpe"]
    return {**SWEEP, "sizing": sizing, "trialSharpeVariance": variance, "rows": rows}


def fixture(data_dir, out_path):
    dates, prices = load_prices(data_dir)
    r = returns_from_prices(prices)
    f = momentum(prices)
    panel = []
    for cfg in PANEL_CONFIGS:
        res = run_config(r, weights_for(f, cfg["portfolio"]), cfg)
        panel.append({**cfg, **res})
    j = SYMBOLS.index(SERIES_CONFIG["symbol"])
    pos = np.clip(f[:, j : j + 1] / 0.1, -1.0, 1.0)
    series = {**SERIES_CONFIG, **run_config(r[:, j : j + 1], pos, SERIES_CONFIG)}
    sizing = sizing_section(dates, r, f)
    doc = {
        "generator": "bench/reference/backtest.py fixture",
        "numpy": np.__version__,
        "symbols": SYMBOLS,
        "start": START,
        "end": END,
        "momentum": MOMENTUM,
        "dates": dates,
        "panel": panel,
        "series": series,
        "sizing": sizing,
        "sweep": sweep_section(dates, r, f, sizing["winRate"]["winRate"]),
    }
    with open(out_path, "w") as fh:
        json.dump(doc, fh, allow_nan=False)
    print(json.dumps({"written": out_path, "dates": len(dates), "configs": len(panel) + 1,
                      "sizingCases": len(sizing["cases"]), "sweepRows": len(doc["sweep"]["rows"]),
                      "tripped": [c.get("tripped") for c in sizing["cases"]]}))


def median_time(fn, runs, warmup=True):
    if warmup:
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def bench():
    """Same shapes as bench/backtest.ts: 5,000 days x 500 symbols; a 1,000-configuration sweep on one symbol."""
    rng = np.random.default_rng(1)
    n, m = 5000, 500
    r = rng.normal(0.0003, 0.02, (n, m))
    r[0] = np.nan
    f = rng.normal(0, 1, (n, m))
    cfg = {"lag": 1, "costBps": 5, "slippageBps": 0, "borrowBps": 0}

    def panel_long_short():
        run_config(r, weights_simple(f, "long-short"), cfg)

    def panel_topk():
        run_config(r, weights_topk(f, 50, 5, False), cfg)

    rs = r[:, :1]
    fs = f[:, :1] * 0.01

    def trailing_vol(x, window):
        """std (ddof 1) of the last `window` finite returns up to and including t; NaN during the warm-up."""
        out = np.full(x.shape[0], np.nan)
        finite = np.flatnonzero(np.isfinite(x[:, 0]))
        vals = x[finite, 0]
        sd = np.lib.stride_tricks.sliding_window_view(vals, window).std(axis=1, ddof=1)
        out[finite[window - 1 :]] = sd
        return out[:, None]

    def sweep():
        # Same grid as bench/backtest.ts: 25 scales x 10 caps of clip(scale * f / sigma_20, -cap, cap) x 4 costs.
        rows = []
        for scale in np.linspace(0.1, 2.5, 25):
            for cap in np.linspace(0.25, 2.5, 10):
                sigma = trailing_vol(rs, 20)
                with np.errstate(invalid="ignore"):
                    pos = np.clip(scale * fs / sigma, -cap, cap)
                for cost in (0, 5, 10, 20):
                    start, end, net, gross, traded = simulate(rs, pos, 1, cost, 0, 0, 252)
                    ones = np.full(pos.shape, np.nan)
                    ones[start - 1 : end] = 1.0
                    bh = simulate(rs, ones, 1, cost, 0, 0, 252)
                    rows.append((metrics(net, 252, gross, traded, bh[2]), metrics(bh[2], 252, bh[3], bh[4])))
        return rows

    out = {
        "panel_long_short_s": median_time(panel_long_short, 5),
        "panel_topk_s": median_time(panel_topk, 1, warmup=False),
        "sweep_s": median_time(sweep, 3),
        "sweep_configs": 1000,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "fixture" and len(sys.argv) == 4:
        fixture(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 2 and sys.argv[1] == "bench":
        bench()
    else:
        sys.exit(__doc__)
