"""Every random stream of sigdenoise, derived from a seed in this one place.

Streams are keyed by the seed and by what they are for, so each is reproducible on its own and
none depends on which other streams were drawn: the training set, the test set and its noise, the
probe's noise and the baselines' validation set of one seed are independent; a member's initial
weights depend only on its own key, so they do not depend on the rest of its ensemble; the same
noise draw p is shared by every model and noise level (common random numbers).
"""

from __future__ import annotations

import zlib

import numpy as np
import torch

# numpy streams of one seed.
TRAIN, TEST, TEST_NOISE, PROBE_NOISE, VALID = 0, 1, 2, 3, 4
FRESH = 100  # + epoch: the freshly drawn training set of that epoch (the wide denoiser)


def rng(seed: int, stream: int) -> np.random.Generator:
    """The numpy generator of one (seed, stream)."""
    return np.random.default_rng([seed, stream])


def member_init(activation: str, latent: int, seed: int) -> torch.Generator:
    """A member's initial weights: its own key only, so resume and the lone-model test agree."""
    return torch.Generator().manual_seed(zlib.crc32(f"{activation}/{latent}/{seed}".encode()))


def batch_order(seed: int) -> torch.Generator:
    """One seed's batch order (CPU, so orders agree across devices)."""
    return torch.Generator().manual_seed(10_007 * seed + 1)


def lone_noise(seed: int) -> torch.Generator:
    """The input noise of a lone model trained by the reference loop (a denoising AE)."""
    return torch.Generator().manual_seed(2**31 - 1 - seed)


def member_noise(seed: int, member: str) -> torch.Generator:
    """A stacked variant member's corruption and reparameterisation noise: the run's noise seed
    and the member's own name, so the member draws the same noise whatever trains beside it. A CPU
    stream, as every other here: its draws are moved to the training device, so a seed trains the
    same variants on CPU and CUDA."""
    return torch.Generator().manual_seed(zlib.crc32(f"{seed}/{member}".encode()))
