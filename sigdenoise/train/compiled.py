"""The fused training step as one pure function, for torch.compile.

`Fused`'s tape runs a step as ~175 separate eager kernels; most of its time is their calls and
their memory passes, not arithmetic. Written as one function of (flat parameters, batch), the
same step compiles (inductor) into the matmuls, still MKL's, and a few fused C++ loops for
everything between them: biases, activations and their derivatives, gradient products and sums.
benchmarks/README.md measures what that buys.

Activations run feature-major, h (M, units, B): the batch is the contiguous axis, so each fused
loop runs over 256 contiguous floats per unit whatever the layer's width (5 or 50), and each
bias is a scalar per row. The parameters keep `Fused`'s named layout (train/layout.py),
W (M, d_in, d_out), read through transposed views; nothing is copied.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import torch

from sigdenoise.train.kernels import activate
from sigdenoise.train.layout import N_OUTER, middle, outer


def compile_options() -> dict:
    """inductor's options for a fused step (the plain one, or a variant's)."""
    # cpp_wrapper: the compiled step's driver in C++ too, not ~300 Python calls (5 % a step).
    options: dict = {"cpp_wrapper": True}
    # The step reads only its tensors and constants fixed at make_step, so the tensors' guards
    # (shape, strides, dtype) are all that can change; the ~670 others on those constants cost
    # 50 us a call. (Older torch has no filter and checks them all.)
    keep = getattr(torch.compiler, "keep_tensor_guards_unsafe", None)
    if keep is not None:
        options["guard_filter_fn"] = keep
    return options


class LayerSpec(NamedTuple):
    """What the step needs of a fused layer (fused._Layer): kind, kernel groups, learned slice."""

    kind: str
    groups: tuple
    prelu: tuple[int, int]


def _bmm(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a (M, m, k) @ b (M, k, n); when one side is a single row or column (latent 1's 5-1-5), a
    broadcast product and sum that inductor fuses with its neighbours instead of a matmul call."""
    if a.shape[-1] == 1:
        return a * b
    if a.shape[-2] == 1:
        return (a.transpose(1, 2) * b).sum(1, keepdim=True)
    return torch.bmm(a, b)


def forward_layers(layers, h, W, b, slopes, saved, first: int, M: int):
    """Run `layers` (activations on each) from h (M, k, B), or (d, B) for a shared first layer;
    W, b, slopes: parameter views by layer position."""
    for i, L in enumerate(layers):
        t = first + i
        Wt, bt = W[t], b[t]
        if L.kind == "shared":  # (M*h, d) @ (d, B): every member's first layer in one mm
            B = h.shape[-1]
            z = (Wt.T @ h).view(M, -1, B) + bt.view(M, -1, 1)
        else:
            z = _bmm(Wt.transpose(1, 2), h) + bt.transpose(1, 2)
        y, d = activate(z, L.groups, slopes[t])
        saved.append((L, t, h, z, d))
        h = y
    return h


def backward_layers(g, W, grads, gslopes, saved, n: int, extra: dict | None = None):
    """Back through the last n saved layers from g = dL/dy (M, h, B); returns dL/dh (None once
    the first layer is reached). extra: gradients added to a layer's dL/dz by position t (a
    penalty's on the activations' derivatives)."""
    for _ in range(n):
        L, t, h, z, d = saved.pop()
        a, b = L.prelu
        if b > a:
            gslopes[t] = (g[a:b] * torch.clamp_max(z[a:b], 0)).sum((1, 2))
        gz = g * d
        if extra is not None and t in extra:
            gz = gz + extra[t]
        if L.kind == "shared":  # dW (d, M*h) = x^T (d, B) @ gz^T (B, M*h)
            grads[t] = (h @ gz.reshape(-1, gz.shape[-1]).T, gz.sum(2).reshape(-1))
            return None
        grads[t] = (_bmm(h, gz.transpose(1, 2)), gz.sum(2).unsqueeze(1))
        if L.kind == "first":
            return None
        g = _bmm(W[t], gz)
    return g


def _middle(f, h, fn):
    """Apply fn to latent 1's members of h (all of them, or the subset at mid_idx)."""
    if f.mid_all:
        return fn(h)
    return h.index_copy(0, f.mid_idx, fn(h.index_select(0, f.mid_idx)))


def slope_rows(gslopes: dict, rows, layer, m: int, like: torch.Tensor) -> torch.Tensor:
    """The slope gradients (len(rows), m) flattened: the learned members' columns, zeros elsewhere."""
    a, b = layer.prelu
    out = []
    for t in rows:
        if b > a:
            out.append(torch.cat([like.new_zeros(a), gslopes[t], like.new_zeros(m - b)]))
        else:
            out.append(like.new_zeros(m))
    return torch.cat(out)


