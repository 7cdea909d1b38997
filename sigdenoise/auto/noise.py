"""Blind noise estimates of one recording (pure numpy): the white noise level, narrowband lines
and slow drift, each from the noisy signal alone, without a sampling rate.

The white noise level σ̂ is the smallest of three robust estimates, each of which real content
can only inflate:
- Donoho's: the median absolute finest wavelet detail / 0.6745. Signal content at the highest
  frequencies (a sharp edge, a fast tone) is taken for noise.
- The noise floor of the signal's windows: the median eigenvalue of the windows' covariance. A
  signal made of a few components (tones, a smooth shape) fills a few eigen-directions and
  leaves the median to the noise, at any frequency; a broadband signal fills them all. Taken
  over the whole signal, and as the median over short segments (a chirp is a tone locally).
Underestimating σ is the safe error: a denoiser chosen for a smaller σ removes less.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pywt

MAD_SCALE = 0.6744897501960817  # median |N(0, 1)|
FLOOR_WINDOW = 32  # samples per window of the covariance floor
FLOOR_MAX_WINDOWS = 20_000  # windows used for the floor, evenly spread over a long signal
LINE_DB = 20.0  # a line stands this far above the spectrum's local floor
LINE_MIN_SAMPLES = 256  # lines and drift are looked for in signals at least this long


def wavelet_sigma(x: np.ndarray) -> float:
    """Donoho & Johnstone's estimate: median |d1| / 0.6745 over the finest db4 details of x (n,)."""
    return float(wavelet_sigmas(np.asarray(x, dtype=float)[None])[0])


def wavelet_sigmas(x: np.ndarray) -> np.ndarray:
    """wavelet_sigma of every row of x (k, n) at once (k,): one transform along the rows."""
    d1 = pywt.dwt(np.asarray(x, dtype=float), "db4", mode="periodization", axis=-1)[1]
    return np.median(np.abs(d1), axis=-1) / MAD_SCALE


def floor_sigma(x: np.ndarray, width: int = FLOOR_WINDOW) -> float | None:
    """The noise level from the median eigenvalue of the covariance of x's windows of `width`
    samples, or None when x is shorter than four windows.

    For white noise of level σ every eigenvalue of E[w wᵀ] is σ²; the sample eigenvalues spread
    around it (Marchenko–Pastur); with m windows of width p the median is σ² μ(p/m), μ the
    law's median, which is divided out."""
    x = np.asarray(x, dtype=float)
    if len(x) < 4 * width:
        return None
    view = np.lib.stride_tricks.sliding_window_view(x - np.median(x), width)
    take = np.unique(np.linspace(0, len(view) - 1, min(len(view), FLOOR_MAX_WINDOWS)).astype(int))
    w = view[take]
    w = w - w.mean(axis=0)
    ev = np.linalg.eigvalsh(w.T @ w / len(w))
    # Overlapping windows are not independent: their effective number is about m / width·... for
    # the spread; the median's bias is then small, and mp_median with the effective ratio corrects it.
    ratio = min(1.0, width / max(1.0, len(x) / 2))
    return float(np.sqrt(max(np.median(ev), 0.0) / mp_median(ratio)))


def mp_median(beta: float) -> float:
    """The median of the Marchenko–Pastur law of aspect ratio beta (0 < beta <= 1), unit variance."""
    if beta <= 1e-6:
        return 1.0
    lo, hi = (1 - np.sqrt(beta)) ** 2, (1 + np.sqrt(beta)) ** 2
    t = np.linspace(lo, hi, 4001)
    dens = np.sqrt(np.maximum((hi - t) * (t - lo), 0.0)) / (2 * np.pi * beta * t)
    cdf = np.cumsum(dens)
    cdf /= cdf[-1]
    return float(np.interp(0.5, cdf, t))


def local_floor_sigma(x: np.ndarray, segment: int = 8 * FLOOR_WINDOW) -> float | None:
    """The median over segments of `segment` samples of each one's window floor: a chirp or a
    wandering tone is a few components within a segment, though not over the whole signal.
    None when x holds fewer than two segments."""
    x = np.asarray(x, dtype=float)
    n_seg = len(x) // segment
    if n_seg < 2:
        return None
    take = np.unique(np.linspace(0, n_seg - 1, min(n_seg, 200)).astype(int))
    return float(np.median([floor_sigma(x[i * segment : (i + 1) * segment]) for i in take]))


def noise_sigma(x: np.ndarray) -> float:
    """σ̂ of x (n,): the smallest of the wavelet, window-floor and local-floor estimates (module
    docstring); each is within a few per cent of σ on white noise of 1,000 samples."""
    return float(noise_sigmas(np.asarray(x, dtype=float)[None])[0])


