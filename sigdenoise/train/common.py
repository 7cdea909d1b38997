"""What every training engine shares: the log it returns, the batches of an epoch, the study's
optimiser settings, and a fence around torch's CPU threads."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch

# Measured by experiments/plateau.py (experiments/plateau_loss.csv, README "Default epochs"): at 300
# epochs every member's training loss is within 1.27x of its 400-epoch value and the mean loss
# improves by 4.6 % over the next 50 epochs; the linear AEs reached their optimum by epoch 10.
DEFAULT_EPOCHS = 300
BATCH_SIZE = 256  # the study's batch and learning rate (Adam)
LR = 1e-3
# Bounds every training's settings share: epochs that can finish, and seeds that key torch
# generators (seeds.batch_order: 10_007 * seed + 1 < 2**64).
MAX_EPOCHS = 1_000_000
SEED_LIMIT = 2**32


@dataclass
class TrainLog:
    """losses: (epochs, M) mean training MSE per epoch and member; seconds: wall time."""

    losses: np.ndarray
    seconds: float


def batch_slices(n: int, batch_size: int) -> list[slice]:
    """Consecutive batches of a permutation; the last may be short (no sample is dropped)."""
    return [slice(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]


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
