"""Denoising-autoencoder training: noisy (and optionally window-scaled) inputs, clean targets.

The study trains x -> x on clean signals (`training.train_ensemble`). A denoising autoencoder
(Vincent et al., 2008) learns x̃ -> x instead, with fresh noise x̃ drawn for every batch. When
`scaled`, each training window goes through the same map as at denoising time
(`windows.to_model`, computed from the *noisy* window), so the model learns exactly the task it
meets on a user's recording: z̃ = C + (x̃ − c̃)·H/h̃ -> C + (x − c̃)·H/h̃.

Kept apart from training.py on purpose: the hook it would need there is a `corrupt(x, gen) ->
(inputs, targets)` callable applied to each batch before the forward pass (identity by default).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import contextmanager

import numpy as np
import torch

from sigdenoise.train import objectives
from sigdenoise.models.autoencoder import Autoencoder
from sigdenoise.train.engine import TrainLog, batch_slices, order_generator

NOISE_TYPES = objectives.NOISE_KINDS  # gaussian, masking, salt-pepper: the grid's names
UNIT_SCALE = {"center": 0.0, "half_range": 1.0}  # the range scaled training maps every window into


def corrupt(x: torch.Tensor, kind: str, level: float | tuple[float, float], gen: torch.Generator) -> torch.Tensor:
    """Noisy copy of clean windows x (B, d), by objectives.corrupt: gaussian x + level·p; masking:
    each sample zeroed with probability level; salt-pepper: set to the window's min or max with
    probability level/2 each. level (lo, hi): each window draws its own level uniformly in [lo, hi]."""
    if isinstance(level, tuple):
        lo, hi = level
        level = lo + (hi - lo) * torch.rand((x.shape[0], 1), generator=gen, dtype=x.dtype).to(x.device)
    elif level == 0:
        return x
    return objectives.corrupt(x, kind, torch.as_tensor(level, dtype=x.dtype, device=x.device), gen)


def scale_pair(noisy: torch.Tensor, clean: torch.Tensor, scale: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """Both windows through the map of the noisy one (windows.to_model, in torch)."""
    lo, hi = noisy.amin(-1, keepdim=True), noisy.amax(-1, keepdim=True)
    c, h = (hi + lo) / 2, (hi - lo) / 2
    g = float(scale["half_range"]) / torch.where(h > 0, h, torch.ones_like(h))
    C = float(scale["center"])
    return C + (noisy - c) * g, C + (clean - c) * g


@contextmanager
def cpu_threads(n: int, device: torch.device):
    """Limit torch's CPU threads for a block: batches of 256 through a 13k-weight model are too small
    for intra-op threads to pay (on a busy 2-core machine two threads ran 20x slower than one)."""
    old = torch.get_num_threads()
    if device.type == "cpu":
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def train_denoising(
    model: Autoencoder,
    clean: torch.Tensor,
    epochs: int,
    noise: float | tuple[float, float] = 0.0,
    kind: str = "gaussian",
    scale: dict | None = None,
    batch_size: int = 256,
    lr: float = 1e-3,
    lr_end: float | None = None,
    on_epoch: Callable[[int, float], None] | None = None,
) -> TrainLog:
    """Train model on clean windows (N, d): inputs corrupted by `kind` noise at `noise`.

    noise 0 with scale None is the study's loop (`training.train_single`, same batch order); a
    noise level draws new noise for every batch from the model's own seed. scale: train on
    windows mapped into that range (see module docstring). lr_end: cosine decay of the learning
    rate from lr to lr_end over the run (None keeps it constant, as the study does).
    Returns the per-epoch loss.
    """
    order = order_generator(model.seed)
    noise_gen = torch.Generator().manual_seed(2**31 - 1 - model.seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    n = clean.shape[0]
    steps = epochs * len(batch_slices(n, batch_size))
    sched = None
    if lr_end is not None:
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps, eta_min=lr_end)
    history = []
    t0 = time.perf_counter()
    model.train()
    with cpu_threads(1, clean.device):
        for epoch in range(epochs):
            perm = torch.randperm(n, generator=order).to(clean.device)
            total = 0.0
            for sl in batch_slices(n, batch_size):
                x = clean[perm[sl]]
                xin = corrupt(x, kind, noise, noise_gen)
                if scale is not None:
                    xin, x = scale_pair(xin, x, scale)
                loss = ((model(xin) - x) ** 2).mean()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                if sched is not None:
                    sched.step()
                total += loss.item() * (sl.stop - sl.start)
            history.append(total / n)
            if on_epoch is not None:
                on_epoch(epoch, history[-1])
    model.eval()
    return TrainLog(np.array(history)[:, None], time.perf_counter() - t0)