def noise_sigmas(x: np.ndarray) -> np.ndarray:
    """noise_sigma of every row of x (k, n) (k,): the wavelet estimate of all rows at once, then
    the floors row by row where a row is long enough to have them (four windows), so that many
    short signals pay no Python loop (a file of 100-sample signals: 100 µs a signal before)."""
    x = np.asarray(x, dtype=float)
    est = wavelet_sigmas(x)
    if x.shape[-1] < 4 * FLOOR_WINDOW:  # no floor estimate: floor_sigma's own condition
        return est
    return np.array([min([w] + [e for e in (floor_sigma(row), local_floor_sigma(row)) if e is not None])
                     for w, row in zip(est.tolist(), x)])  # fmt: skip


@dataclass(frozen=True)
class Line:
    """A narrowband line: frequency in cycles per sample, amplitude, and its height in dB above
    the spectrum's local floor."""

    frequency: float
    amplitude: float
    height_db: float


def find_lines(x: np.ndarray, threshold_db: float = LINE_DB, most: int = 8) -> list[Line]:
    """Lines far above the local floor of x's periodogram (Hann-windowed), strongest first; none
    for signals under LINE_MIN_SAMPLES. The floor is a running median over ±2 % of the band."""
    x = np.asarray(x, dtype=float)
    n = len(x)
    if n < LINE_MIN_SAMPLES:
        return []
    from scipy import ndimage, signal  # here, not above: only a long signal pays its import (~1.3 s)

    win = signal.windows.hann(n, sym=False)
    spec = np.abs(np.fft.rfft((x - x.mean()) * win)) ** 2
    k = max(7, (len(spec) // 25) | 1)
    floor = ndimage.median_filter(spec, size=k, mode="nearest") + 1e-300
    height = 10 * np.log10(spec / floor + 1e-300)
    peaks, _ = signal.find_peaks(height, height=threshold_db)
    peaks = peaks[(peaks > 2) & (peaks < len(spec) - 1)]  # not the drift's bins, not Nyquist
    peaks = peaks[np.argsort(height[peaks])[::-1]][:most]
    out = []
    for p in peaks:
        f = (p + _parabolic(np.log(spec[p - 1 : p + 2] + 1e-300))) / n
        amp, _ = _fit_tone(x, f)
        out.append(Line(float(f), float(amp), float(height[p])))
    return out


def _parabolic(y3: np.ndarray) -> float:
    """Offset (-0.5..0.5) of the vertex of the parabola through three equally spaced points."""
    a, b, c = y3
    den = a - 2 * b + c
    return 0.0 if den == 0 else float(np.clip(0.5 * (a - c) / den, -0.5, 0.5))


def _fit_tone(x: np.ndarray, f: float) -> tuple[float, np.ndarray]:
    """Least-squares tone a·cos(2πft) + b·sin(2πft) in x: its amplitude and the tone (n,)."""
    t = np.arange(len(x))
    basis = np.stack([np.cos(2 * np.pi * f * t), np.sin(2 * np.pi * f * t)], axis=1)
    coef, *_ = np.linalg.lstsq(basis, x - x.mean(), rcond=None)
    return float(np.hypot(*coef)), basis @ coef


def remove_lines(x: np.ndarray, lines: list[Line] | None = None) -> np.ndarray:
    """x (n,) with each line's least-squares tone subtracted (the lines found, by default)."""
    y = np.asarray(x, dtype=float).copy()
    for line in find_lines(y) if lines is None else lines:
        y -= _fit_tone(y, line.frequency)[1]
    return y


def drift(x: np.ndarray, cycles: float = 2.0) -> np.ndarray:
    """The slow part of x (n,): components below `cycles` cycles over the whole signal, by a
    zero-phase Butterworth low-pass (order 2, edges padded by reflection)."""
    x = np.asarray(x, dtype=float)
    n = len(x)
    wn = min(0.99, 2 * cycles / n)  # cutoff as a fraction of Nyquist
    from scipy import signal  # as find_lines

    sos = signal.butter(2, wn, output="sos")
    return signal.sosfiltfilt(sos, x, padtype="even", padlen=min(n - 1, 3 * int(n / max(cycles, 1))))


def drift_share(x: np.ndarray, sigma: float) -> float:
    """The drift's power over the power of the rest of x, minus the noise (≥ 0): how much of the
    recording is slow wander. 0 for signals under LINE_MIN_SAMPLES."""
    x = np.asarray(x, dtype=float)
    if len(x) < LINE_MIN_SAMPLES or np.ptp(x) == 0:  # a constant has no wander (0/0 came out near 1)
        return 0.0
    slow = drift(x)
    slow = slow - slow.mean()
    rest = max(float(np.var(x - slow)) - sigma**2, 1e-300)
    return float(np.var(slow) / rest)
