"""The eager form of the fused training step: a tape of kernels on buffers allocated once.

`build(f, B)` records one forward and hand-written backward pass of Fused `f` for batch size B as
a list of (kernel, args, kwargs) with every buffer bound, so a step is `run(tape)`: no allocation,
slicing or autograd bookkeeping is left to do per step (benchmarks/README.md measures why).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from sigdenoise.train.kernels import emit_activation

Tape = list  # a step's kernels with their buffers bound: (fn, args, kwargs), run in order


def run(tape: Tape) -> None:
    for fn, args, kwargs in tape:
        fn(*args, **kwargs)


def emit_slope_grad(tape: Tape, g, z, tmp, prelu: tuple[int, int], out: torch.Tensor) -> None:
    """Append out[prelu] (P,) <- dL/ds of the prelu members: sum over batch and units of
    g * min(z, 0); g, z, tmp (M, B, h)."""
    a, b = prelu
    if b > a:
        t = tmp[a:b]
        tape += [(torch.clamp_max, (z[a:b], 0), {"out": t}), (torch.mul, (t, g[a:b]), {"out": t}),
                 (torch.sum, (t,), {"dim": (1, 2), "out": out[a:b]})]  # fmt: skip


@dataclass
class Layer:
    """Views of one fused layer into the flat parameters and gradients."""

    kind: str  # "shared" (input (B, d) for all), "first" (input (M, B, d)), "hidden", "last"
    W: torch.Tensor  # (M, d_in, d_out); "shared": (d, M*d_out)
    b: torch.Tensor  # (M, 1, d_out); "shared": (M*d_out,)
    gW: torch.Tensor
    gb: torch.Tensor
    groups: list | None = None  # kernel groups; None: no activation (the decoder's output)
    prelu: tuple[int, int] = (0, 0)
    slope: torch.Tensor | None = None  # (M, 1, 1)
    gslope: torch.Tensor | None = None  # (M,)


def build(f, B: int) -> tuple[torch.Tensor, Tape]:
    """The step of Fused `f` for batch size B as a tape of kernels on buffers allocated once: no
    allocation, slicing or autograd bookkeeping is left to do per step."""
    M, d = len(f.members), f.dec[-1].W.shape[-1]
    new = lambda *shape: torch.empty(shape, dtype=f.flat.dtype, device=f.flat.device)  # noqa: E731
    x = new(B, d) if f.shared else new(M, B, d)
    tape: Tape = []
    saved: list = []
    h = _emit_forward(tape, f.enc, x, saved, new)  # (M, B, 5)
    if f.mid:
        h = _emit_middle(tape, f, h, lambda hm: _emit_forward(tape, f.mid, hm, saved, new), new, in_place=False)
    h = _emit_forward(tape, f.dec[:-1], h, saved, new)  # (M, B, 50)
    # Output layer straight into out - x = h W + (b - x), then its squared norm per member.
    last, diff, norm = f.dec[-1], new(M, B, d), new(M)
    tape += [(torch.sub, (last.b, x), {"out": diff}), (torch.Tensor.baddbmm_, (diff, h, last.W), {}),
             (torch.linalg.vector_norm, (diff,), {"dim": (1, 2), "out": norm}),
             (torch.Tensor.addcmul_, (f.sse, norm, norm), {})]  # fmt: skip
    # Backward from dL/dout = out - x; the factor 2 / (B d) is applied once, at the end.
    g = new(*h.shape)
    tape += [(torch.bmm, (h.transpose(1, 2), diff), {"out": last.gW}),
             (torch.sum, (diff,), {"dim": 1, "keepdim": True, "out": last.gb}),
             (torch.bmm, (diff, last.W.transpose(1, 2)), {"out": g})]  # fmt: skip
    g = _emit_backward(tape, f.dec[:-1], g, saved, new)  # dL/dh (M, B, 5)
    if f.mid:
        g = _emit_middle(tape, f, g, lambda gm: _emit_backward(tape, f.mid, gm, saved, new), new, in_place=True)
    _emit_backward(tape, f.enc, g, saved, new)
    tape.append((torch.Tensor.mul_, (f.grad, 2.0 / (B * d)), {}))
    return x, tape

def _emit_middle(tape: Tape, f, h: torch.Tensor, emit, new, in_place: bool) -> torch.Tensor:
    """Latent 1's middle layers, emit(h_mid), on its members of h (M, B, k): all of them, or the
    subset at f.mid_idx gathered and scattered back, into h itself (in_place) or into a copy."""
    if f.mid_all:
        return emit(h)
    sub = new(len(f.mid_pos), h.shape[1], h.shape[-1])
    tape.append((torch.index_select, (h, 0, f.mid_idx), {"out": sub}))
    out = emit(sub)
    dst = h
    if not in_place:
        dst = new(*h.shape)
        tape.append((torch.Tensor.copy_, (dst, h), {}))
    tape.append((torch.Tensor.index_copy_, (dst, 0, f.mid_idx, out), {}))
    return dst


def _emit_forward(tape: Tape, layers: list[Layer], h: torch.Tensor, saved: list, new) -> torch.Tensor:
    for L in layers:
        B, k = h.shape[-2], L.W.shape[-1]
        if L.kind == "shared":  # (B, d) @ (d, M*h) -> z (B, M, h), used as (M, B, h)
            z2 = new(B, k)
            z = z2.view(B, L.slope.shape[0], -1).transpose(0, 1)
            tape.append((torch.addmm, (L.b, h, L.W), {"out": z2}))
        else:
            z = new(h.shape[0], B, k)
            tape.append((torch.baddbmm, (L.b, h, L.W), {"out": z}))
        # d = f'(z) and its scratch laid out as z, as dL/dz must be for the weight gradient.
        y, d, tmp = new(*z.shape), torch.empty_like(z), torch.empty_like(z)
        emit_activation(tape, z, y, d, tmp, L.groups, L.slope)
        saved.append((L, h, z, d, tmp))
        h = y
    return h

def _emit_backward(tape: Tape, layers: list[Layer], g: torch.Tensor, saved: list, new) -> torch.Tensor | None:
    """g: dL/dy of the last of `layers`; returns dL/dh of the first one's input."""
    for _ in layers:
        L, h, z, d, tmp = saved.pop()
        emit_slope_grad(tape, g, z, tmp, L.prelu, L.gslope)
        tape.append((torch.mul, (g, d), {"out": d}))  # d becomes dL/dz
        if L.kind == "shared":
            gz = d.transpose(0, 1).reshape(d.shape[1], -1)  # (B, M*k), a view
            tape += [(torch.mm, (h.T, gz), {"out": L.gW}), (torch.sum, (gz,), {"dim": 0, "out": L.gb})]
            return None
        tape += [(torch.bmm, (h.transpose(1, 2), d), {"out": L.gW}),
                 (torch.sum, (d,), {"dim": 1, "keepdim": True, "out": L.gb})]  # fmt: skip
        if L.kind == "first":
            return None
        g = new(*h.shape)
        tape.append((torch.bmm, (d, L.W.transpose(1, 2)), {"out": g}))
    return g
