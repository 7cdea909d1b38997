"""The seven activations of the study: one registry feeds the models, the ensemble and the CLI.

Every function takes h of any shape and, for `prelu`, a learned slope broadcastable to h.
"""

from __future__ import annotations

from enum import Enum

import torch
import torch.nn.functional as F


class Activation(str, Enum):
    identity = "identity"
    relu = "relu"
    sigmoid = "sigmoid"
    tanh = "tanh"
    leakyrelu = "leakyrelu"
    prelu = "prelu"
    gelu = "gelu"


ACTIVATIONS: tuple[str, ...] = tuple(a.value for a in Activation)
LEAKY_SLOPE = 0.01  # fixed slope of leakyrelu (DESIGN.md §1)
PRELU_INIT = 0.25  # PyTorch's nn.PReLU default
LEARNED = frozenset({"prelu"})  # activations with a learned slope per layer


def apply(name: str, h: torch.Tensor, slope: torch.Tensor | None = None) -> torch.Tensor:
    """Apply activation `name` to h; `slope` (broadcastable to h) is used by prelu only."""
    if name == "identity":
        return h
    if name == "relu":
        return torch.relu(h)
    if name == "sigmoid":
        return torch.sigmoid(h)
    if name == "tanh":
        return torch.tanh(h)
    if name == "leakyrelu":
        return F.leaky_relu(h, LEAKY_SLOPE)
    if name == "prelu":
        return torch.where(h >= 0, h, slope * h)
    if name == "gelu":
        return F.gelu(h)
    raise ValueError(f"unknown activation {name!r}; choose from {', '.join(ACTIVATIONS)}")
