"""The variants' training step on the fused engine: train/compiled.py's step with a variant's loss.

One pure function of (flat parameters, corrupted input, clean target, VAE noise), the forward pass
and a hand-written backward pass, for torch.compile (inductor fuses everything between the
matmuls, as for the plain step). What a variant adds to the study's step, each by hand:
- denoising: nothing here: its input is corrupted before the step (vmapped._draw), its target clean;
- bce: input and target mapped into [0, 1], the loss binary cross-entropy on the output's logits,
  whose gradient is sigmoid(out) - target;
- sparse: at the code, the L1 penalty's sign(code) / B, or the KL sparsity's
  (-rho / rho_hat + (1 - rho) / (1 - rho_hat)) sigma'(z) / B on the pre-activation (0 where
  rho_hat is clamped, as autograd's clamp);
- vae: the code layer emits mu and log-variance, code = mu + eps exp(lv / 2), no activation; the
  KL term adds beta mu / B to mu's gradient and beta (exp(lv) - 1) / (2 B) to lv's;
- contractive: the encoder's Jacobian J = D_L W_L^T ... D_1 W_1^T per sample, built from the
  code's side, and the gradient of its squared norm back down the chain: to each weight, and to
  each D = f'(z), hence to z through f''(z) (train/kernels.py) and to a prelu's slope.
Gradients are carried in the reconstruction loss's units up to its factor (2 / (B d) for MSE,
1 / (B d) for BCE), the penalties' divided by it, and scaled once at the end, as the plain step.

A variant Fused holds members of one activation and one latent size (a vmapped group), so the
code is one layer for all: the last outer encoder layer (latent 5) or the first middle one (1).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import NamedTuple

import torch

from sigdenoise.models.autoencoder import Autoencoder
from sigdenoise.train.adam import FlatAdam
from sigdenoise.train.compiled import (
    PlainValues,
    backward_layers,
    compile_options,
    flat_gradient,
    forward_layers,
    param_views,
    plain_values,
)
from sigdenoise.train.fused import Fused
from sigdenoise.train.kernels import activate, second_derivative
from sigdenoise.train.layout import N_OUTER
from sigdenoise.train.members import Member
from sigdenoise.train.objectives import VariantObjective, VariantSettings, to_unit, variant_objective
from sigdenoise.train.penalties import EPS


class FusedGroup:
    """A group whose variant the fused engine has (objectives.Objective.fused), in its training
    form (fused.Fused.of_models) with FlatAdam: each step train/variant_step.py's hand-written
    forward and backward pass, compiled by inductor where `compile`. The same interface as
    vmapped._Group; it trains each member as vmapped._Group does (float64: tests/test_variants.py)."""

    def __init__(self, variant: str, models: list[Autoencoder], members: list[Member], vs: VariantSettings, lr: float,
                 compile: bool):  # fmt: skip
        self.variant, self.models = variant, models
        self.fused = Fused.of_models(models, members, variant_objective(variant, vs, members[0].loss))
        self.opt = FlatAdam(self.fused.flat, self.fused.grad, lr)
        self.eager = make_variant_step(self.fused)
        self.compiled = torch.compile(make_variant_step(self.fused), fullgraph=True, dynamic=False,
                                      options=compile_options()) if compile else None  # fmt: skip
        self.compiled_ok = False

    def step(self, x_in: torch.Tensor, target: torch.Tensor, eps: torch.Tensor, full: bool) -> torch.Tensor:
        """One Adam step on the batch (M_g, B, d); full batches take the compiled step. Returns
        the members' reconstruction losses (M_g,)."""
        args = (self.fused.flat, x_in, target, eps)
        if full and self.compiled is not None:
            grad, recon = compiled_or_eager(self, lambda: self.compiled(*args), lambda: self.eager(*args))
        else:
            grad, recon = self.eager(*args)
        self.opt.step(grad)
        return recon / (x_in.shape[-2] * x_in.shape[-1])

    def write(self) -> None:
        self.fused.write_models(self.models)


def compiled_or_eager(group, compiled: Callable, eager: Callable):
    """compiled()'s value; if it fails before it has ever run (compiling failed on the first
    call), warn, drop the group's compiled step for good and return eager()'s. group: a
    FusedGroup or a vmapped._Group (its `variant`, `compiled` and `compiled_ok`)."""
    try:
        out = compiled()
    except Exception as e:
        if group.compiled_ok:
            raise
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        warnings.warn(f"torch.compile of the {group.variant} training step failed, training uncompiled: {first}",
                      stacklevel=3)  # fmt: skip
        group.compiled = None
        return eager()
    group.compiled_ok = True
    return out


