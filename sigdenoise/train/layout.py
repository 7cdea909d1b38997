"""The flat parameter layout of a fused ensemble, by name: where each stacked tensor lives in the one
1-D buffer that the optimizer steps, so that the tape, the compiled step and the write-back read
the same entries without index arithmetic.

Names: W0..W7 and b0..b7 the eight outer layers (encoder 100-50-25-10-5, decoder 5-10-25-50-100),
Wmid0, bmid0, Wmid1, bmid1 the latent-1 members' 5-1-5 middle, `slopes` (7, M) the activation
slopes of the outer layers and `mid_slopes` (2, M1) those of the middle.
"""

from __future__ import annotations

import math

import torch

N_OUTER = 8  # outer layers, shared by both latents
N_MID = 2  # latent 1's extra layers in the middle


def outer(t: int) -> tuple[str, str]:
    return f"W{t}", f"b{t}"


def middle(k: int) -> tuple[str, str]:
    return f"Wmid{k}", f"bmid{k}"


class Layout:
    """Named (offset, shape) entries of a flat buffer, in the order they were added."""

    def __init__(self, entries: list[tuple[str, tuple[int, ...]]]):
        self.spans: tuple[tuple[str, int, tuple[int, ...]], ...] = ()
        offset = 0
        for name, shape in entries:
            self.spans += ((name, offset, tuple(shape)),)
            offset += math.prod(shape)
        self.size = offset

    def views(self, buf: torch.Tensor) -> dict[str, torch.Tensor]:
        """Each entry as a view into buf (P,)."""
        return {name: buf[o : o + math.prod(shape)].view(shape) for name, o, shape in self.spans}

    def flatten(self, tensors: dict[str, torch.Tensor]) -> torch.Tensor:
        """The buffer (P,) holding `tensors` by name."""
        return torch.cat([tensors[name].reshape(-1) for name, _, _ in self.spans])
