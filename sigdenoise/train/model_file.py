"""`sigdenoise train`: one autoencoder on the synthetic families or the user's clean signals, saved
as a bundle that `denoise --model` loads.

Clean, unscaled training (noise 0, --no-scale) runs the grid's own trainer (`train_ensemble` with a
one-member ensemble, the grid's training set for the seed), so it gives the grid's model. Noisy
inputs (a denoising AE) or window scaling run `dae.train_denoising`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from sigdenoise import synthetic
from sigdenoise.models import bundle
from sigdenoise.models.activations import ACTIVATIONS
from sigdenoise.train.reference import NOISE_TYPES, UNIT_SCALE, cpu_threads, train_denoising
from sigdenoise.train.fused import Ensemble
from sigdenoise.models.autoencoder import LATENTS, Autoencoder
from sigdenoise.errors import SettingsError
from sigdenoise.train.engine import train_ensemble
from sigdenoise.recordings.windows import WINDOW


@dataclass(frozen=True)
class TrainSpec:
    activation: str = "gelu"
    latent: int = 5
    epochs: int = 60
    noise: float | tuple[float, float] = 0.0
    """Input noise level, or (lo, hi): each window draws its level uniformly."""
    noise_type: str = "gaussian"
    scale: bool = True
    """Train on windows scaled as `denoise` scales them (into UNIT_SCALE)."""
    n_train: int = 20_000
    sd: float = 2.25
    lr: float = 1e-3
    lr_end: float | None = None
    seed: int = 0
    data: str | None = None
    """A CSV or .npy of clean signals; None: the synthetic families."""
    layout: str = "rows"
    header: bool | None = None
    id_cols: tuple[str, ...] = ()
    batch_size: int = 256

    def check(self) -> None:
        def need(ok: bool, option: str, message: str) -> None:
            if not ok:
                raise SettingsError(option, message)

        need(self.activation in ACTIVATIONS, "--activation", f"unknown activation {self.activation!r}")
        need(self.latent in LATENTS, "--latent", f"must be 1 or 5, got {self.latent}")
        need(self.epochs >= 1, "--epochs", f"must be at least 1, got {self.epochs}")
        need(self.n_train >= 10, "--n-train", f"must be at least 10, got {self.n_train}")
        need(self.sd > 0, "--sd", f"must be > 0, got {self.sd}")
        need(self.noise_type in NOISE_TYPES, "--noise-type", f"choose from {', '.join(NOISE_TYPES)}")
        top = max(self.noise) if isinstance(self.noise, tuple) else self.noise
        rate_ok = self.noise_type == "gaussian" or top <= 1
        need(rate_ok, "--train-noise", f"a {self.noise_type} rate must be at most 1, got {top}")
        need(math.isfinite(self.lr) and self.lr > 0, "--lr", f"must be > 0, got {self.lr}")
        lr_end_ok = self.lr_end is None or 0 <= self.lr_end <= self.lr
        need(lr_end_ok, "--lr-end", f"must be between 0 and --lr, got {self.lr_end}")

    @property
    def plain(self) -> bool:
        """The study's training: clean inputs, raw windows, constant learning rate."""
        return self.noise == 0 and not self.scale and self.lr_end is None


def training_windows(spec: TrainSpec) -> np.ndarray:
    """Clean training windows (n, 100): the grid's training set, or windows of --data."""
    if spec.data is None:
        return synthetic.training_set(spec.seed, spec.n_train, spec.sd)
    from sigdenoise.recordings.pipeline import peek_windows
    from sigdenoise.recordings.read import open_signals

    src = open_signals(spec.data, spec.layout, spec.header, spec.id_cols)
    raw, _, _ = peek_windows(src.chunks(), WINDOW, spec.data, spec.n_train)
    return raw


def train_model(
    spec: TrainSpec, out, device: torch.device, on_epoch: Callable[[int, float], None] | None = None
) -> dict:
    """Train per spec, save to `out` with bundle.save, return the metadata written."""
    clean = training_windows(spec)
    x = torch.as_tensor(clean, dtype=torch.float32, device=device)
    model = Autoencoder(spec.activation, spec.latent, spec.seed, clean.shape[1]).to(device)
    if spec.plain:
        ens = Ensemble([model]).to(device)
        hook = None if on_epoch is None else lambda e, losses: on_epoch(e, float(losses[0]))
        with cpu_threads(1, device):
            log = train_ensemble(ens, {spec.seed: x}, spec.epochs, spec.batch_size, spec.lr, on_epoch=hook)
        model = ens.to_models()[0]
    else:
        log = train_denoising(model, x, spec.epochs, spec.noise, spec.noise_type, UNIT_SCALE if spec.scale else None,
                              spec.batch_size, spec.lr, spec.lr_end, on_epoch)  # fmt: skip
    meta = {
        "epochs": spec.epochs,
        "n_train": int(len(clean)),
        "sd": spec.sd if spec.data is None else None,
        "data": spec.data,
        "batch_size": spec.batch_size,
        "lr": spec.lr,
        "lr_end": spec.lr_end,
        "final_train_loss": float(log.losses[-1, 0]),
        "train_seconds": log.seconds,
        "ensemble_size": 1,
        "train_noise": list(spec.noise) if isinstance(spec.noise, tuple) else spec.noise,
        "noise_type": spec.noise_type,
        "scaled_windows": spec.scale,
        "scale": dict(UNIT_SCALE) if spec.scale else bundle.training_range(clean),
    }
    bundle.save(out, model.cpu(), meta)
    return meta
