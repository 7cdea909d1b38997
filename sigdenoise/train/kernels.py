"""The stacked trainer's activation kernels: each kernel family in its two forms, the eager tape's
(`emit`: kernels appended to a tape, on preallocated buffers) and the compiled step's (`fused`: a
pure function that inductor fuses), both computing y = f(z) and d = f'(z) in the forward pass.

Which activation uses which kernel is the activation registry's word (models/activations.py).
Four activations are one kernel, "pwl", z > 0 ? z : s·z with a slope per member: identity (s = 1),
relu (0), leakyrelu (0.01) and prelu (learned); values equal the lone models' to the bit. An
activation whose kernel is not here cannot be trained stacked: `kernel` raises.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from sigdenoise.models.activations import ACTIVATIONS, REGISTRY

_aten = torch.ops.aten
_SQRT1_2 = 1 / math.sqrt(2)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)


def _emit_pwl(tape, za, ya, da, tmp, one, slope) -> None:
    # d = [z > 0] + [z <= 0] * s, with 0/1 floats: exact; y = z * d
    tape += [(torch.gt, (za, 0), {"out": da}), (torch.le, (za, 0), {"out": tmp}),
             (torch.addcmul, (da, tmp, slope), {"out": da}), (torch.mul, (za, da), {"out": ya})]  # fmt: skip


def _emit_gelu(tape, za, ya, da, tmp, one, slope) -> None:
    tape += [(_aten.gelu.out, (za,), {"out": ya}), (_aten.gelu_backward.grad_input, (one, za), {"grad_input": da})]


def _emit_from_output(fn, backward) -> Callable:
    """sigmoid and tanh: y = fn(z), and the derivative from y by aten's own backward kernel."""

    def emit(tape, za, ya, da, tmp, one, slope) -> None:
        tape += [(fn, (za,), {"out": ya}), (backward.grad_input, (one, ya), {"grad_input": da})]

    return emit


def _fused_pwl(za, slope):
    d = torch.where(za > 0, 1.0, slope)
    return za * d, d


def _fused_sigmoid(za, slope):
    y = torch.sigmoid(za)
    return y, y * (1 - y)


def _fused_tanh(za, slope):
    y = torch.tanh(za)
    return y, 1 - y * y


def _fused_gelu(za, slope):  # exact gelu: z Phi(z); derivative Phi(z) + z phi(z)
    phi_cdf = 0.5 * (1 + torch.erf(za * _SQRT1_2))
    return za * phi_cdf, phi_cdf + za * torch.exp(-0.5 * za * za) * _INV_SQRT_2PI


def _second_sigmoid(za):
    s = torch.sigmoid(za)
    return s * (1 - s) * (1 - 2 * s)


def _second_tanh(za):
    y = torch.tanh(za)
    return -2 * y * (1 - y * y)


def _second_gelu(za):  # d/dz (Phi(z) + z phi(z)) = phi(z) (2 - z^2)
    return torch.exp(-0.5 * za * za) * _INV_SQRT_2PI * (2 - za * za)


@dataclass(frozen=True)
class Kernel:
    """emit(tape, z, y, d, tmp, one, slope): append the kernels y <- f(z), d <- f'(z) on a group's
    slices; fused(z, slope) -> (y, d) for the compiled step. slope (m, 1, 1). second(z) -> f''(z),
    which the contractive penalty's gradient needs; None where it is 0 (piecewise linear)."""

    emit: Callable
    fused: Callable
    second: Callable | None = None


KERNELS: dict[str, Kernel] = {
    "pwl": Kernel(_emit_pwl, _fused_pwl),
    "sigmoid": Kernel(_emit_from_output(torch.sigmoid, _aten.sigmoid_backward), _fused_sigmoid, _second_sigmoid),
    "tanh": Kernel(_emit_from_output(torch.tanh, _aten.tanh_backward), _fused_tanh, _second_tanh),
    "gelu": Kernel(_emit_gelu, _fused_gelu, _second_gelu),
}


def kernel(activation: str) -> str:
    """The kernel family of an activation; one without a kernel here raises."""
    k = REGISTRY[activation].kernel
    if k not in KERNELS:
        raise ValueError(f"activation {activation!r} names kernel {k!r}, which train/kernels.py does not have")
    return k


def _order_key(activation: str) -> tuple:
    k = kernel(activation)
    return list(KERNELS).index(k), REGISTRY[activation].learned, ACTIVATIONS.index(activation)


# Members sorted in this order make each kernel's members one contiguous slice, and the learned
# ones one slice within theirs: identity, relu, leakyrelu, prelu, sigmoid, tanh, gelu.
KERNEL_ORDER: tuple[str, ...] = tuple(sorted(ACTIVATIONS, key=_order_key))


def kernel_groups(activations: list[str]) -> tuple[list[tuple[str, int, int]], tuple[int, int]]:
    """Contiguous (kernel, start, stop) slices of members sorted by KERNEL_ORDER, and the slice
    (start, stop) of the members with learned slopes."""
    groups: list[tuple[str, int, int]] = []
    for i, a in enumerate(activations):
        k = kernel(a)
        if groups and groups[-1][0] == k:
            groups[-1] = (k, groups[-1][1], i + 1)
        else:
            groups.append((k, i, i + 1))
    learned = [i for i, a in enumerate(activations) if REGISTRY[a].learned]
    return groups, ((learned[0], learned[-1] + 1) if learned else (0, 0))


def emit_activation(tape: list, z, y, d, tmp, groups: list, slope: torch.Tensor) -> None:
    """Append the kernels y <- f(z) and d <- f'(z); z, d, tmp (M, B, h) of any strides, y too;
    slope (M, 1, 1); tmp is scratch.

    The derivative is taken in the forward pass, with vectorised kernels, so that the backward
    pass is one multiply for all members: aten's own prelu and where kernels branch per element
    and cost ~10 ns per element on random signs, 30x a multiply.
    """
    one = torch.ones_like(z)  # dense: aten's backward kernels are 1.5x slower on a broadcast 1
    for k, a, b in groups:
        KERNELS[k].emit(tape, z[a:b], y[a:b], d[a:b], tmp[a:b], one[a:b], slope[a:b])


def second_derivative(z: torch.Tensor, groups) -> torch.Tensor | None:
    """f''(z) for members in kernel groups, z (M, h, B); None where every group's is 0."""
    if all(KERNELS[k].second is None for k, _, _ in groups):
        return None
    parts = [KERNELS[k].second(z[a:b]) if KERNELS[k].second is not None else torch.zeros_like(z[a:b]) for k, a, b in groups]
    return parts[0] if len(parts) == 1 else torch.cat(parts)


def activate(z: torch.Tensor, groups, slope: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The compiled step's y = f(z) and d = f'(z) for members in kernel groups; z (M, h, B)."""
    ys, ds = [], []
    for k, a, b in groups:
        y, d = KERNELS[k].fused(z[a:b], slope[a:b])
        ys.append(y)
        ds.append(d)
    if len(ys) == 1:
        return ys[0], ds[0]
    return torch.cat(ys), torch.cat(ds)
