#!/usr/bin/env python3
"""pandas reference for candor's loader (lib/data/load.ts), for bench/data.ts:

    data.py bench DATA_DIR     loads every <SYMBOL>.csv.gz in DATA_DIR once, prints {"load_s": ..., "rows": ...}

Does the same work as loadPanel on a folder of clean files, the idiomatic pandas way: read each file (gzip inferred,
all columns parsed as numbers), skip files that are not price files, fall back to close where adj_close is empty,
check the same rules (ISO dates, finite numbers, prices > 0, volume >= 0, high >= low, open and close inside
[low, high], dates strictly increasing per symbol), concatenate and sort by symbol then date.
"""

import json
import os
import sys
import time

import numpy as np
import pandas as pd

REQUIRED = ["date", "open", "high", "low", "close", "volume"]


def load(data_dir):
    frames = []
    for name in sorted(os.listdir(data_dir)):
        if not name.endswith((".csv", ".csv.gz")):
            continue
        df = pd.read_csv(os.path.join(data_dir, name), dtype={"date": str})
        df.columns = [c.strip().lower().replace(" ", "_") for c in df.columns]
        if not all(c in df.columns for c in ("open", "high", "low", "close")):
            continue  # not a price file (SUMMARY.csv)
        if "adj_close" not in df.columns or df["adj_close"].isna().all():
            df["adj_close"] = df["close"]
        df["symbol"] = name.split(".")[0]
        frames.append(df)
    df = pd.concat(frames, ignore_index=True)
    parsed = pd.to_datetime(df["date"], format="%Y-%m-%d", errors="coerce")
    nums = df[["open", "high", "low", "close", "adj_close", "volume"]].to_numpy(dtype=float)
    o, h, l, c, a, v = nums.T
    bad = (
        parsed.isna().to_numpy()
        | ~np.isfinite(nums).all(axis=1)
        | (nums[:, :5] <= 0).any(axis=1)
        | (v < 0)
        | (h < l)
        | (c < l) | (c > h) | (o < l) | (o > h)
    )
    same = df["symbol"].to_numpy()[1:] == df["symbol"].to_numpy()[:-1]
    backwards = same & (df["date"].to_numpy()[1:] <= df["date"].to_numpy()[:-1])
    if bad.any() or backwards.any():
        raise SystemExit("bad row")
    return df.sort_values(["symbol", "date"], kind="stable").reset_index(drop=True)


def main():
    if len(sys.argv) != 3 or sys.argv[1] != "bench":
        raise SystemExit(__doc__)
    t0 = time.perf_counter()
    df = load(sys.argv[2])
    elapsed = time.perf_counter() - t0
    print(json.dumps({"load_s": elapsed, "rows": int(len(df))}))


if __name__ == "__main__":
    main()
