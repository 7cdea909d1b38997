"""Evaluation sets and the tidy rows of metrics (pure: arrays and denoisers in, dicts out).

Random streams are keyed by (seed, stream) so that every set is reproducible on its own and the
same noise draw p is shared by every model and noise level (common random numbers): at level l
the noisy input is x + l * p.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from sigdenoise.evaluate import metrics
from sigdenoise import synthetic

# Independent random streams of one seed.
TRAIN, TEST, TEST_NOISE, PROBE_NOISE = 0, 1, 2, 3


def rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, stream])


class Denoiser(Protocol):
    def denoise(self, x: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class EvalSet:
    """clean and noise: (n, 100); the noisy input at level l is clean + l * noise."""

    name: str
    clean: np.ndarray
    noise: np.ndarray
    family: np.ndarray | None = None

    def noisy(self, level: float) -> np.ndarray:
        return self.clean + level * self.noise


def training_set(seed: int, n: int, sd: float) -> np.ndarray:
    """The clean training signals of one seed, (n, 100)."""
    return synthetic.generate(n, rng(seed, TRAIN), sd)[0]


def eval_sets(seed: int, n_test: int, sd: float, probe_copies: int = 10) -> list[EvalSet]:
    """The probe (copies of sin(t)) and the held-out test set of one seed."""
    clean_probe = synthetic.probe_clean(probe_copies)
    probe = EvalSet("probe", clean_probe, rng(seed, PROBE_NOISE).standard_normal(clean_probe.shape))
    x, family, _ = synthetic.generate(n_test, rng(seed, TEST), sd)
    test = EvalSet("test", x, rng(seed, TEST_NOISE).standard_normal(x.shape), family)
    return [probe, test]


def evaluate(denoiser: Denoiser, sets: list[EvalSet], level: float) -> tuple[list[dict], dict[str, np.ndarray]]:
    """Metrics of one denoiser at one noise level on each set.

    Returns one row per set (eval, mse, mean_mse, snr_in_db, snr_out_db, snr_gain_db) and the
    reconstructions by set name, (n, 100) each. mean_mse (probe only) is the MSE of the mean of the
    reconstructions against the clean signal, the study's averaged-probe figure.
    """
    rows, recon = [], {}
    for s in sets:
        noisy = s.noisy(level)
        out = np.asarray(denoiser.denoise(noisy), dtype=float)
        row = {"eval": s.name, **metrics.scores(noisy, out, s.clean)}
        row["mean_mse"] = metrics.mse(out.mean(axis=0), s.clean[0]) if s.name == "probe" else np.nan
        rows.append(row)
        recon[s.name] = out
    return rows, recon
