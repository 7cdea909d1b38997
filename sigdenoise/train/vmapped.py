"""Stacked training of the autoencoder variants (issue 6) with torch.func.

Members that share a variant, an activation and an architecture form a group (on CPU, each member
alone); a group's parameters are one flat tensor (M_g, P) and its loss one vmap over members of
the lone model's loss, so each member trains as it would alone. Each step is the gradient of the
group's summed loss (torch.func's, compiled by inductor, for trainings long enough to repay it;
autograd's otherwise: benchmarks/variants.py) and one FlatAdam step on the flat tensor. The
plain, MSE, study-sized members take the faster stacked engine (train/stacked.py) instead;
train/front.py chooses.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
import torch
from torch.func import grad_and_value, stack_module_state, vmap

from sigdenoise import seeds as seed_streams
from sigdenoise.models.activations import apply, derivative
from sigdenoise.models.autoencoder import Autoencoder
from sigdenoise.train.adam import FlatAdam
from sigdenoise.train.common import TrainLog, batch_slices, cpu_threads
from sigdenoise.train.members import Member
from sigdenoise.train.objectives import OBJECTIVES, Parts, VariantSettings, corrupt, reconstruction_loss, to_unit
from sigdenoise.train.stacked import worth_compiling
from sigdenoise.train.variant_step import FusedGroup, compiled_or_eager
from sigdenoise.train.workers import fork_count, train_forked


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
            derivs.append(derivative(model.activation, z, slope))
            enc_weights.append(w.T)
        h = apply(model.activation, z, slope)
        if i == model.n_encoder - 1:
            pre_code, code = z, h
    return h, Parts(code, pre_code, (enc_weights, derivs), mu, logvar)


def member_loss(model: Autoencoder, variant: str, vs: VariantSettings) -> Callable:
    """loss(params, x_in, target, eps) -> (total, reconstruction) for one member, to vmap."""

    objective = OBJECTIVES[variant]

    def loss(params, x_in, target, eps):
        out, parts = forward_parts(model, params, x_in, eps, objective.jacobian)
        # The member's own loss (its key's, which built its sigmoid output), not the run's
        # setting: they agree in a grid, and a member given alone must not train by another.
        recon = reconstruction_loss(out, target, "bce" if model.output == "sigmoid" else "mse")
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
        if objective.gaussian_code:  # drawn on the CPU stream
            eps.append(torch.randn((1, x.shape[1], k), generator=noise[i]).to(x.device))
    # (One member, the CPU's group: no copies; each step is ~1 ms, and these were 5 % of it.)
    x_in = ins[0] if len(ins) == 1 else torch.cat(ins)
    if not eps:
        return x_in, torch.zeros((len(idx), x.shape[1], k), device=x.device)
    return x_in, eps[0] if len(eps) == 1 else torch.cat(eps)


class _Group:
    """One group's members as one flat parameter tensor (M_g, P) with named views, its Adam, and
    its step: the gradient of the group's summed loss, by autograd, or by torch.func compiled
    (inductor fuses each layer's bias, activation and their derivatives around the matmuls)."""

    def __init__(self, variant: str, models: list[Autoencoder], vs: VariantSettings, lr: float, compile: bool):
        params, _ = stack_module_state(models)  # leaves (M_g, ...)
        self.variant, self.m = variant, len(models)
        self.names = list(params)
        self.shapes = [tuple(params[k].shape[1:]) for k in self.names]
        self.flat = torch.cat([params[k].detach().reshape(self.m, -1) for k in self.names], dim=1).contiguous()
        self.grad = torch.zeros_like(self.flat)  # (unused: each step's gradient is its own tensor)
        self.opt = FlatAdam(self.flat, self.grad, lr)
        fn = vmap(member_loss(models[0], variant, vs))

        def loss(flat, x_in, target, eps):
            tot, recon = fn(self.views(flat), x_in, target, eps)
            return tot.sum(), recon

        self.loss = loss
        self.compiled = torch.compile(grad_and_value(loss, has_aux=True), fullgraph=True, dynamic=False) if compile else None
        self.compiled_ok = False

    def eager(self, x_in: torch.Tensor, target: torch.Tensor, eps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The gradient (M_g, P) and reconstruction losses (M_g,) by autograd: the same function
        as the compiled step's, without torch.func's wrapping of every operation (which made an
        uncompiled step 1.3-1.5x slower, benchmarks/README.md)."""
        with torch.enable_grad():
            flat = self.flat.detach().requires_grad_(True)
            total, recon = self.loss(flat, x_in, target, eps)
            (grad,) = torch.autograd.grad(total, flat)
        return grad, recon.detach()

    def _compiled_step(self, x_in: torch.Tensor, target: torch.Tensor, eps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        grad, (_, recon) = self.compiled(self.flat, x_in, target, eps)
        return grad, recon

    def views(self, flat: torch.Tensor) -> dict[str, torch.Tensor]:
        """Parameter name -> (M_g, *shape), read from flat (M_g, P)."""
        out, at = {}, 0
        for name, shape in zip(self.names, self.shapes):
            n = math.prod(shape)
            out[name] = flat[:, at : at + n].reshape(self.m, *shape)
            at += n
        return out

    def step(self, x_in: torch.Tensor, target: torch.Tensor, eps: torch.Tensor, full: bool) -> torch.Tensor:
        """One Adam step on the batch (M_g, B, d); full batches take the compiled step. Returns
        the members' reconstruction losses (M_g,)."""
        if full and self.compiled is not None:
            grad, recon = compiled_or_eager(self, lambda: self._compiled_step(x_in, target, eps),
                                            lambda: self.eager(x_in, target, eps))  # fmt: skip
        else:
            grad, recon = self.eager(x_in, target, eps)
        self.opt.step(grad)
        return recon


def train_vmapped(
    members: list[Member], data: dict[int, torch.Tensor], epochs: int, vs: VariantSettings,
    batch_size: int = 256, lr: float = 1e-3, fresh: Callable[[int, int], torch.Tensor] | None = None,
    on_epoch: Callable[[int, np.ndarray], None] | None = None, generator_seed: int = 0, compile: bool | None = None,
    fused: bool | None = None, workers: int | None = None,
) -> tuple[list[Autoencoder], TrainLog]:  # fmt: skip
    """Train `members` together; returns the trained lone models (in `members` order) and the
    per-epoch reconstruction loss (epochs, M).

    data: seed -> clean training signals (N, d) on the training device. fresh(seed, epoch), when
    given, draws a new training set for each epoch instead (the wide denoiser of issue 6); it
    must be a function of its arguments alone, since each forked worker calls it. on_epoch runs
    in this process, while the workers go on with the next epoch.
    compile: full batches through each group's torch.compile'd step; default: on CPU when the
    training is long enough to repay compiling (train/stacked.worth_compiling).
    fused: the groups train by the fused engine's hand-written step (variant_step.FusedGroup)
    rather than autograd's or torch.func's; default: where compiled, which is where it pays
    (benchmarks/README.md); uncompiled, autograd's is as fast.
    workers: on CPU the groups are dealt to this many forked processes of one core each, as the
    stacked engine's members (default: torch's thread count).
    """
    device = next(iter(data.values())).device
    n = next(iter(data.values())).shape[0]
    slices = batch_slices(n, batch_size)
    if compile is None:
        compile = worth_compiling(device, epochs * len(slices))
    groups: dict[tuple, list[int]] = {}
    for i, m in enumerate(members):
        # On CPU a group is one member, so its float32 bits do not depend on what else trains (a
        # stack's small products round by memory alignment); on a GPU members stack for speed.
        alone = (m.seed, m.train_noise) if device.type == "cpu" else ()
        groups.setdefault((m.variant, m.activation, m.latent, m.width, m.loss, *alone), []).append(i)
    models = [m.build().to(device) for m in members]
    state = []
    if fused is None:
        fused = compile
    for key, idx in groups.items():
        ms = [models[i] for i in idx]
        if fused:
            group = FusedGroup(key[0], ms, [members[i] for i in idx], vs, lr, compile)
        else:
            group = _Group(key[0], ms, vs, lr, compile)
        levels = torch.tensor([members[i].train_noise for i in idx], device=device).view(-1, 1, 1)
        state.append((group, idx, levels, [members[i].seed for i in idx]))
    all_seeds = sorted(data)
    gens = {s: seed_streams.batch_order(s) for s in all_seeds}
    noise = [seed_streams.member_noise(generator_seed, m.name) for m in members]  # CPU: the same draws on any device

    def epoch_of(entries: list, epoch: int) -> list[tuple[list[int], torch.Tensor]]:
        """One epoch of the groups `entries`: (member positions, reconstruction losses) per group.
        Every caller draws each seed's order, so a group sees the same batches in any process."""
        cur = {s: fresh(s, epoch) for s in all_seeds} if fresh else data
        perm = {s: torch.randperm(n, generator=gens[s]).to(device) for s in all_seeds}
        totals = [torch.zeros(len(idx), device=device) for _, idx, _, _ in entries]
        for sl in slices:
            batch = {s: cur[s].index_select(0, perm[s][sl]) for s in all_seeds}  # (B, d) per seed
            full = sl.stop - sl.start == batch_size
            for (group, idx, levels, seeds), total in zip(entries, totals):
                x = batch[seeds[0]][None] if len(seeds) == 1 else torch.stack([batch[s] for s in seeds])  # (M_g, B, d)
                x_in, eps = _draw(x, idx, members, noise, group.variant, vs, levels)
                total += group.step(x_in, x, eps, full) * (sl.stop - sl.start)  # the target: the clean batch
        return [(entry[1], total / n) for entry, total in zip(entries, totals)]

    history = np.zeros((epochs, len(members)))
    t0 = time.perf_counter()
    with torch.no_grad():  # the steps take their gradients by hand or by torch.func, not autograd's tape
        parts = _forked_parts(state, device, workers)
        if parts:
            by_flat = {id(_flat_of(entry[0])): entry for part in parts for entry in part}

            epoch_now = [0]  # each worker counts its own epochs (its forked copy of this list)

            def run(part: list, _opts: list[FlatAdam]) -> list:
                # Each group steps with its own optimiser, forked with the parameters it steps.
                entries = [by_flat[id(f)] for f in part]
                epoch_now[0] += 1
                return epoch_of(entries, epoch_now[0] - 1)

            def finish(epoch: int) -> None:
                if on_epoch is not None:
                    on_epoch(epoch, history[epoch])

            train_forked([[_flat_of(entry[0]) for entry in part] for part in parts], run, lr, epochs, history, finish,
                         compile)  # fmt: skip
        else:
            with cpu_threads(1, device):  # as a forked worker: a member's bits must not depend on the split
                for epoch in range(epochs):
                    for idx, losses in epoch_of(state, epoch):
                        history[epoch, idx] = losses.cpu().numpy()
                    if on_epoch is not None:
                        on_epoch(epoch, history[epoch])
    seconds = time.perf_counter() - t0
    for group, idx, *_ in state:
        if isinstance(group, FusedGroup):
            group.write()
            continue
        views = group.views(group.flat)
        for j, i in enumerate(idx):
            models[i].load_state_dict({k: v[j] for k, v in views.items()})
    return models, TrainLog(history, seconds)


def _forked_parts(state: list, device: torch.device, workers: int | None) -> list[list]:
    """The groups dealt round-robin to one forked process per core (train/workers.py), as the
    stacked engine deals its members, on CPU with more than one group; [] trains in this process.
    A group's numbers do not depend on where it runs (`fresh` is a function of seed and epoch, so
    each process draws the same epochs' data)."""
    if device.type != "cpu":
        return []
    n = fork_count(len(state), workers)
    return [state[k::n] for k in range(n)] if n > 1 else []


def _flat_of(group):
    """What a forked worker snapshots each epoch: an object with `flat` (and `grad`, for
    train_forked's own optimiser, which a group does not use): a FusedGroup's Fused, or the _Group."""
    return group.fused if isinstance(group, FusedGroup) else group
