"""Windows of a long signal, their per-window scaling, and weighted overlap-add (pure numpy).

A model sees W samples (W = 100 for the study's autoencoders). A signal of L >= W samples is cut
into windows starting at 0, hop, 2·hop, … and, if the last of those does not reach the end, one
more window ending exactly at L, so every sample is covered. Each window is scaled into the range
the model was trained on, denoised, scaled back, and the windows are stitched by weighted
overlap-add with a Hann-shaped weight.

Exactness. The stitched output is x + Σ_k w·(y_k − x_k) / Σ_k w, which equals the usual
Σ_k w·y_k / Σ_k w but is computed from each window's *correction* y_k − x_k, and the correction
is formed in the model's scaled domain, (f(z) − z)·(h/H). A model that changes nothing
(f(z) = z) therefore returns the input bit for bit, at the ends of the signal too.

The weight w_j = sin²(π (j + ½) / W) is a Hann window sampled between its zeros: smooth (no seams
where windows meet) and strictly positive, so the first and last samples, covered by one window
only, are still defined.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

WINDOW = 100
EXTREME = 1000  # signals with largest |value| above 2^1000 (~1e301) or below 2^-1000 are rescaled


def hann(width: int) -> np.ndarray:
    """w_j = sin²(π (j + ½) / width), j = 0 … width−1: Hann-shaped, > 0 everywhere. (width,)"""
    return np.sin(np.pi * (np.arange(width) + 0.5) / width) ** 2


def starts(length: int, width: int, hop: int) -> np.ndarray:
    """Window starts 0, hop, 2·hop, … plus length − width if the grid misses the end. (n_win,)"""
    if hop < 1:
        raise ValueError(f"hop must be at least 1, got {hop}")
    if length < width:
        raise ValueError(f"a signal of {length} samples is shorter than the {width}-sample window")
    s = np.arange(0, length - width + 1, hop)
    return s if s[-1] == length - width else np.append(s, length - width)


def frames(x: np.ndarray, width: int, hop: int) -> np.ndarray:
    """Windows of each row of x (n, L): (n, n_win, width), a copy."""
    view = np.lib.stride_tricks.sliding_window_view(x, width, axis=-1)  # (n, L-width+1, width)
    return view[:, starts(x.shape[-1], width, hop)]


def window_scale(f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centre and half-range of each window, (max + min)/2 and (max − min)/2, shapes f.shape[:-1] + (1,).

    Where max ± min overflows (values near ±1.8e308) they are max/2 ± min/2 instead: the same
    number wherever both are finite (halving is exact above the subnormals), finite always."""
    lo, hi = f.min(axis=-1, keepdims=True), f.max(axis=-1, keepdims=True)
    with np.errstate(over="ignore"):
        c, h = (hi + lo) / 2, (hi - lo) / 2
    if not (np.isfinite(c).all() and np.isfinite(h).all()):
        c = np.where(np.isfinite(c), c, hi / 2 + lo / 2)
        h = np.where(np.isfinite(h), h, hi / 2 - lo / 2)
    return c, h


def to_model(f: np.ndarray, scale: dict | None) -> tuple[np.ndarray, np.ndarray]:
    """Map windows f (..., W) into the model's range: z = C + (f − c)·H/h.

    scale: {"center": C, "half_range": H} from the model's bundle, or None for no scaling.
    Returns z and the factor h/H that maps a correction in z back to the signal's units
    (0 for a constant window, which is then left as it is). A window whose half-range is so small
    (subnormal) that H/h overflows counts as constant too.
    """
    if scale is None:
        return f, np.ones(f.shape[:-1] + (1,))
    C, H = float(scale["center"]), float(scale["half_range"])
    c, h = window_scale(f)
    with np.errstate(over="ignore", divide="ignore"):
        ratio = H / np.where(h > 0, h, 1.0)
    varies = (h > 0) & np.isfinite(ratio)
    ratio = np.where(varies, ratio, H)  # H/1, as a constant window always had
    return C + (f - c) * ratio, np.where(varies, h / H, 0.0)


def overlap_add(corr: np.ndarray, length: int, hop: int) -> np.ndarray:
    """Σ_k w·corr_k / Σ_k w placed at each window's start: corr (n, n_win, W) -> (n, length)."""
    n, n_win, width = corr.shape
    w = hann(width)
    s = starts(length, width, hop)
    num = np.zeros((n, length))
    den = np.zeros(length)
    for k in range(n_win):  # n_win is small (L / hop); each step is vectorised over signals
        num[:, s[k] : s[k] + width] += corr[:, k] * w
        den[s[k] : s[k] + width] += w
    return num / den


def denoise_signals(
    x: np.ndarray,
    fn: Callable[[np.ndarray], np.ndarray],
    width: int = WINDOW,
    hop: int = 50,
    scale: dict | None = None,
) -> np.ndarray:
    """Denoise signals of one length L >= width: x (n, L) -> (n, L).

    fn maps windows (m, width) in the model's range to their reconstructions (m, width).

    With scaling, a signal whose largest |value| is beyond 2^±EXTREME (near the overflow or in
    the subnormals) is denoised divided by a power of two (exact) and multiplied back, so that
    no intermediate overflows or loses its digits; other signals are computed as they always were.
    """
    x = np.asarray(x, dtype=np.float64)
    if scale is not None:
        peak = np.abs(x).max(axis=1)
        odd = (peak > 2.0**EXTREME) | ((peak > 0) & (peak < 2.0**-EXTREME))
        if odd.any():
            y = np.empty_like(x)
            if not odd.all():
                y[~odd] = _denoise(x[~odd], fn, width, hop, scale)
            e = np.frexp(peak[odd])[1][:, None]  # (n_odd, 1): peak = m·2^e, 0.5 <= m < 1
            y[odd] = np.ldexp(_denoise(np.ldexp(x[odd], -e), fn, width, hop, scale), e)
            return y
    # Unscaled, values near the overflow can still overflow: no warning, the caller's finiteness
    # check (recordings/write.py) refuses the output in one line naming the row.
    with np.errstate(over="ignore", invalid="ignore"):
        return _denoise(x, fn, width, hop, scale)


def _denoise(x: np.ndarray, fn, width: int, hop: int, scale: dict | None) -> np.ndarray:
    """denoise_signals for signals of ordinary magnitude: x (n, L) -> (n, L)."""
    n, length = x.shape
    f = frames(x, width, hop)  # (n, n_win, W)
    z, back = to_model(f, scale)
    m = z.reshape(-1, width)
    corr = (np.asarray(fn(m), dtype=np.float64) - m).reshape(z.shape) * back
    if length == width:  # one window: the weight cancels, skip the division
        return x + corr[:, 0]
    return x + overlap_add(corr, length, hop)
