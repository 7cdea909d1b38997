"""The autoencoder variants of the source material (issue 6), as settings and per-member losses.

plain        the study's training: x -> x on clean signals
denoising    corrupted input, clean target: gaussian (at a noise level), masking or salt-and-pepper
sparse       + weight * (KL(rho || rho_hat) summed over code units, or the L1 norm of the code)
contractive  + weight * ||d code / d x||_F^2
vae          Gaussian encoder, reparameterised code, + beta * KL(q(z|x) || N(0, I)); denoising
             uses the mean of the code
The loss may be MSE, or binary cross-entropy on signals scaled to [0, 1] with a sigmoid output.
All functions work on stacked tensors (M, B, ...) and return one value per member.

A variant is one entry of OBJECTIVES: its penalty, whether its inputs are corrupted, whether it
needs the encoder's Jacobian, and whether its code is Gaussian; its weight is a VariantSettings
field. The vmapped engine (train/vmapped.py) reads nothing else of it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F

from sigdenoise.errors import require
from sigdenoise.train import penalties

NOISE_KINDS = ("gaussian", "masking", "salt-pepper")
SPARSE_KINDS = ("kl", "l1")
LOSSES = ("mse", "bce")
# Signals are mapped into [0, 1] for the cross-entropy loss by a fixed affine map: the families
# stay within +-sqrt(2), so [-1.5, 1.5] holds every clean signal.
BCE_RANGE = (-1.5, 1.5)
MAX_WEIGHT = 1e6  # the largest penalty weight: beyond it the penalty swamps (or overflows) the loss


@dataclass(frozen=True)
class VariantSettings:
    """Run-wide settings of the variants (CLI options of `grid` and `train`)."""

    train_noise_kind: str = "gaussian"
    """Corruption of the denoising variant; gaussian uses the grid's noise level."""
    train_noise_rate: float = 0.25
    """nu: probability that masking zeroes a sample / salt-and-pepper replaces it."""
    sparse_kind: str = "kl"
    sparse_weight: float = 1e-3
    rho: float = 0.05
    contractive_weight: float = 1e-3
    beta: float = 1e-3
    """beta of the VAE's KL term (1 is the ELBO with unit-variance Gaussian likelihood x 2)."""
    loss: str = "mse"

    def __post_init__(self) -> None:
        require(self.train_noise_kind in NOISE_KINDS, "--train-noise-kind", f"must be one of {', '.join(NOISE_KINDS)}")
        require(0 <= self.train_noise_rate < 1, "--train-noise-rate", f"must be in [0, 1), got {self.train_noise_rate}")
        require(self.sparse_kind in SPARSE_KINDS, "--sparse-kind", f"must be one of {', '.join(SPARSE_KINDS)}")
        for option, weight in (("--sparse-weight", self.sparse_weight), ("--contractive-weight", self.contractive_weight),
                               ("--beta", self.beta)):  # fmt: skip
            # inf or a huge weight makes the loss non-finite: refuse it before training.
            require(math.isfinite(weight) and 0 <= weight <= MAX_WEIGHT, option, f"must be finite, in [0, {MAX_WEIGHT:g}], got {weight}")
        require(0 < self.rho < 1, "--rho", f"must be in (0, 1), got {self.rho}")
        require(self.loss in LOSSES, "--loss", f"must be one of {', '.join(LOSSES)}")


def to_unit(x: torch.Tensor) -> torch.Tensor:
    lo, hi = BCE_RANGE
    return (x - lo) / (hi - lo)


def from_unit(u: torch.Tensor) -> torch.Tensor:
    lo, hi = BCE_RANGE
    return u * (hi - lo) + lo


