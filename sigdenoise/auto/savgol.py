"""Savitzky–Golay smoothing of many rows at once: scipy.signal.savgol_filter(x, window, order,
mode="interp", axis=-1) in numpy and scipy.ndimage.

The filter is a least-squares polynomial of degree `order` through each `window` samples, so one
matrix says everything about it: the projection H (window, window) onto those polynomials, whose
row i gives the fitted value at the window's i-th sample. Inside the signal the output is the
middle row correlated with it; at each end (scipy's mode="interp") one polynomial is fitted to the
first (last) `window` samples and evaluated at the first (last) window // 2, i.e. H's first half.

H is computed here rather than taken from scipy.signal.savgol_coeffs: importing scipy.signal
loads scipy.stats with it, about 1.3 s, half of a small file's whole `denoise` on the project's
2-core VM (issue 15), and auto runs these candidates on every input. The two agree to 1e-12
(tests/test_auto.py, every window and order auto uses).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import ndimage


@lru_cache(maxsize=64)
def hat(window: int, order: int) -> np.ndarray:
    """The projection H (window, window) onto polynomials of degree `order` at the window's samples.

    Positions are centred and scaled to [-1, 1] before the QR factorisation: the raw positions'
    Vandermonde matrix (up to 60⁴ at window 121) loses about seven digits; H = QQᵀ does not."""
    if window % 2 != 1 or not 0 <= order < window:
        raise ValueError(f"Savitzky-Golay needs an odd window above the order, got {window}, {order}")
    half = window // 2
    t = np.arange(-half, half + 1) / max(half, 1)
    q, _ = np.linalg.qr(np.vander(t, order + 1, increasing=True))
    h = q @ q.T
    h.setflags(write=False)  # cached: shared by every caller
    return h


def savgol_rows(x: np.ndarray, window: int, order: int) -> np.ndarray:
    """scipy.signal.savgol_filter(x, window, order, mode="interp", axis=-1) of x (k, n), n ≥ window:
    the inside one correlation, the ends two small matrix products (scipy fits each end by a
    least-squares solve per call, most of this candidate's time on many short signals)."""
    h = hat(window, order)
    half = window // 2
    y = ndimage.correlate1d(x, h[half], axis=-1, mode="constant")
    if half:
        head = h[:half]
        y[..., :half] = x[..., :window] @ head.T
        y[..., -half:] = (x[..., ::-1][..., :window] @ head.T)[..., ::-1]  # the end mirrors the start
    return y


def trace(window: int, order: int, n: int) -> float:
    """The trace of savgol_rows as a matrix on signals of n ≥ window samples: its exact divergence
    (SURE). Inside, every diagonal entry is H's centre; each end holds H's first diagonal entries."""
    h = hat(window, order)
    half = window // 2
    ends = np.diag(h)[:half]
    return float(h[half, half] * (n - 2 * half) + 2 * ends.sum())  # the ends mirror each other
