"""Summary statistics over seeds (pure pandas): mean and 95 % t-interval per group."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats


def ci95(values: np.ndarray) -> tuple[float, float]:
    """Mean and half-width of the 95 % Student-t interval of the mean (nan half-width for n < 2)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return np.nan, np.nan
    if v.size < 2:
        return float(v.mean()), np.nan
    half = stats.t.ppf(0.975, v.size - 1) * v.std(ddof=1) / np.sqrt(v.size)
    return float(v.mean()), float(half)


def summarise(df: pd.DataFrame, by: list[str], metric: str) -> pd.DataFrame:
    """Rows of `by` with columns mean, ci (half-width) and n (seeds), over the seed axis."""
    out = []
    for key, g in df.groupby(by, dropna=False, sort=False):
        m, h = ci95(g[metric].to_numpy())
        out.append((*(key if isinstance(key, tuple) else (key,)), m, h, int(g[metric].notna().sum())))
    return pd.DataFrame(out, columns=[*by, "mean", "ci", "n"])