def corrupt(x: torch.Tensor, kind: str, level: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Corrupt each member's copy of a batch. x (M, B, d); level (M, 1, 1): the gaussian noise level
    or the masking / salt-and-pepper rate nu of each member (0 leaves a member's input clean).
    The draws are made on the generator's device (a CPU generator: CPU) and moved to x's, so a
    seed gives the same corruption on CPU and CUDA (a CPU generator cannot draw CUDA tensors)."""
    where = generator.device if generator is not None else x.device
    if kind == "gaussian":
        return x + level * torch.randn(x.shape, generator=generator, dtype=x.dtype, device=where).to(x.device)
    u = torch.rand(x.shape, generator=generator, dtype=x.dtype, device=where).to(x.device)
    if kind == "masking":
        return torch.where(u < level, torch.zeros_like(x), x)
    if kind == "salt-pepper":
        lo = x.amin(-1, keepdim=True).expand_as(x)
        hi = x.amax(-1, keepdim=True).expand_as(x)
        out = torch.where(u < level / 2, lo, x)
        return torch.where((u >= level / 2) & (u < level), hi, out)
    raise ValueError(f"unknown corruption {kind!r}")


def reconstruction_loss(out: torch.Tensor, target: torch.Tensor, loss: str) -> torch.Tensor:
    """Per-member loss, (M,). For bce `out` holds logits and `target` signals in the original
    scale; both are compared in [0, 1]."""
    if loss == "bce":
        t = to_unit(target).clamp(0, 1)
        return F.binary_cross_entropy_with_logits(out, t, reduction="none").mean((-1, -2))
    return (out - target).pow(2).mean((-1, -2))


@dataclass(frozen=True)
class Parts:
    """What one member's forward pass keeps for the penalties (train/vmapped.forward_parts):
    code and its pre-activation (B, k); the encoder's weights and activation derivatives; the
    VAE's mu and logvar (B, k), None for the others."""

    code: torch.Tensor | None
    pre_code: torch.Tensor | None
    jacobian: tuple[list, list]
    mu: torch.Tensor | None
    logvar: torch.Tensor | None


def _sparse(p: Parts, vs: VariantSettings) -> torch.Tensor:
    pen = penalties.kl_sparsity(p.pre_code, vs.rho) if vs.sparse_kind == "kl" else penalties.l1_code(p.code)
    return vs.sparse_weight * pen


def _contractive(p: Parts, vs: VariantSettings) -> torch.Tensor:
    ws, ds = p.jacobian  # jacobian_frobenius wants a member axis: give it one member
    return vs.contractive_weight * penalties.jacobian_frobenius([w[None] for w in ws], [d[None] for d in ds])[0]


def _vae(p: Parts, vs: VariantSettings) -> torch.Tensor:
    return vs.beta * penalties.vae_kl(p.mu, p.logvar)


@dataclass(frozen=True)
class Objective:
    """One variant: penalty(parts, settings) added to the reconstruction loss (None: nothing);
    corrupts: its inputs are corrupted (clean targets); jacobian: its penalty needs the encoder's
    activation derivatives; gaussian_code: its code layer emits a mean and a log-variance."""

    penalty: Callable[[Parts, VariantSettings], torch.Tensor] | None = None
    corrupts: bool = False
    jacobian: bool = False
    gaussian_code: bool = False


OBJECTIVES: dict[str, Objective] = {
    "plain": Objective(),
    "denoising": Objective(corrupts=True),
    "sparse": Objective(_sparse),
    "contractive": Objective(_contractive, jacobian=True),
    "vae": Objective(_vae, gaussian_code=True),
}
VARIANTS: tuple[str, ...] = tuple(OBJECTIVES)


class VariantObjective(NamedTuple):
    """A variant's loss as plain values, what train/variant_step.py computes (a compiled step
    reads nothing else): the reconstruction loss, the code's sparsity penalty (kl, l1 or None)
    and weight, rho, whether the code is a VAE's (with the KL weight beta), and the contractive
    penalty's weight (0: none)."""

    loss: str = "mse"
    sparse: str | None = None
    sparse_weight: float = 0.0
    rho: float = 0.05
    vae: bool = False
    beta: float = 0.0
    contractive_weight: float = 0.0


def variant_objective(variant: str, vs: VariantSettings, loss: str) -> VariantObjective:
    """The VariantObjective of a member's variant and loss under run settings `vs`."""
    sparse = variant == "sparse"
    return VariantObjective(loss, vs.sparse_kind if sparse else None, vs.sparse_weight if sparse else 0.0, vs.rho,
                            OBJECTIVES[variant].gaussian_code, vs.beta,
                            vs.contractive_weight if OBJECTIVES[variant].jacobian else 0.0)  # fmt: skip
