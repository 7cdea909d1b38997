"""The fused training step as one pure function, for torch.compile.

`Fused`'s tape runs a step as ~175 separate eager kernels; most of its time is their calls and
their memory passes, not arithmetic. Written as one function of (flat parameters, batch), the
same step compiles (inductor) into the matmuls, still MKL's, and a few fused C++ loops for
everything between them: biases, activations and their derivatives, gradient products and sums.
benchmarks/README.md measures what that buys.

Activations run feature-major, h (M, units, B): the batch is the contiguous axis, so each fused
loop runs over 256 contiguous floats per unit whatever the layer's width (5 or 50), and each
bias is a scalar per row. The parameters keep `Fused`'s layout, W (M, d_in, d_out), read
through transposed views; nothing is copied.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import torch

_SQRT1_2 = 1 / math.sqrt(2)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)


def activate(z: torch.Tensor, groups: list, slope: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """y = f(z) and d = f'(z) for members in kernel groups; z (M, h, B), slope (M, 1, 1)."""
    ys, ds = [], []
    for k, a, b in groups:
        za = z[a:b]
        if k == "pwl":  # identity, relu, leakyrelu, prelu: z > 0 ? z : s z
            d = torch.where(za > 0, 1.0, slope[a:b])
            y = za * d
        elif k == "sigmoid":
            y = torch.sigmoid(za)
            d = y * (1 - y)
        elif k == "tanh":
            y = torch.tanh(za)
            d = 1 - y * y
        else:  # exact gelu: z Phi(z); derivative Phi(z) + z phi(z)
            phi_cdf = 0.5 * (1 + torch.erf(za * _SQRT1_2))
            y = za * phi_cdf
            d = phi_cdf + za * torch.exp(-0.5 * za * za) * _INV_SQRT_2PI
        ys.append(y)
        ds.append(d)
    if len(ys) == 1:
        return ys[0], ds[0]
    return torch.cat(ys), torch.cat(ds)


