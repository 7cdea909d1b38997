"""The rows behind the report: every denoiser of every seed on the probe and the test set,
per family as well (pure: models and arrays in, tidy rows out).

Denoisers: noisy, svd, the grid's autoencoders, the classical baselines (tuned on a validation
set of their own seed stream, never on the test set) and the Bayes-optimal posterior mean.
"""

from __future__ import annotations

import numpy as np

from sigdenoise import seeds, synthetic
from sigdenoise.evaluate import scoring
from sigdenoise.models.baselines import CLASSICAL
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
    for (model, variant), make in CLASSICAL.items():
        base, den = {"model": model, "variant": variant}, make()
        den.fit(noisy, clean)
        settings = ", ".join(f"{k}={v}" for k, v in den.settings_.items())
        out.append(({**base, "settings": settings}, den))
    out.append(({"model": "bayes", "variant": "", "settings": f"posterior mean, noise {level:g}, sd {sd:g}"},
                BayesPosteriorMean(level, sd)))  # fmt: skip
    return out


def seed_rows(seed: int, noises, latents, ae_models: list, train: np.ndarray, sd: float, n_test: int, n_valid: int,
              classical: bool = True) -> list[dict]:  # fmt: skip
    """Every denoiser of one seed at every noise level. ae_models: (Autoencoder, meta) pairs;
    classical=False: without the tuned classical baselines and the Bayes ceiling."""
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
        for base, den in fixed + (baselines(seed, level, sd, n_valid) if classical else []):
            # A gaussian denoising AE is compared at the noise level it was trained for.
            if base.get("train_noise_kind") == "gaussian" and base["train_noise"] != level:
                continue
            rows += scoring.rows(den, {"activation": "", "latent": np.nan, **base}, sets, level, seed, by_family=True)[0]
    return rows
