"""Training: the stacked ensemble, and the plain one-model loop it must match (the reference).

The study's method: learn x -> x on clean signals, MSE, Adam (lr 1e-3), batch 256. Each member's
batches come from its own seed's training set in an order drawn from its own seed, so a member
trains the same whatever else shares the ensemble.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from sigdenoise.ensemble import Ensemble
from sigdenoise.models import Autoencoder


def order_generator(seed: int) -> torch.Generator:
    """The generator of one seed's batch order (CPU, so orders agree across devices)."""
    return torch.Generator().manual_seed(10_007 * seed + 1)


def batch_slices(n: int, batch_size: int) -> list[slice]:
    """Consecutive batches of a permutation; the last may be short (no sample is dropped)."""
    return [slice(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]


@dataclass
class TrainLog:
    """losses: (epochs, M) mean training MSE per epoch and member; seconds: wall time."""

    losses: np.ndarray
    seconds: float


def train_ensemble(
    ensemble: Ensemble,
    data: dict[int, torch.Tensor],
    epochs: int,
    batch_size: int = 256,
    lr: float = 1e-3,
    on_epoch: Callable[[int, np.ndarray], None] | None = None,
) -> TrainLog:
    """Train every member at once; one Adam step updates all of them.

    data: seed -> clean training signals (N, d) on the ensemble's device, N the same for all.
    Returns the per-epoch, per-member loss; `on_epoch(epoch, losses (M,))` is called after each.
    """
    seeds = sorted(data)
    slot = {s: i for i, s in enumerate(seeds)}
    stacked = torch.stack([data[s] for s in seeds])  # (S, N, d)
    n = stacked.shape[1]
    device = stacked.device
    index = [torch.tensor([slot[m.seed] for m in st.members], device=device) for st in ensemble.stacks]
    gens = {s: order_generator(s) for s in seeds}
    opt = torch.optim.Adam(ensemble.parameters(), lr=lr)
    history = []
    t0 = time.perf_counter()
    for epoch in range(epochs):
        perm = torch.stack([torch.randperm(n, generator=gens[s]) for s in seeds]).to(device)  # (S, N)
        total = torch.zeros(len(ensemble.members), device=device, dtype=stacked.dtype)
        for sl in batch_slices(n, batch_size):
            xb = torch.gather(stacked, 1, perm[:, sl, None].expand(-1, -1, stacked.shape[2]))  # (S, B, d)
            losses = []
            for st, idx in zip(ensemble.stacks, index):
                x = xb[0] if len(seeds) == 1 else xb[idx]  # (B, d) shared, or (M, B, d)
                out = st(x)  # (M, B, d)
                losses.append(((out - x) ** 2).mean(dim=(1, 2)))
            member_loss = torch.cat(losses)  # (M,)
            opt.zero_grad(set_to_none=True)
            member_loss.sum().backward()
            opt.step()
            total += member_loss.detach() * (sl.stop - sl.start)
        history.append((total / n).cpu().numpy())
        if on_epoch is not None:
            on_epoch(epoch, history[-1])
    return TrainLog(np.array(history), time.perf_counter() - t0)


def train_single(
    model: Autoencoder, data: torch.Tensor, epochs: int, batch_size: int = 256, lr: float = 1e-3
) -> TrainLog:
    """The plain loop: one model, its seed's batch order, nn.Linear layers. data (N, d)."""
    gen = order_generator(model.seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    n = data.shape[0]
    history = []
    t0 = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(n, generator=gen).to(data.device)
        total = 0.0
        for sl in batch_slices(n, batch_size):
            x = data[perm[sl]]
            loss = ((model(x) - x) ** 2).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * (sl.stop - sl.start)
        history.append(total / n)
    return TrainLog(np.array(history)[:, None], time.perf_counter() - t0)
