"""The rows behind the report: every denoiser of every seed on the probe and the test set,
per family as well (pure: models and arrays in, tidy rows out).

Denoisers: noisy, svd, the grid's autoencoders, the classical baselines (tuned on a validation
set of their own seed stream, never on the test set) and the Bayes-optimal posterior mean.
"""

from __future__ import annotations

import numpy as np

from sigdenoise.evaluate import scoring
from sigdenoise.evaluate import metrics
from sigdenoise import seeds, synthetic
from sigdenoise.models.baselines import SavitzkyGolay, Wavelet, Wiener
from sigdenoise.models.bayes import BayesPosteriorMean
from sigdenoise.models.svd import Identity, SVDProjector

def validation_pair(seed: int, n: int, sd: float, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Clean and noisy validation signals, (n, 100) each, independent of training and test."""
    rng = seeds.rng(seed, seeds.VALID)
    clean = synthetic.generate(n, rng, sd)[0]
    return clean, clean + level * rng.standard_normal(clean.shape)


def baselines(seed: int, level: float, sd: float, n_valid: int) -> list[tuple[dict, object]]:
    """The classical baselines tuned at this noise level, and the Bayes ceiling, with their labels."""
    clean, noisy = validation_pair(seed, n_valid, sd, level)
    out = []
    for base, den in [
        ({"model": "savgol", "variant": ""}, SavitzkyGolay()),
        ({"model": "wiener", "variant": ""}, Wiener()),
        ({"model": "wavelet", "variant": "universal"}, Wavelet(rule="universal")),
        ({"model": "wavelet", "variant": "bayes"}, Wavelet(rule="bayes")),
    ]:
        den.fit(clean, noisy)
        settings = ", ".join(f"{k}={v}" for k, v in den.settings_.items())
        out.append(({**base, "settings": settings}, den))
    out.append(({"model": "bayes", "variant": "", "settings": f"posterior mean, noise {level:g}, sd {sd:g}"},
                BayesPosteriorMean(level, sd)))  # fmt: skip
    return out


def rows_for(denoiser, base: dict, sets: list[scoring.EvalSet], level: float, seed: int) -> list[dict]:
    """Rows of one denoiser at one level: each set as a whole (family 'all') and the test set by family."""
    metric_rows, recon = scoring.evaluate(denoiser, sets, level)
    rows = [{**base, "noise": level, "seed": seed, "family": "all", **m} for m in metric_rows]
    for s in sets:
        if s.family is None:
            continue
        noisy = s.noisy(level)
        for f, name in enumerate(synthetic.FAMILIES):
            sel = s.family == f
            if sel.any():
                m = metrics.scores(noisy[sel], recon[s.name][sel], s.clean[sel])
                rows.append({**base, "noise": level, "seed": seed, "eval": s.name, "family": name, "mean_mse": np.nan, **m})
    return rows


def seed_rows(seed: int, noises, latents, ae_models: list, train: np.ndarray, sd: float, n_test: int, n_valid: int) -> list[dict]:
    """Every denoiser of one seed at every noise level. ae_models: (Autoencoder, meta) pairs."""
    sets = scoring.eval_sets(seed, n_test, sd)
    fixed = [({"model": "noisy", "variant": "", "settings": ""}, Identity())]
    fixed += [({"model": "svd", "variant": "", "latent": k, "settings": f"rank {k}"}, SVDProjector(k).fit(train)) for k in latents]
    for model, meta in ae_models:
        variant = meta.get("variant", "plain") + (f" w{meta['width']}" if meta.get("width") else "")
        base = {"model": "ae", "variant": variant, "activation": model.activation, "train_noise": meta.get("train_noise", 0.0),
                "train_noise_kind": meta.get("train_noise_kind", ""),
                "latent": model.latent, "settings": f"epochs {meta['epochs']}", "epochs": meta["epochs"],
                "n_train": meta["n_train"], "final_train_loss": meta["final_train_loss"]}  # fmt: skip
        fixed.append((base, model))
    rows = []
    for level in noises:
        for base, den in fixed + baselines(seed, level, sd, n_valid):
            # A gaussian denoising AE is compared at the noise level it was trained for.
            if base.get("train_noise_kind") == "gaussian" and base["train_noise"] != level:
                continue
            rows += rows_for(den, {"activation": "", "latent": np.nan, **base}, sets, level, seed)
    return rows
