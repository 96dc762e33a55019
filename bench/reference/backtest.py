#!/usr/bin/env python3
"""Independent numpy implementation of candor's backtest conventions (lib/backtest), used two ways:

    backtest.py fixture DATA_DIR OUT.json   real prices -> tests/fixtures/backtest/reference.json
    backtest.py bench                       timings of the same computations, printed as one JSON line

Written from the stated conventions, not from the TypeScript code:
  r[t] = P[t] / P[previous date with a price] - 1 (NaN where no price);  q[t] = w[t - lag];
  net[t] = sum_j q*r (NaN r -> 0) - (cost + slippage)/1e4 * sum|q[t] - q[t-1]| - borrow/1e4/A * sum max(-q, 0);
  window = [first decision row + lag, min(last decision row + lag, n - 1)];  equity = cumprod(1 + net);
  buy & hold = 1/N in each symbol with a return on the first held date, never rebalanced, entry cost once;
  metrics as documented in lib/backtest/metrics.ts (Sharpe with ddof 1 * sqrt(A), drawdown negative, ...).
Top-k with dropout follows Qlib's TopkDropoutStrategy (method_sell="bottom", method_buy="top") with full sorts.
"""

import csv
import gzip
import json
import math
import os
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
    }
    with open(out_path, "w") as fh:
        json.dump(doc, fh, allow_nan=False)
    print(json.dumps({"written": out_path, "dates": len(dates), "configs": len(panel) + 1}))


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
