"""Synthetic sinusoids of the study and the noise added to them (pure numpy, rng passed in).

Arrays are (n_signals, n_samples): time on the last axis. The source stores the transpose.
"""

from __future__ import annotations

import numpy as np

from sigdenoise import seeds

N_SAMPLES = 100
DT = 0.1
FAMILIES: tuple[str, ...] = ("sin", "cos", "sin+cos", "sin-cos", "sin*cos")
# The study's constants, defined here once.
SD = 2.25  # standard deviation of the frequency r (the source's words; DESIGN.md)
N_TRAIN = 20_000  # clean training signals per seed
N_TEST = 2_000  # held-out test signals per seed
PROBE_COPIES = 10  # noisy copies of sin(t) in the probe


def time_axis(n_samples: int = N_SAMPLES) -> np.ndarray:
    """t_j = j / 10 for j = 0..n-1, shape (n_samples,)."""
    return np.arange(n_samples) * DT


def family_values(family: np.ndarray, r: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Evaluate each signal's family at frequency r.

    family: (n,) int indices into FAMILIES; r: (n,); t: (m,). Returns (n, m).
    """
    rt = np.outer(r, t)  # (n, m)
    s, c = np.sin(rt), np.cos(rt)
    table = np.stack([s, c, s + c, s - c, s * c])  # (5, n, m)
    return table[family, np.arange(len(family))]


def generate(
    n: int, rng: np.random.Generator, sd: float = SD, n_samples: int = N_SAMPLES
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw n clean signals: family uniform over FAMILIES, r ~ Normal(0, sd).

    Returns x (n, n_samples) float64, family (n,) int, r (n,) float64.
    """
    family = rng.integers(len(FAMILIES), size=n)
    r = rng.normal(0.0, sd, size=n)
    return family_values(family, r, time_axis(n_samples)), family, r


def add_gaussian(x: np.ndarray, level: float, rng: np.random.Generator) -> np.ndarray:
    """x + level * p with p ~ N(0, 1) elementwise (the study's noise)."""
    return x + level * rng.standard_normal(x.shape)


def probe_clean(copies: int = PROBE_COPIES) -> np.ndarray:
    """sin(t) repeated: the clean side of the study's probe, (copies, 100)."""
    return np.tile(np.sin(time_axis()), (copies, 1))


def probe(level: float, rng: np.random.Generator, copies: int = PROBE_COPIES) -> tuple[np.ndarray, np.ndarray]:
    """The study's probe: `copies` noisy versions of sin(t).

    Returns clean (copies, 100) — sin(t) repeated — and noisy (copies, 100).
    """
    clean = probe_clean(copies)
    return clean, add_gaussian(clean, level, rng)


def mask(x: np.ndarray, rate: float, rng: np.random.Generator) -> np.ndarray:
    """Masking noise: each sample set to 0 with probability `rate`."""
    return np.where(rng.random(x.shape) < rate, 0.0, x)


def salt_pepper(x: np.ndarray, rate: float, rng: np.random.Generator) -> np.ndarray:
    """Salt-and-pepper: each sample set to its signal's min or max, with probability rate/2 each."""
    u = rng.random(x.shape)
    lo = x.min(axis=-1, keepdims=True)
    hi = x.max(axis=-1, keepdims=True)
    out = np.where(u < rate / 2, lo, x)
    return np.where((u >= rate / 2) & (u < rate), hi, out)


def training_set(seed: int, n: int = N_TRAIN, sd: float = SD) -> np.ndarray:
    """The clean training signals of one seed, (n, 100)."""
    return generate(n, seeds.rng(seed, seeds.TRAIN), sd)[0]
