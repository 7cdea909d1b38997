"""Stacked training of the autoencoder variants (issue 6) with torch.func.

Members that share a variant, an activation and an architecture form a group; a group's
parameters are stacked on a leading member axis (torch.func.stack_module_state) and its loss is
one vmap over members of the lone model's loss, so each member trains as it would alone. All
groups share one Adam optimizer: one step updates every member. The plain, MSE, study-sized
members take the faster stacked engine (train/stacked.py) instead; train/front.py chooses.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch
from torch.func import stack_module_state, vmap

from sigdenoise import seeds as seed_streams
from sigdenoise.models import activations
from sigdenoise.models.autoencoder import Autoencoder
from sigdenoise.train.common import TrainLog, batch_slices
from sigdenoise.train.members import Member
from sigdenoise.train.objectives import OBJECTIVES, Parts, VariantSettings, corrupt, reconstruction_loss, to_unit


def forward_parts(model: Autoencoder, params: dict, x: torch.Tensor, eps: torch.Tensor, need_derivs: bool):
    """The lone model's forward pass on its parameters `params`, keeping what the penalties need.

    x (B, d); eps (B, k) the VAE's reparameterisation noise. Returns logits (B, d), the code and
    what the penalties need (objectives.Parts): the code and its pre-activation (B, k), the
    encoder's weights and activation derivatives (need_derivs), the VAE's mu and logvar (B, k).
    """
    h = to_unit(x) if model.output == "sigmoid" else x
    last, k = len(model.layers) - 1, model.latent
    code = pre_code = mu = logvar = None
    derivs, enc_weights = [], []
    for i in range(last + 1):
        w, b = params[f"layers.{i}.weight"], params[f"layers.{i}.bias"]
        z = h @ w.T + b
        if model.vae and i == model.n_encoder - 1:
            mu, logvar = z[..., :k], z[..., k:]
            h = code = mu + eps * torch.exp(0.5 * logvar)
            continue
        if i == last:
            h = z
            break
        slope = params["slopes"][i] if model.slopes is not None else None
        if need_derivs and i < model.n_encoder:
            derivs.append(activations.derivative(model.activation, z, slope))
            enc_weights.append(w.T)
        h = activations.apply(model.activation, z, slope)
        if i == model.n_encoder - 1:
            pre_code, code = z, h
    return h, Parts(code, pre_code, (enc_weights, derivs), mu, logvar)


def member_loss(model: Autoencoder, variant: str, vs: VariantSettings) -> Callable:
    """loss(params, x_in, target, eps) -> (total, reconstruction) for one member, to vmap."""

    objective = OBJECTIVES[variant]

    def loss(params, x_in, target, eps):
        out, parts = forward_parts(model, params, x_in, eps, objective.jacobian)
        recon = reconstruction_loss(out, target, vs.loss)
        if objective.penalty is None:
            return recon, recon
        return recon + objective.penalty(parts, vs), recon

    return loss


def _draw(x, idx: list[int], members: list[Member], noise: list, variant: str, vs: VariantSettings, levels):
    """A group's corrupted inputs (M_g, B, d) and reparameterisation noise (M_g, B, k), each
    member's from its own stream (corruption first, then the code's noise)."""
    objective, k = OBJECTIVES[variant], members[idx[0]].latent
    ins, eps = [], []
    for j, i in enumerate(idx):
        xj = x[j : j + 1]
        ins.append(corrupt(xj, vs.train_noise_kind, levels[j : j + 1], noise[i]) if objective.corrupts else xj)
        shape = (1, x.shape[1], k)
        eps.append(torch.randn(shape, generator=noise[i]).to(x.device) if objective.gaussian_code
                   else torch.zeros(shape, device=x.device))  # fmt: skip  # drawn on the CPU stream
    return torch.cat(ins), torch.cat(eps)


def train_vmapped(
    members: list[Member], data: dict[int, torch.Tensor], epochs: int, vs: VariantSettings,
    batch_size: int = 256, lr: float = 1e-3, fresh: Callable[[int, int], torch.Tensor] | None = None,
    on_epoch: Callable[[int, np.ndarray], None] | None = None, generator_seed: int = 0,
) -> tuple[list[Autoencoder], TrainLog]:  # fmt: skip
    """Train `members` together; returns the trained lone models (in `members` order) and the
    per-epoch reconstruction loss (epochs, M).

    data: seed -> clean training signals (N, d) on the training device. fresh(seed, epoch), when
    given, draws a new training set for each epoch instead (the wide denoiser of issue 6).
    """
    device = next(iter(data.values())).device
    groups: dict[tuple, list[int]] = {}
    for i, m in enumerate(members):
        # On CPU a group is one member, so its float32 bits do not depend on what else trains (a
        # stack's small products round by memory alignment); on a GPU members stack for speed.
        alone = (m.seed, m.train_noise) if device.type == "cpu" else ()
        groups.setdefault((m.variant, m.activation, m.latent, m.width, m.loss, *alone), []).append(i)
    models = [m.build().to(device) for m in members]
    state = []
    for key, idx in groups.items():
        params, _ = stack_module_state([models[i] for i in idx])  # leaves (M_g, ...)
        fn = vmap(member_loss(models[idx[0]], key[0], vs))
        levels = torch.tensor([members[i].train_noise for i in idx], device=device).view(-1, 1, 1)
        seeds = [members[i].seed for i in idx]
        state.append((key, idx, params, fn, levels, seeds))
    opt = torch.optim.Adam([p for _, _, params, *_ in state for p in params.values()], lr=lr)
    all_seeds = sorted(data)
    gens = {s: seed_streams.batch_order(s) for s in all_seeds}
    noise = [seed_streams.member_noise(generator_seed, m.name) for m in members]  # CPU: the same draws on any device
    n = next(iter(data.values())).shape[0]
    history = []
    t0 = time.perf_counter()
    for epoch in range(epochs):
        cur = {s: fresh(s, epoch) for s in all_seeds} if fresh else data
        perm = {s: torch.randperm(n, generator=gens[s]).to(device) for s in all_seeds}
        total = torch.zeros(len(members), device=device)
        for sl in batch_slices(n, batch_size):
            batch = {s: cur[s][perm[s][sl]] for s in all_seeds}  # (B, d) per seed
            losses = []
            for (variant, *_), idx, params, fn, levels, seeds in state:
                x = torch.stack([batch[s] for s in seeds])  # (M_g, B, d)
                x_in, eps = _draw(x, idx, members, noise, variant, vs, levels)
                tot, recon = fn(params, x_in, x, eps)  # (M_g,) each: the target is the clean batch
                losses.append((idx, tot, recon))
            opt.zero_grad(set_to_none=True)
            sum(t.sum() for _, t, _ in losses).backward()
            opt.step()
            for idx, _, recon in losses:
                total[idx] += recon.detach() * (sl.stop - sl.start)
        history.append((total / n).cpu().numpy())
        if on_epoch is not None:
            on_epoch(epoch, history[-1])
    seconds = time.perf_counter() - t0
    for _, idx, params, *_ in state:
        for j, i in enumerate(idx):
            models[i].load_state_dict({k: v[j].detach() for k, v in params.items()})
    return models, TrainLog(np.array(history), seconds)