class _Variant(NamedTuple):
    """A variant Fused's plain values: its layers (as the plain step's) and its objective."""

    plain: PlainValues
    objective: VariantObjective
    latent: int


def make_variant_step(f) -> Callable:
    """The step of variant Fused `f` (fused.Fused.of_models) as
    step(flat (P,), x (M, B, d), target (M, B, d), eps (M, B, k)) -> (grad (P,), recon (M,)).

    x is each member's (corrupted) input, target its clean batch, eps the VAE's reparameterisation
    noise (read only by a VAE); grad is the gradient of each member's loss (reconstruction plus
    penalty) in f.flat's layout, recon each member's summed reconstruction loss over the batch."""

    p = _Variant(plain_values(f), f.objective, f.members[0].latent)

    def step(flat, x, target, eps):
        return _variant_step(p, flat, x, target, eps)

    step.__code__ = step.__code__.replace()  # its own dynamo cache (compiled.make_step says why)
    return step


def _contractive(enc: list, W: list, M: int, c: float) -> tuple[dict, dict, dict]:
    """The contractive penalty's gradient, c sum_b ||J_b||_F^2 with J_b = D_L W_L^T ... D_1 W_1^T
    (penalties.jacobian_frobenius, built from the code's side as there), by hand.

    enc: the encoder's saved layers (spec, t, input, z, d = f'(z)), first to the code layer; c the
    weight over the batch in the step's units. Returns, by layer t: dL/dz through each D's f''(z)
    (to add in the backward pass), dL/dW (M, d_in, d_out), and the prelu slopes' dL/ds through D's
    slope where z <= 0."""
    Ws = [W[t].view(W[t].shape[0], M, -1).transpose(0, 1) if L.kind == "shared" else W[t] for L, t, *_ in enc]
    ds = [d.transpose(1, 2) for *_, d in enc]  # (M, B, h) each
    n, B, k = len(enc), ds[0].shape[1], ds[-1].shape[-1]
    R = ds[-1].unsqueeze(-1) * Ws[-1].transpose(1, 2).unsqueeze(1)  # R_{n-1} = D W^T of the code layer, (M, B, k, d_in)
    Rs, Ss = [R], []
    for Wl, dl in zip(reversed(Ws[:-1]), reversed(ds[:-1])):  # R_i = (R_{i+1} D_i) W_i^T
        S = R * dl.unsqueeze(-2)
        R = torch.bmm(S.reshape(M, B * k, -1), Wl.transpose(1, 2)).view(M, B, k, -1)
        Ss.append(S)
        Rs.append(R)
    G = (2 * c) * R  # dP/dJ, J = R_0
    gW, gd = {}, [None] * n
    for i in range(n - 1):  # back up the chain from the input's side
        S, G2 = Ss[n - 2 - i], G.reshape(M, B * k, -1)
        gW[enc[i][1]] = torch.bmm(G2.transpose(1, 2), S.reshape(M, B * k, -1))
        GS = torch.bmm(G2, Ws[i]).view(M, B, k, -1)  # dP/dS_i
        gd[i] = (GS * Rs[n - 2 - i]).sum(2)  # dP/dD_i, (M, B, h)
        G = GS * ds[i].unsqueeze(-2)  # dP/dR_{i+1}
    gW[enc[-1][1]] = (G * ds[-1].unsqueeze(-1)).sum(1).transpose(1, 2)
    gd[-1] = (G * Ws[-1].transpose(1, 2).unsqueeze(1)).sum(-1)
    extra, gs = {}, {}
    for (L, t, _, z, _), g in zip(enc, gd):
        g = g.transpose(1, 2)  # (M, h, B)
        f2 = second_derivative(z, L.groups)
        if f2 is not None:
            extra[t] = g * f2
        a, b = L.prelu
        if b > a:  # D = [z > 0] + s [z <= 0]
            gs[t] = (g[a:b] * (z[a:b] <= 0)).sum((1, 2))
    return extra, gW, gs


