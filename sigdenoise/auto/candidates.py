"""The denoisers `--method auto` chooses between, one registry (pure numpy).

Each candidate maps signals x (k, n) and their noise levels σ (k,) to estimates (k, n), each row
on its own (rows of one length go through together, for speed). A linear one
also gives its exact divergence (the trace of its matrix), so its SURE is exact; the others are
scored by Monte-Carlo SURE (auto/sure.py). Settings are fixed here, in advance, for every
recording: nothing is tuned to a dataset.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pywt
from scipy import ndimage

from sigdenoise.auto import savgol
from sigdenoise.auto.noise import mp_median
from sigdenoise.auto.tv import tv_denoise
from sigdenoise.recordings import windows

SAVGOL = [(w, p) for w in (5, 7, 11, 15, 21, 31, 51, 81, 121) for p in (2, 4)]
WIENER = (5, 11, 21)
WAVELET_THRESHOLDS = (1.0, 2.0, 3.0, 4.0)  # soft threshold / σ
TV_WEIGHTS = (1.0, 2.0, 4.0)  # λ / σ
TV_MAX_SAMPLES = 200_000  # longer signals skip TV (~1 s a solve per million samples)
SVD_WINDOW = 100
POOLED_WINDOWS = 50_000  # at most this many windows fit the pooled SVD
POOLED_MIN = 100  # and at least this many


@dataclass(frozen=True)
class Candidate:
    """name: shown to the user; family: the --method that selects only this kind; apply(x, σ);
    trace(n): the exact divergence of a linear candidate (None: Monte-Carlo); min_length: the
    shortest signal it takes."""

    name: str
    family: str
    apply: Callable[[np.ndarray, np.ndarray], np.ndarray]
    trace: Callable[[int], float] | None = None
    min_length: int = 1
    max_length: int | None = None
    pooled: bool = False  # fitted on the whole group: usable only where `pooled_ok`
    in_auto: bool = True  # among auto's candidates; if not, only its own --method runs it


def _identity(x: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    return x.copy()


def _savgol(window: int, order: int) -> Candidate:
    def apply(x: np.ndarray, sigma: np.ndarray) -> np.ndarray:
        return savgol.savgol_rows(x, window, order)

    def trace(n: int) -> float:
        return savgol.trace(window, order, n)

    return Candidate(f"savgol {window},{order}", "savgol", apply, trace, min_length=window)


def _wiener(size: int) -> Candidate:
    def apply(x: np.ndarray, sigma: np.ndarray) -> np.ndarray:
        return wiener_rows(x, size, sigma**2)

    return Candidate(f"wiener {size}", "wiener", apply, min_length=size)


def wiener_rows(x: np.ndarray, size: int, noise: np.ndarray) -> np.ndarray:
    """scipy.signal.wiener(row, size, noise=noise[i]) of every row of x (k, n) at once (scipy
    takes one noise power for the whole array): local mean m and variance v over `size` samples
    (zero-padded, as scipy's), then m + (1 − noise/v)(x − m), or m where v < noise."""
    mean = ndimage.uniform_filter1d(x, size, axis=-1, mode="constant")
    var = ndimage.uniform_filter1d(x * x, size, axis=-1, mode="constant") - mean**2
    nz = np.asarray(noise, dtype=float)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (x - mean) * (1 - nz / var) + mean
    return np.where(var < nz, mean, out)


def _wavelet(threshold: float, wavelet: str = "sym8") -> Candidate:
    """Soft thresholding of every detail subband at threshold·σ: a continuous map, so its Monte-Carlo
    divergence is stable (SureShrink's per-band choice of threshold jumps, and its divergence
    estimates came out 2-10x off in development)."""

    def apply(x: np.ndarray, sigma: np.ndarray) -> np.ndarray:
        level = min(6, pywt.dwt_max_level(x.shape[-1], pywt.Wavelet(wavelet).dec_len))
        coeffs = pywt.wavedec(x, wavelet, mode="periodization", level=max(level, 1), axis=-1)
        t = threshold * sigma[:, None]
        out = [coeffs[0]] + [_soft(d, t) for d in coeffs[1:]]
        return pywt.waverec(out, wavelet, mode="periodization", axis=-1)[..., : x.shape[-1]]

    return Candidate(f"wavelet {wavelet} {threshold:g}σ", "wavelet", apply, min_length=16)


def _soft(d: np.ndarray, t: np.ndarray) -> np.ndarray:
    return np.sign(d) * np.maximum(np.abs(d) - t, 0.0)


def _tv(weight: float) -> Candidate:
    def apply(x: np.ndarray, sigma: np.ndarray) -> np.ndarray:
        return tv_denoise(x, weight * sigma)

    return Candidate(f"tv {weight:g}σ", "tv", apply, min_length=2, max_length=TV_MAX_SAMPLES)


def _right_singular(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Singular values (descending) and right singular vectors (rows) of z (m, w), from the
    eigendecomposition of zᵀz (w, w): 10-20x faster than the SVD for m >> w, and as exact as
    these uses need (components far above the noise)."""
    ev, vec = np.linalg.eigh(z.T @ z)
    order = np.argsort(ev)[::-1]
    return np.sqrt(np.maximum(ev[order], 0.0)), vec[:, order].T


def svd_windows(x: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Each row's SVD of its own windows, unscaled (`svd_row`)."""
    return np.stack([svd_row(row, sg) for row, sg in zip(x, sigma)])


def svd_row(x: np.ndarray, sigma: float) -> np.ndarray:
    """The SVD of one signal's own windows (n,): every window of `width` samples (width =
    min(100, n // 3)) projected on its components, each shrunk (`_shrink`) against the bulk edge
    of noise of level σ (Marchenko–Pastur), averaged back over the windows that cover each sample."""
    n = len(x)
    width = min(SVD_WINDOW, n // 3)
    view = np.lib.stride_tricks.sliding_window_view(x, width)  # (m, width), every offset
    m = len(view)
    s, vt = _right_singular(view)
    # Pure noise's largest singular value is within ~10 % of σ(√m + √width) here (overlapping
    # windows are not independent rows; measured on white noise of 300-20,000 samples): a margin.
    edge = 1.1 * sigma * (np.sqrt(m) + np.sqrt(width))
    proj = ((view @ vt.T) * _shrink(s, edge)) @ vt  # (m, width)
    out = np.zeros(n)
    for j in range(width):  # sample i gets window i - j's entry j, for every window covering it
        out[j : j + m] += proj[:, j]
    return out / np.convolve(np.ones(m), np.ones(width))


def svd_pooled(x: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """The SVD of the windows of every signal of the group at once (`--method svd --fit`, unscaled):
    up to POOLED_WINDOWS windows of SVD_WINDOW samples at evenly spread offsets, each component
    shrunk (`_shrink`) against the noise's bulk edge (from the median singular value: no σ needed),
    applied window by window every 50 samples and
    stitched by Hann-weighted overlap-add. Signals that share a shape (a class of recordings, one
    sensor) pool their structure; the rank adapts to the noise."""
    k, n = x.shape
    per = n - SVD_WINDOW + 1  # windows of one signal
    # The windows to fit, chosen before any is copied: all of them would be 100 copies of x.
    take = np.unique(np.linspace(0, k * per - 1, min(k * per, POOLED_WINDOWS)).astype(int))
    z = x[(take // per)[:, None], (take % per)[:, None] + np.arange(SVD_WINDOW)]
    s, vt = _right_singular(z)
    # The noise's bulk edge from the median singular value (Gavish & Donoho's σ estimate): the
    # pooled windows' noise level is not one σ̂ when signals differ in level.
    m, w = z.shape
    beta = w / m
    edge = float(np.median(s)) / np.sqrt(mp_median(beta)) * (1 + np.sqrt(beta))
    weight = _shrink(s, edge)
    return windows.denoise_signals(x, lambda w: ((w @ vt.T) * weight) @ vt, SVD_WINDOW, SVD_WINDOW // 2, None)


def _shrink(s: np.ndarray, edge: float) -> np.ndarray:
    """Each component's weight max(1 − (edge/s)², 0): the Frobenius-optimal shrinkage of singular
    values s for noise whose bulk ends at `edge` (Gavish & Donoho 2017, for a tall matrix).
    Continuous in the data, unlike keeping the components above a threshold: with a hard rank, a
    rank that flipped under Monte-Carlo SURE's tiny probe made the divergence jump (an estimate
    17 dB too good on one signal, tests/test_auto.py); and it barely shrinks strong components,
    unlike soft thresholding (which cost 3-4 dB on ACSF1, benchmarks/real_signals.py)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(s > edge, 1 - (edge / s) ** 2, 0.0)


def pooled_ok(k: int, n: int) -> bool:
    """Whether a group has windows enough to pool: at least POOLED_MIN windows in all (fitted on
    fewer, an SVD keeps too little of the signal: README, "Denoising your own signals")."""
    return n >= SVD_WINDOW and k * (n - SVD_WINDOW + 1) >= POOLED_MIN


@lru_cache(maxsize=1)
def _packaged() -> tuple[Callable[[np.ndarray], np.ndarray], int, dict | None]:
    """The packaged autoencoder (as `--no-fit` runs it) as a function of scaled windows, its
    window, and its training range; loaded once."""
    from sigdenoise.models import bundle

    fn, meta = bundle.numpy_fn(bundle.default_model_path())  # numpy: auto runs without torch
    return fn, int(meta["n_samples"]), meta.get("scale") if meta.get("scaled_windows") else None


def ae_packaged(x: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """The packaged denoising autoencoder over Hann-weighted windows (as `--no-fit`): trained on
    the study's families with noise up to 1.2, it is the best of all at heavy noise on signals
    like them and caps near 16 dB SNR, which SURE sees."""
    fn, width, scale = _packaged()
    return windows.denoise_signals(x, fn, width, width // 2, scale)


@lru_cache(maxsize=1)
def _convdae():
    """The packaged noise-conditioned convolutional DAE (models/convdae.py), loaded once."""
    from sigdenoise.models import convdae

    return convdae.load_default()[0]


def dae_packaged(x: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """The packaged denoising U-Net given each signal's σ̂ (experiments/train_convdae.py: trained
    on a broad synthetic corpus at input SNR −5 to 100 dB; it fades itself out above 80 dB)."""
    from sigdenoise.models import convdae

    return convdae.denoise(_convdae(), x, sigma)


def _registry() -> dict[str, Candidate]:
    cands = [Candidate("none", "none", _identity, trace=float, min_length=1)]
    cands += [_savgol(w, p) for w, p in SAVGOL]
    cands += [_wiener(s) for s in WIENER]
    cands += [_wavelet(t) for t in WAVELET_THRESHOLDS]
    cands += [_tv(w) for w in TV_WEIGHTS]
    # A signal's own windows need a few hundred samples to hold shifted copies of its structure;
    # shorter signals pool theirs (svd pooled).
    cands.append(Candidate("svd windows", "svd", svd_windows, min_length=3 * SVD_WINDOW, max_length=TV_MAX_SAMPLES))
    cands.append(Candidate("svd pooled", "svd", svd_pooled, min_length=SVD_WINDOW, pooled=True))
    cands.append(Candidate("ae packaged", "ae", ae_packaged, min_length=SVD_WINDOW))
    # Not in auto (yet): on the real-recording benchmark it removed BasicMotions' own sensor noise,
    # which the benchmark counts as signal, more thoroughly than any other (-9.15 dB against -6.00
    # at 0.1), and changed no other row by more than 0.01 dB; on the study's families it lifted
    # auto from 22.56 to 26.52 dB at noise 0.1 and 7.57 to 8.55 at 1.0.
    cands.append(Candidate("dae packaged", "dae", dae_packaged, min_length=16, in_auto=False))
    return {c.name: c for c in cands}


CANDIDATES: dict[str, Candidate] = _registry()
FAMILIES: tuple[str, ...] = tuple(dict.fromkeys(c.family for c in CANDIDATES.values()))


def usable(k: int, n: int, family: str | None = None) -> list[Candidate]:
    """The candidates that take a group of k signals of n samples (of one family, or all)."""
    return [c for c in CANDIDATES.values() if n >= c.min_length and (c.max_length is None or n <= c.max_length)
            and (c.family == family if family else c.in_auto) and (not c.pooled or pooled_ok(k, n))]  # fmt: skip
