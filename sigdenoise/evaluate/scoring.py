"""Evaluation sets and the tidy rows of metrics (pure: arrays and denoisers in, dicts out).

Random streams come from sigdenoise.seeds: every set is reproducible on its own and the same
noise draw p is shared by every model and noise level (common random numbers): at level l the
noisy input is x + l * p.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from sigdenoise.evaluate import metrics
from sigdenoise import seeds, synthetic

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


def eval_sets(seed: int, n_test: int, sd: float, probe_copies: int = 10) -> list[EvalSet]:
    """The probe (copies of sin(t)) and the held-out test set of one seed."""
    clean_probe = synthetic.probe_clean(probe_copies)
    probe = EvalSet("probe", clean_probe, seeds.rng(seed, seeds.PROBE_NOISE).standard_normal(clean_probe.shape))
    x, family, _ = synthetic.generate(n_test, seeds.rng(seed, seeds.TEST), sd)
    test = EvalSet("test", x, seeds.rng(seed, seeds.TEST_NOISE).standard_normal(x.shape), family)
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