class PlainValues(NamedTuple):
    """The plain values of a Fused that its step reads (every object the step reads is a guard
    dynamo checks at each call, so nothing else is captured)."""

    M: int
    M1: int
    mid_all: bool
    mid_idx: torch.Tensor
    spans: tuple
    enc: tuple
    dec: tuple
    mid: tuple


def plain_values(f) -> PlainValues:
    """What a step reads of Fused `f`, as plain values."""

    def spec(layers) -> tuple:
        return tuple(LayerSpec(L.kind, tuple(L.groups or ()), L.prelu) for L in layers)

    return PlainValues(len(f.members), len(f.mid_pos), f.mid_all, f.mid_idx, f.layout.spans, spec(f.enc), spec(f.dec), spec(f.mid))


def step_key(p: PlainValues) -> tuple:
    """p as a hashable value: two Fused with equal keys have the same step, the same function
    of (flat, x) (mid_idx by its values; every other field is a plain value already)."""
    i = p.mid_idx
    return tuple(p._replace(mid_idx=(tuple(i.flatten().tolist()), tuple(i.shape), str(i.dtype), str(i.device))))


def make_step(f) -> Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """The step of Fused `f` as step(flat (P,), x) -> (grad (P,), sse (M,)).

    x is (B, d) when f's members share one seed, else (M, B, d); grad is the gradient of the mean
    squared error of each member in f.flat's layout (the fixed slopes' entries 0), sse each
    member's summed squared error. Pure: it reads flat and x and writes nothing."""

    p = plain_values(f)

    def step(flat: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return _step(p, flat, x)

    # dynamo caches compiled graphs per code object, and every make_step's `step` shares one; with
    # only the tensors' guards kept (Fused.compile), a second ensemble of the same shapes would
    # run the first one's graph. A code object of its own gives each step its own cache.
    step.__code__ = step.__code__.replace()
    return step


def param_views(p: PlainValues, flat: torch.Tensor) -> tuple[list, list, dict]:
    """Weights, biases and slopes by layer position: outer layers 0-7, the middle ones 8, 9."""
    v = {name: flat[o : o + math.prod(shape)].view(shape) for name, o, shape in p.spans}
    n_mid = len(p.mid)
    names = [outer(t) for t in range(N_OUTER)] + [middle(k) for k in range(n_mid)]
    W, b = [v[w] for w, _ in names], [v[c] for _, c in names]
    slopes = {t: v["slopes"][t].view(-1, 1, 1) for t in range(N_OUTER - 1)}  # the output layer has none
    slopes.update({N_OUTER + k: v["mid_slopes"][k].view(-1, 1, 1) for k in range(n_mid)})
    return W, b, slopes


def _step(p: PlainValues, flat: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    W, b, slopes = param_views(p, flat)
    n_mid, last, half = len(p.mid), N_OUTER - 1, N_OUTER // 2
    xT = x.transpose(-1, -2)  # (d, B) or (M, d, B)
    saved: list = []
    h = forward_layers(p.enc, xT, W, b, slopes, saved, 0, p.M)  # (M, 5, B)
    if n_mid:
        h = _middle(p, h, lambda hm: forward_layers(p.mid, hm, W, b, slopes, saved, N_OUTER, p.M))
    h = forward_layers(p.dec[:-1], h, W, b, slopes, saved, half, p.M)  # (M, 50, B)
    out = torch.bmm(W[last].transpose(1, 2), h) + b[last].transpose(1, 2)
    diff = out - xT  # dL/dout up to the factor 2 / (B d), applied at the end
    sse = (diff * diff).sum((1, 2))
    grads: dict = {last: (torch.bmm(h, diff.transpose(1, 2)), diff.sum(2).unsqueeze(1))}
    gslopes: dict = {}
    g = backward_layers(torch.bmm(W[last], diff), W, grads, gslopes, saved, half - 1)  # dL/dh (M, 5, B)
    if n_mid:
        g = _middle(p, g, lambda gm: backward_layers(gm, W, grads, gslopes, saved, n_mid))
    backward_layers(g, W, grads, gslopes, saved, half)
    scale = 2.0 / (x.shape[-2] * x.shape[-1])
    return flat_gradient(p, grads, gslopes, flat) * scale, sse


def flat_gradient(p: PlainValues, grads: dict, gslopes: dict, flat: torch.Tensor) -> torch.Tensor:
    """The gradient (P,) in the flat layout, from each layer's (dW, db) by position and the
    learned slopes' gradients."""
    n_mid = len(p.mid)
    parts = []
    for t in list(range(N_OUTER)) + [N_OUTER + k for k in range(n_mid)]:
        parts += [grads[t][0].reshape(-1), grads[t][1].reshape(-1)]
    parts.append(slope_rows(gslopes, range(N_OUTER - 1), p.enc[0], p.M, flat))
    if n_mid:
        parts.append(slope_rows(gslopes, range(N_OUTER, N_OUTER + n_mid), p.mid[0], p.M1, flat))
    return torch.cat(parts)
