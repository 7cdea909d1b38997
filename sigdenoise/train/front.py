"""The one front door of training: `train(members, data, recipe)`, whoever asks (the grid, the
report, `sigdenoise train`, denoise's self-fit), choosing the engine itself.

Engines, all training each member exactly as the reference loop would train it alone:
- "stacked" (train/stacked.py): the study's plain members, fused and compiled, in forked workers;
- "vmapped" (train/vmapped.py): the variants (denoising, sparse, contractive, vae, bce, wider
  bodies), stacked per group with torch.func, on CPU in forked workers as the stacked engine's; in
  a long training they take the fused engine's hand-written step, compiled (train/variant_step.py);
- "reference" (train/reference.py): one model at a time; the lone denoising autoencoder with a
  noise range, window scaling or a learning-rate schedule, which only it implements.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from sigdenoise.models.autoencoder import Autoencoder
from sigdenoise.train.common import BATCH_SIZE, LR, TrainLog, cpu_threads
from sigdenoise.train.members import Member
from sigdenoise.train.objectives import VariantSettings
from sigdenoise.train.reference import train_lone
from sigdenoise.train.stack import Ensemble
from sigdenoise.train.stacked import train_ensemble
from sigdenoise.train.vmapped import train_vmapped

ENGINES = ("auto", "stacked", "vmapped", "reference")
OnEpoch = Callable[[int, np.ndarray], None]


@dataclass(frozen=True)
class Recipe:
    """How to train, beyond which members: the optimiser, the objective and the engine."""

    epochs: int
    batch_size: int = BATCH_SIZE
    lr: float = LR
    objective: VariantSettings = field(default_factory=VariantSettings)
    """The variants' corruption kind and rate, penalties and loss."""
    noise_seed: int = 0
    """Seed of the stacked variants' corruption and reparameterisation noise (seeds.member_noise)."""
    noise: float | tuple[float, float] = 0.0
    """A lone denoising AE's input noise: a level, or (lo, hi) drawn per window (reference engine)."""
    scale: dict | None = None
    """Train on windows mapped into this range, as denoise maps them (reference engine)."""
    lr_end: float | None = None
    """Cosine decay of the learning rate to this (reference engine); None keeps it constant."""
    engine: str = "auto"
    compile: bool | None = None
    """Full batches through torch.compile's step (stacked and vmapped engines); None: where it
    repays its seconds of compiling (train/stacked.worth_compiling)."""

    @property
    def lone(self) -> bool:
        """Whether the recipe asks for what only the reference loop implements."""
        return self.noise != 0 or self.scale is not None or self.lr_end is not None


@dataclass
class Trained:
    """The trained models by member, in training order, and the log whose columns follow it."""

    models: dict[Member, Autoencoder]
    log: TrainLog


def plan(members: list[Member], recipe: Recipe) -> list[tuple[str, list[Member]]]:
    """Which engine trains which members, in training order."""
    if recipe.engine not in ENGINES:
        raise ValueError(f"unknown engine {recipe.engine!r}; choose from {', '.join(ENGINES)}")
    engine = "reference" if recipe.lone else recipe.engine
    if engine == "auto":
        groups = [("stacked", [m for m in members if m.plain]), ("vmapped", [m for m in members if not m.plain])]
        return [(e, ms) for e, ms in groups if ms]
    if engine == "stacked" and not all(m.plain for m in members):
        raise ValueError("the stacked engine trains the study's plain members only")
    if engine == "reference" and any(m.variant != "plain" or m.loss != "mse" for m in members):
        raise ValueError("the reference loop trains plain members (a lone denoising AE by the recipe's noise)")
    return [(engine, list(members))]


def train(members: list[Member], data: dict[int, torch.Tensor], recipe: Recipe,
          on_epoch: OnEpoch | None = None, fresh: Callable[[int, int], torch.Tensor] | None = None) -> Trained:  # fmt: skip
    """Train `members` on data: seed -> clean training signals (N, d) on the training device.

    on_epoch(epoch, losses) reports the epochs of the last engine's members (their reconstruction
    losses); fresh(seed, epoch), when given, draws a new training set for each epoch (vmapped), a
    function of its arguments alone: each forked worker calls it."""
    groups = plan(members, recipe)
    models: dict[Member, Autoencoder] = {}
    logs = []
    for i, (engine, group) in enumerate(groups):
        hook = on_epoch if i == len(groups) - 1 else None
        trained, log = ENGINE_FNS[engine](group, data, recipe, hook, fresh)
        models.update(zip(group, trained))
        logs.append(log)
    losses = np.concatenate([log.losses for log in logs], axis=1)
    return Trained(models, TrainLog(losses, sum(log.seconds for log in logs)))


def _stacked(group, data, recipe: Recipe, on_epoch, fresh) -> tuple[list[Autoencoder], TrainLog]:
    device = next(iter(data.values())).device
    ensemble = Ensemble.build(group).to(device)
    log = train_ensemble(ensemble, {s: data[s] for s in sorted({m.seed for m in group})}, recipe.epochs,
                         recipe.batch_size, recipe.lr, on_epoch=on_epoch, compile=recipe.compile)  # fmt: skip
    by_key = dict(zip(ensemble.members, ensemble.to_models()))
    cols = [ensemble.members.index(m) for m in group]  # the log's columns follow ensemble.members
    return [by_key[m] for m in group], TrainLog(log.losses[:, cols], log.seconds)


def _vmapped(group, data, recipe: Recipe, on_epoch, fresh) -> tuple[list[Autoencoder], TrainLog]:
    # One thread per process, whatever the machine: a member's float32 bits must not depend on the
    # thread count; the fused groups are dealt to one forked process per core.
    cores = torch.get_num_threads()
    with cpu_threads(1, next(iter(data.values())).device):
        return train_vmapped(group, {s: data[s] for s in sorted({m.seed for m in group})}, recipe.epochs,
                             recipe.objective, recipe.batch_size, recipe.lr, fresh, on_epoch, recipe.noise_seed,
                             compile=recipe.compile, workers=cores)  # fmt: skip


def _reference(group, data, recipe: Recipe, on_epoch, fresh) -> tuple[list[Autoencoder], TrainLog]:
    models, logs = [], []
    for m in group:
        x = data[m.seed]
        model = m.build(x.shape[-1]).to(x.device)
        hook = None if on_epoch is None or len(group) > 1 else (lambda e, loss: on_epoch(e, np.array([loss])))
        # One thread: batches of 256 through a 13k-weight model are too small for intra-op threads.
        with cpu_threads(1, x.device):
            logs.append(train_lone(model, x, recipe.epochs, recipe.batch_size, recipe.lr, noise=recipe.noise,
                                   kind=recipe.objective.train_noise_kind, scale=recipe.scale, lr_end=recipe.lr_end,
                                   on_epoch=hook))  # fmt: skip
        models.append(model)
    losses = np.concatenate([log.losses for log in logs], axis=1)
    return models, TrainLog(losses, sum(log.seconds for log in logs))


ENGINE_FNS = {"stacked": _stacked, "vmapped": _vmapped, "reference": _reference}
