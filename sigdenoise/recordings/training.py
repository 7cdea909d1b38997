"""`sigdenoise train`: one autoencoder on the synthetic families or the user's clean signals, saved
as a bundle that `denoise --model` loads.

Training goes through the front door (train/front.py): clean, unscaled training (noise 0,
--no-scale) runs the grid's own stacked engine on the grid's training set for the seed, so it gives
the grid's model; noisy inputs (a denoising AE), window scaling or a schedule run the reference loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from sigdenoise import synthetic
from sigdenoise.errors import finite, require
from sigdenoise.models import bundle
from sigdenoise.models.activations import ACTIVATIONS
from sigdenoise.models.architecture import LATENTS
from sigdenoise.recordings.pipeline import peek_windows
from sigdenoise.recordings.read import open_signals
from sigdenoise.recordings.windows import WINDOW
from sigdenoise.recordings.write import refuse_same
from sigdenoise.train import front
from sigdenoise.train.common import BATCH_SIZE, DEFAULT_EPOCHS, LR, MAX_EPOCHS, SEED_LIMIT, cpu_threads
from sigdenoise.train.front import Recipe
from sigdenoise.train.members import Member
from sigdenoise.train.objectives import NOISE_KINDS, VariantSettings
from sigdenoise.train.reference import UNIT_SCALE

# Bounds that keep a training finite and its memory bounded (a window is 100 float32 samples).
MAX_WINDOWS = 10_000_000
MAX_SD = 1e3
MAX_NOISE = 1e6


@dataclass(frozen=True)
class TrainSpec:
    """The settings of `sigdenoise train`; a field that is a CLI option carries its help text."""

    activation: str = field(default="gelu", metadata={"help": "Activation between the layers."})
    latent: int = field(default=5, metadata={"help": "Latent size, 1 or 5."})
    epochs: int = field(default=DEFAULT_EPOCHS, metadata={"help": "Training epochs."})
    noise: float | tuple[float, float] = field(default=0.0, metadata={
        "help": "Noise on the inputs (a denoising AE): a level, or LO:HI drawn per window. 0 is the study's clean training."})  # fmt: skip
    """Input noise level, or (lo, hi): each window draws its level uniformly."""
    noise_type: str = field(default="gaussian", metadata={
        "help": "Kind of --train-noise: gaussian (level = sd), masking or salt-pepper (level = rate)."})  # fmt: skip
    scale: bool = field(default=True, metadata={
        "help": "Train on windows scaled as `denoise` scales them. --no-scale with noise 0 is the grid's training."})  # fmt: skip
    n_train: int = field(default=synthetic.N_TRAIN,
                         metadata={"help": "Training windows: synthetic signals, or windows sampled from --data."})  # fmt: skip
    sd: float = field(default=synthetic.SD, metadata={"help": "Standard deviation of the frequency r of the synthetic signals."})
    lr: float = field(default=LR, metadata={"help": "Adam learning rate."})
    lr_end: float | None = field(default=None,
                                 metadata={"help": "Cosine-decay the learning rate to this.  \\[default: constant]"})  # fmt: skip
    seed: int = field(default=0, metadata={"help": "Seed of the weights, batch order, noise and synthetic data."})
    data: str | None = field(default=None, metadata={
        "help": "Your own clean signals (.csv or .npy), cut into windows.  \\[default: the synthetic families]"})  # fmt: skip
    layout: str = "rows"
    header: bool | None = None
    id_cols: tuple[str, ...] = ()
    batch_size: int = BATCH_SIZE

    def __post_init__(self) -> None:
        require(self.activation in ACTIVATIONS, "--activation", f"unknown activation {self.activation!r}")
        require(self.latent in LATENTS, "--latent", f"must be 1 or 5, got {self.latent}")
        require(1 <= self.epochs <= MAX_EPOCHS, "--epochs", f"must be between 1 and {MAX_EPOCHS:,}, got {self.epochs}")
        require(10 <= self.n_train <= MAX_WINDOWS, "--n-train", f"must be between 10 and {MAX_WINDOWS:,}, got {self.n_train}")
        require(finite(self.sd) and 0 < self.sd <= MAX_SD, "--sd", f"must be > 0 and at most {MAX_SD:g}, got {self.sd}")
        require(0 <= self.seed < SEED_LIMIT, "--seed", f"must be between 0 and 2**32 - 1, got {self.seed}")
        require(self.noise_type in NOISE_KINDS, "--noise-type", f"choose from {', '.join(NOISE_KINDS)}")
        top = max(self.noise) if isinstance(self.noise, tuple) else self.noise
        require(top <= MAX_NOISE, "--train-noise", f"must be at most {MAX_NOISE:g} (the signals' scale is ~1), got {top:g}")
        require(self.noise_type == "gaussian" or top <= 1, "--train-noise", f"a {self.noise_type} rate must be at most 1, got {top}")
        require(finite(self.lr) and 0 < self.lr <= 1, "--lr", f"must be > 0 and at most 1, got {self.lr}")
        require(self.lr_end is None or 0 <= self.lr_end <= self.lr, "--lr-end", f"must be between 0 and --lr, got {self.lr_end}")

    @property
    def plain(self) -> bool:
        """The study's training: clean inputs, raw windows, constant learning rate."""
        return self.noise == 0 and not self.scale and self.lr_end is None


def check_paths(spec: TrainSpec, out: Path) -> None:
    """The model must not be written over its own training data (or anything but a model file)."""
    refuse_same("--out", out, {"the training data (--data)": spec.data})
    bundle.check_target(out)


def training_windows(spec: TrainSpec) -> np.ndarray:
    """Clean training windows (n, 100): the grid's training set, or windows of --data."""
    if spec.data is None:
        return synthetic.training_set(spec.seed, spec.n_train, spec.sd)
    src = open_signals(spec.data, spec.layout, spec.header, spec.id_cols)
    raw, _, _ = peek_windows(src.chunks(), WINDOW, spec.data, spec.n_train)
    return raw


def train_model(
    spec: TrainSpec, out, device: torch.device, on_epoch: Callable[[int, float], None] | None = None
) -> dict:
    """Train per spec, save to `out` with bundle.save, return the metadata written."""
    clean = training_windows(spec)
    x = torch.as_tensor(clean, dtype=torch.float32, device=device)
    # Clean, unscaled training is the grid's (the stacked engine); noise, scaling or a schedule
    # take the reference loop, which alone has them.
    recipe = Recipe(spec.epochs, spec.batch_size, spec.lr, VariantSettings(train_noise_kind=spec.noise_type),
                    noise=spec.noise, scale=UNIT_SCALE if spec.scale else None, lr_end=spec.lr_end)  # fmt: skip
    hook = None if on_epoch is None else lambda e, losses: on_epoch(e, float(losses[0]))
    with cpu_threads(1, device):
        trained = front.train([Member(spec.latent, spec.activation, spec.seed)], {spec.seed: x}, recipe, hook)
    (model,), log = trained.models.values(), trained.log
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