def _bmm(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a (M, m, k) @ b (M, k, n); when one side is a single row or column (latent 1's 5-1-5), a
    broadcast product and sum that inductor fuses with its neighbours instead of a matmul call."""
    if a.shape[-1] == 1:
        return a * b
    if a.shape[-2] == 1:
        return (a.transpose(1, 2) * b).sum(1, keepdim=True)
    return torch.bmm(a, b)


def make_step(f) -> Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """The step of Fused `f` as step(flat (P,), x) -> (grad (P,), sse (M,)).

    x is (B, d) when f's members share one seed, else (M, B, d); grad is the gradient of the mean
    squared error of each member in f.flat's layout (the fixed slopes' entries 0), sse each
    member's summed squared error. Pure: it reads flat and x and writes nothing."""
    # Only plain values below: every object the step reads is a guard dynamo checks at each call.
    M, M1, mid_all = len(f.members), len(f.mid_pos), f.mid_all
    mid_idx = f.mid_idx
    spans, o = [], 0
    for shape in f.shapes:
        spans.append((o, tuple(shape)))
        o += shape.numel()
    spans = tuple(spans)

    def spec(layers) -> tuple:
        return tuple(_Spec(L.kind, tuple(L.groups or ()), L.prelu) for L in layers)

    enc, dec, mid = spec(f.enc), spec(f.dec), spec(f.mid)
    n_outer = 8

    def forward(layers, h, W, b, slopes, saved, first: int):
        """Run `layers` (activations on each) from h (M, k, B); W, b: parameter views."""
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

    def backward(g, W, grads, gslopes, saved, n: int):
        """Back through the last n saved layers from g = dL/dy (M, h, B); returns dL/dh."""
        for _ in range(n):
            L, t, h, z, d = saved.pop()
            a, b = L.prelu
            if b > a:
                gslopes[t] = (g[a:b] * torch.clamp_max(z[a:b], 0)).sum((1, 2))
            gz = g * d
            if L.kind == "shared":  # dW (d, M*h) = x^T (d, B) @ gz^T (B, M*h)
                grads[t] = (h @ gz.reshape(-1, gz.shape[-1]).T, gz.sum(2).reshape(-1))
                return None
            grads[t] = (_bmm(h, gz.transpose(1, 2)), gz.sum(2).unsqueeze(1))
            if L.kind == "first":
                return None
            g = _bmm(W[t], gz)
        return g

    def step(flat: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        v = [flat[a : a + math.prod(shape)].view(shape) for a, shape in spans]
        n_mid = len(mid)
        # Parameters by position: outer layers 0-7, then the middle ones as 8, 9.
        W = [v[2 * t] for t in range(n_outer)] + [v[16 + 2 * k] for k in range(n_mid)]
        b = [v[2 * t + 1] for t in range(n_outer)] + [v[17 + 2 * k] for k in range(n_mid)]
        sl = v[20] if n_mid else v[16]  # (7, M)
        slopes = {t: sl[t].view(-1, 1, 1) for t in range(7)}  # by position; the output layer has none
        slopes.update({n_outer + k: v[21][k].view(-1, 1, 1) for k in range(n_mid)})
        xT = x.transpose(-1, -2)  # (d, B) or (M, d, B)
        saved: list = []
        h = forward(enc, xT, W, b, slopes, saved, 0)  # (M, 5, B)
        if n_mid:
            hm = h if mid_all else h.index_select(0, mid_idx)
            ym = forward(mid, hm, W, b, slopes, saved, n_outer)
            h = ym if mid_all else h.index_copy(0, mid_idx, ym)
        h = forward(dec[:-1], h, W, b, slopes, saved, 4)  # (M, 50, B)
        out = torch.bmm(W[7].transpose(1, 2), h) + b[7].transpose(1, 2)
        diff = out - xT  # dL/dout up to the factor 2 / (B d), applied at the end
        sse = (diff * diff).sum((1, 2))
        grads: dict = {7: (torch.bmm(h, diff.transpose(1, 2)), diff.sum(2).unsqueeze(1))}
        gslopes: dict = {}
        g = torch.bmm(W[7], diff)
        g = backward(g, W, grads, gslopes, saved, 3)  # dL/dh (M, 5, B)
        if n_mid:
            gm = g if mid_all else g.index_select(0, mid_idx)
            gm = backward(gm, W, grads, gslopes, saved, n_mid)
            g = gm if mid_all else g.index_copy(0, mid_idx, gm)
        backward(g, W, grads, gslopes, saved, 4)
        parts = []
        for t in list(range(n_outer)) + [n_outer + k for k in range(n_mid)]:
            parts += [grads[t][0].reshape(-1), grads[t][1].reshape(-1)]
        parts.append(_slope_rows(gslopes, range(7), enc[0], M, flat))
        if n_mid:
            parts.append(_slope_rows(gslopes, range(n_outer, n_outer + n_mid), mid[0], M1, flat))
        scale = 2.0 / (x.shape[-2] * x.shape[-1])
        return torch.cat(parts) * scale, sse

    # dynamo caches compiled graphs per code object, and every make_step's `step` shares one; with
    # only the tensors' guards kept (Fused.compile), a second ensemble of the same shapes would
    # run the first one's graph. A code object of its own gives each step its own cache.
    step.__code__ = step.__code__.replace()
    return step


class _Spec(NamedTuple):
    """What the step needs of a fused layer (ensemble._Layer): kind, kernel groups, prelu slice."""

    kind: str
    groups: tuple
    prelu: tuple[int, int]


def _slope_rows(gslopes: dict, rows, layer, m: int, like: torch.Tensor) -> torch.Tensor:
    """The slope gradients (len(rows), m) flattened: the prelu members' columns, zeros elsewhere."""
    a, b = layer.prelu
    out = []
    for t in rows:
        if b > a:
            out.append(torch.cat([like.new_zeros(a), gslopes[t], like.new_zeros(m - b)]))
        else:
            out.append(like.new_zeros(m))
    return torch.cat(out)