def _variant_step(v: _Variant, flat, x, target, eps):
    p, o = v.plain, v.objective
    W, b, slopes = param_views(p, flat)
    M, half, last = p.M, N_OUTER // 2, N_OUTER - 1
    B, d = x.shape[-2], x.shape[-1]
    xT, tT = x.transpose(-1, -2), target.transpose(-1, -2)  # (M, d, B)
    if o.loss == "bce":
        xT, tT = to_unit(xT), to_unit(tT).clamp(0, 1)
    if p.enc[0].kind == "shared":  # one member: (d, B) through the one-matmul first layer
        xT = xT[0]
    # The encoder up to the code layer ct, then the code, then the decoder.
    before = list(p.enc) + ([p.mid[0]] if p.mid else [])
    ct = N_OUTER if p.mid else half - 1
    L = before.pop()
    saved_enc: list = []
    h_in = forward_layers(before, xT, W, b, slopes, saved_enc, 0, M)  # the code layer's input (M, h, B)
    z = torch.bmm(W[ct].transpose(1, 2), h_in) + b[ct].transpose(1, 2)
    if o.vae:
        k = v.latent
        mu, lv = z[:, :k], z[:, k:]
        std, epsT = torch.exp(0.5 * lv), eps.transpose(-1, -2)
        code = mu + epsT * std
    else:
        code, dcode = activate(z, L.groups, slopes[ct])
    saved_dec: list = []
    h = forward_layers(p.mid[1:], code, W, b, slopes, saved_dec, N_OUTER + 1, M)  # latent 1: 1 -> 5
    h = forward_layers(p.dec[:-1], h, W, b, slopes, saved_dec, half, M)  # (M, 50, B)
    out = torch.bmm(W[last].transpose(1, 2), h) + b[last].transpose(1, 2)
    if o.loss == "bce":
        diff = torch.sigmoid(out) - tT  # dL/dlogits up to 1 / (B d)
        # softplus(out) - out * t, torch's binary_cross_entropy_with_logits
        recon = (torch.clamp_min(out, 0) - out * tT + torch.log1p(torch.exp(-out.abs()))).sum((1, 2))
        scale = 1.0 / (B * d)
    else:
        diff = out - tT
        recon = (diff * diff).sum((1, 2))
        scale = 2.0 / (B * d)
    grads: dict = {last: (torch.bmm(h, diff.transpose(1, 2)), diff.sum(2).unsqueeze(1))}
    gslopes: dict = {}
    g = backward_layers(torch.bmm(W[last], diff), W, grads, gslopes, saved_dec, len(saved_dec))  # dL/dcode (M, k, B)
    per_sample = 1.0 / (B * scale)  # a penalty's mean over the batch, in the loss's units
    if o.vae:
        c = o.beta * per_sample
        gz = torch.cat([g + c * mu, g * epsT * (0.5 * std) + (0.5 * c) * (torch.exp(lv) - 1)], 1)
        if L.prelu[1] > L.prelu[0]:
            gslopes[ct] = flat.new_zeros(L.prelu[1] - L.prelu[0])  # the code layer has no activation
    else:
        if o.sparse == "l1":
            g = g + (o.sparse_weight * per_sample) * torch.sign(code)
        a, e = L.prelu
        if e > a:
            gslopes[ct] = (g[a:e] * torch.clamp_max(z[a:e], 0)).sum((1, 2))
        gz = g * dcode
        if o.sparse == "kl":
            s = torch.sigmoid(z)
            raw = s.mean(2, keepdim=True)  # rho_hat (M, k, 1) before the clamp
            r = raw.clamp(EPS, 1 - EPS)
            slope = (-o.rho / r + (1 - o.rho) / (1 - r)) * ((raw >= EPS) & (raw <= 1 - EPS))
            gz = gz + (o.sparse_weight * per_sample) * slope * (s * (1 - s))
    extra, gW, gs = {}, {}, {}
    if o.contractive_weight:
        enc = saved_enc + [(L, ct, h_in, z, dcode)]
        extra, gW, gs = _contractive(enc, W, M, o.contractive_weight * per_sample)
        if ct in extra:
            gz = gz + extra.pop(ct)
    grads[ct] = (torch.bmm(h_in, gz.transpose(1, 2)), gz.sum(2).unsqueeze(1))
    backward_layers(torch.bmm(W[ct], gz), W, grads, gslopes, saved_enc, len(saved_enc), extra)
    for t, g_w in gW.items():  # the penalty's own gradient on each encoder weight
        if p.enc[0].kind == "shared" and t == 0:
            g_w = g_w.transpose(0, 1).reshape(g_w.shape[1], -1)  # (d, M*h)
        grads[t] = (grads[t][0] + g_w, grads[t][1])
    for t, g_s in gs.items():
        gslopes[t] = gslopes[t] + g_s
    return flat_gradient(p, grads, gslopes, flat) * scale, recon
