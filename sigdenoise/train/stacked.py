"""The stacked engine: every plain member of a run trained at once, each exactly as it would alone.

The study's method: learn x -> x on clean signals, MSE, Adam (lr 1e-3), batch 256. Each member's
batches come from its own seed's training set in an order drawn from its own seed, so a member
trains the same whatever else shares the ensemble; on CPU each member is also a Fused step of its
own, so its float32 arithmetic is too (tests/test_alone.py).

How it is fast (figures in benchmarks/README.md): with models this small a step's cost is kernel
calls and memory passes, not arithmetic. `fused.Fused` runs a whole step as a fixed tape of ~175
kernels on buffers allocated once, or, for long trainings on CPU, as one torch.compile'd function
(train/compiled.py) that fuses everything between the matmuls; `FlatAdam` updates every parameter
in one fused kernel; on CPU the members are split between forked processes of one core each
(train/workers.py), on a GPU they are one Fused, one kernel per layer for all.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch

from sigdenoise import seeds as seed_streams
from sigdenoise.train import fused
from sigdenoise.train.adam import FlatAdam
from sigdenoise.train.common import TrainLog, batch_slices, cpu_threads
from sigdenoise.train.fused import Fused, kernel_key
from sigdenoise.train.stack import Ensemble
from sigdenoise.train.workers import fork_count, train_forked

# Compiling the step takes 20-35 s on 2 cores with inductor's disk cache empty, 5-8 s with it warm,
# and saves ~1.5 ms a step (benchmarks/README.md): it repays a cold compile from ~20,000 steps and
# a warm one from a few thousand. Trainings of at least this many steps compile.
COMPILE_MIN_STEPS = 10_000


def worth_compiling(device: torch.device, steps: int) -> bool:
    """Whether compiling the step repays itself: on CPU (the GPU path is the tape, untested
    compiled), for trainings of COMPILE_MIN_STEPS steps or more."""
    return device.type == "cpu" and steps >= COMPILE_MIN_STEPS


def _parts(ensemble: Ensemble, seeds: list[int], device: torch.device, workers: int | None) -> list[list[Fused]]:
    """The ensemble's Fused steps, grouped by the process that runs them.

    On CPU each member is a Fused of its own, so its arithmetic is the same whatever else trains
    with it: in float32 a member's bits depend on where it sits among others (MKL's small products
    round by memory alignment, benchmarks/README.md), and on CPU a stack of 7 costs what 7 lone
    steps cost. The members are dealt round-robin, in kernel order, to one process per core. On a
    GPU, where one kernel for all members is what makes it fast, one Fused holds every member."""
    M = len(ensemble.members)
    order = sorted(range(M), key=lambda i: kernel_key(ensemble.members[i]))
    if device.type != "cpu":
        return [[Fused(ensemble, seeds, order)]]
    workers = fork_count(M, workers)
    lone = [Fused(ensemble, [ensemble.members[i].seed], [i]) for i in order]
    return [lone[k::workers] for k in range(workers)]


def _rows(f: Fused, seeds: list[int]) -> slice:
    """The rows of the ensemble's (S, ...) data that Fused f trains on: its one seed's, or all."""
    if f.seeds == seeds:
        return slice(None)
    k = seeds.index(f.seeds[0])
    return slice(k, k + 1)


def train_ensemble(
    ensemble: Ensemble,
    data: dict[int, torch.Tensor],
    epochs: int,
    batch_size: int = 256,
    lr: float = 1e-3,
    on_epoch: Callable[[int, np.ndarray], None] | None = None,
    *,
    workers: int | None = None,
    compile: bool | None = None,
) -> TrainLog:
    """Train every member at once.

    data: seed -> clean training signals (N, d) on the ensemble's device, N the same for all.
    Returns the per-epoch, per-member loss (in `ensemble.members` order); `on_epoch(epoch,
    losses (M,))` is called after each epoch, when the ensemble holds that epoch's weights.
    workers: on CPU the members are dealt round-robin to this many forked processes of one core
    each (default: torch's thread count, at most M; 1 trains in this process, on one thread).
    Each member is its own Fused step there, so neither the split nor the other members change
    a member's numbers, to the bit in float32.
    compile: run full batches through the torch.compile'd step (`Fused.compile`); default: on CPU
    when the training is long enough to repay compiling (`worth_compiling`). If compiling fails
    (no C++ compiler, say), the step falls back to the tape with a warning.
    """
    seeds = sorted(data)
    stacked = torch.stack([data[s] for s in seeds]).to(next(ensemble.parameters()).dtype)  # (S, N, d)
    n, device, M = stacked.shape[1], stacked.device, len(ensemble.members)
    parts = _parts(ensemble, seeds, device, workers)
    gens = {s: seed_streams.batch_order(s) for s in seeds}
    slices = batch_slices(n, batch_size)
    if compile is None:
        compile = worth_compiling(device, epochs * len(slices))
    if compile:
        shared: dict = {}  # one compiled step per distinct step_key (kernel and latent), not one per member
        for part in parts:
            for f in part:
                f.compile(batch_size, shared)
    history = np.zeros((epochs, M))

    def run(part: list[Fused], opts: list[FlatAdam]) -> list[tuple[list[int], torch.Tensor]]:
        """One epoch of a process's Fused steps: (their members' positions, mean squared errors)."""
        perm = torch.stack([torch.randperm(n, generator=gens[s]) for s in seeds]).to(device)  # (S, N)
        out = []
        for f, opt in zip(part, opts):
            rows = _rows(f, seeds)
            out.append((f.order, fused.run_epoch(f, opt, stacked[rows], perm[rows], slices)))
        return out

    def finish(epoch: int) -> None:
        for part in parts:
            for f in part:
                f.write_back(ensemble)
        if on_epoch is not None:
            on_epoch(epoch, history[epoch])

    t0 = time.perf_counter()
    with torch.no_grad():
        if len(parts) == 1:
            # One thread, as in a forked process: a member's bits must not depend on the split.
            with cpu_threads(1, device):
                opts = [FlatAdam(f.flat, f.grad, lr) for f in parts[0]]
                for epoch in range(epochs):
                    for order, losses in run(parts[0], opts):
                        history[epoch, order] = losses.numpy()
                    finish(epoch)
        else:
            train_forked(parts, run, lr, epochs, history, finish)
    return TrainLog(history, time.perf_counter() - t0)
