"""The seven activations of the study, in one registry read by every part that needs one: the
eager model (`apply`), the variants' penalties (`derivative`), the CLI's choices (`Activation`),
and the stacked trainer's fused kernels (`kernel`, `slope`, `learned`; train/kernels.py).

Adding an activation is one entry here; one whose fused kernel is new (not "pwl", z > 0 ? z : s·z,
nor one of sigmoid, tanh, gelu) adds that kernel to train/kernels.py too.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from sigdenoise.errors import SettingsError

if TYPE_CHECKING:
    import torch

LEAKY_SLOPE = 0.01  # fixed slope of leakyrelu (DESIGN.md §1)
PRELU_INIT = 0.25  # PyTorch's nn.PReLU default

Fn = Callable[["torch.Tensor", "torch.Tensor | None"], "torch.Tensor"]


def _gelu_derivative(z: torch.Tensor, _slope=None) -> torch.Tensor:
    """Phi(z) + z phi(z), differentiable (the contractive penalty differentiates it again). Written
    out as torch.distributions.Normal(0, 1)'s cdf and log_prob compute them (the same bits), without
    building a Normal per call, whose argument checks synchronise a GPU every step."""
    cdf = 0.5 * (1 + torch.erf(z / math.sqrt(2)))
    pdf = (-(z**2) / 2 - math.log(math.sqrt(2 * math.pi))).exp()
    return cdf + z * pdf


def _sigmoid_derivative(z: torch.Tensor, _slope=None) -> torch.Tensor:
    s = torch.sigmoid(z)
    return s * (1 - s)


def _step(z: torch.Tensor, below) -> torch.Tensor:
    """1 where z > 0, else `below` (a number or a tensor broadcastable to z)."""
    lo = below.expand_as(z) if isinstance(below, torch.Tensor) else torch.full_like(z, below)
    return torch.where(z > 0, torch.ones_like(z), lo)


@dataclass(frozen=True)
class ActivationSpec:
    """One activation. fn(h, slope) and derivative(z, slope) take any shape; `slope` (broadcastable)
    is used by a learned activation only. kernel: the stacked trainer's fused kernel family; slope:
    the fixed slope of a "pwl" kernel (z > 0 ? z : slope·z); learned: one slope per layer is trained."""

    fn: Fn
    derivative: Fn
    kernel: str
    slope: float = 0.0
    learned: bool = False


REGISTRY: dict[str, ActivationSpec] = {
    "identity": ActivationSpec(lambda h, s=None: h, lambda z, s=None: torch.ones_like(z), "pwl", 1.0),
    "relu": ActivationSpec(lambda h, s=None: torch.relu(h), lambda z, s=None: (z > 0).to(z.dtype), "pwl", 0.0),
    "sigmoid": ActivationSpec(lambda h, s=None: torch.sigmoid(h), _sigmoid_derivative, "sigmoid"),
    "tanh": ActivationSpec(lambda h, s=None: torch.tanh(h), lambda z, s=None: 1 - torch.tanh(z).pow(2), "tanh"),
    "leakyrelu": ActivationSpec(lambda h, s=None: torch.nn.functional.leaky_relu(h, LEAKY_SLOPE), lambda z, s=None: _step(z, LEAKY_SLOPE),
                                "pwl", LEAKY_SLOPE),  # fmt: skip
    "prelu": ActivationSpec(lambda h, s: torch.where(h >= 0, h, s * h), lambda z, s: _step(z, s), "pwl", learned=True),
    "gelu": ActivationSpec(lambda h, s=None: torch.nn.functional.gelu(h), _gelu_derivative, "gelu"),
}
ACTIVATIONS: tuple[str, ...] = tuple(REGISTRY)
LEARNED = frozenset(name for name, a in REGISTRY.items() if a.learned)  # a learned slope per layer
# The CLI's choices, from the registry.
Activation = Enum("Activation", {name: name for name in ACTIVATIONS}, type=str)


def spec(name: str) -> ActivationSpec:
    """The registry's entry; an unknown name is a SettingsError naming --activation."""
    try:
        return REGISTRY[name]
    except (KeyError, TypeError):
        raise SettingsError("--activation", f"unknown activation {name!r}; choose from {', '.join(ACTIVATIONS)}") from None


def _apply(name: str, h: torch.Tensor, slope: torch.Tensor | None = None) -> torch.Tensor:
    """Apply activation `name` to h; `slope` (broadcastable to h) is used by a learned one only."""
    return spec(name).fn(h, slope)


def _derivative(name: str, pre: torch.Tensor, slope: torch.Tensor | None = None) -> torch.Tensor:
    """d act(z) / dz at the pre-activation z, elementwise, differentiable where the activation is."""
    return spec(name).derivative(pre, slope)


def __getattr__(name: str):
    """`apply` and `derivative` (above, as _apply and _derivative), served once torch is bound
    here (PEP 562). The registry's names and kernels are read without torch (the denoise command,
    settings, tables: about 2 s of start-up); its functions call torch. Every module that runs
    an activation imports apply or derivative by name, or imports one that does, so torch is bound
    before torch.compile traces any of them (a first import inside a trace breaks fullgraph)."""
    if name in ("apply", "derivative"):
        import torch

        globals().update(torch=torch, apply=_apply, derivative=_derivative)
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
