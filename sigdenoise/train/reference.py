"""The reference loop: one model, nn.Linear layers, torch.optim.Adam, its seed's batch order.

It is the study's training as the source would write it (x -> x on clean signals, MSE, Adam), and
every faster engine is tested against it. It also trains a lone denoising autoencoder (Vincent et
al., 2008): inputs corrupted afresh in every batch, clean targets. With `scale`, each training
window goes through the same map as at denoising time (`recordings.windows.to_model`, computed
from the *noisy* window), so the model learns exactly the task it meets on a user's recording:
z̃ = C + (x̃ − c̃)·H/h̃ -> C + (x − c̃)·H/h̃.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch

from sigdenoise import seeds
from sigdenoise.models.autoencoder import Autoencoder
from sigdenoise.train import objectives
from sigdenoise.train.common import BATCH_SIZE, LR, TrainLog, batch_slices

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


def train_lone(
    model: Autoencoder,
    data: torch.Tensor,
    epochs: int,
    batch_size: int = BATCH_SIZE,
    lr: float = LR,
    *,
    noise: float | tuple[float, float] = 0.0,
    kind: str = "gaussian",
    scale: dict | None = None,
    lr_end: float | None = None,
    on_epoch: Callable[[int, float], None] | None = None,
) -> TrainLog:
    """Train `model` on clean signals data (N, d); returns the per-epoch loss (epochs, 1).

    noise: the input noise level (or (lo, hi), a level drawn per window) of `kind`, drawn afresh
    for every batch from the model's own seed (seeds.lone_noise); 0 is the study's clean
    training. scale: train on windows mapped into that range (see the module docstring). lr_end:
    cosine decay of the learning rate from lr to lr_end over the run (None keeps it constant, as
    the study does). on_epoch(epoch, loss) is called after each epoch.
    """
    order, noise_gen = seeds.batch_order(model.seed), seeds.lone_noise(model.seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    n = data.shape[0]
    sched = None
    if lr_end is not None:
        steps = epochs * len(batch_slices(n, batch_size))
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps, eta_min=lr_end)
    history = []
    t0 = time.perf_counter()
    model.train()
    for epoch in range(epochs):
        perm = torch.randperm(n, generator=order).to(data.device)
        total = 0.0
        for sl in batch_slices(n, batch_size):
            x = data[perm[sl]]
            xin = corrupt(x, kind, noise, noise_gen)
            if scale is not None:
                xin, x = scale_pair(xin, x, scale)
            loss = ((model(xin) - x) ** 2).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
            # On the device, in float64 (as loss.item() * size summed in Python would be): one sync an
            # epoch, not one a batch.
            total += loss.detach().double() * (sl.stop - sl.start)
        history.append(float(total) / n)
        if on_epoch is not None:
            on_epoch(epoch, history[-1])
    model.eval()
    return TrainLog(np.array(history)[:, None], time.perf_counter() - t0)
