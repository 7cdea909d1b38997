"""Evaluation sets and the tidy rows of metrics (pure: arrays and denoisers in, dicts out).

Random streams come from sigdenoise.seeds: every set is reproducible on its own and the same
noise draw p is shared by every model and noise level (common random numbers): at level l the
noisy input is x + l * p.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from sigdenoise import seeds, synthetic
from sigdenoise.evaluate import metrics


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


def rows(denoiser: Denoiser, base: dict, sets: list[EvalSet], level: float, seed: int,
         by_family: bool = False) -> tuple[list[dict], dict[str, np.ndarray]]:  # fmt: skip
    """The tidy results rows of one denoiser at one noise level, and its reconstructions by set.

    Each row is base, then noise and seed, then evaluate's columns for one set. With by_family, the
    rows of whole sets also get family 'all', and each set that knows its families (the test set)
    adds one row per family present (mean_mse empty: the mean-of-copies measure is the probe's).
    """
    metric_rows, recon = evaluate(denoiser, sets, level)
    head = {**base, "noise": level, "seed": seed}
    if not by_family:
        return [{**head, **m} for m in metric_rows], recon
    out = [{**head, "family": "all", **m} for m in metric_rows]
    for s in sets:
        if s.family is None:
            continue
        noisy = s.noisy(level)
        for f, name in enumerate(synthetic.FAMILIES):
            sel = s.family == f
            if sel.any():
                m = metrics.scores(noisy[sel], recon[s.name][sel], s.clean[sel])
                out.append({**head, "eval": s.name, "family": name, "mean_mse": np.nan, **m})
    return out, recon
