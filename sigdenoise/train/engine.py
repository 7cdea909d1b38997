"""Training: the stacked ensemble, and the plain one-model loop it must match (the reference).

The study's method: learn x -> x on clean signals, MSE, Adam (lr 1e-3), batch 256. Each member's
batches come from its own seed's training set in an order drawn from its own seed, so a member
trains the same whatever else shares the ensemble.

How the stacked trainer is fast (figures in benchmarks/README.md): with models this small a
step's cost is kernel calls and memory passes, not arithmetic. `ensemble.Fused` runs a whole step
as a fixed tape of ~175 kernels on buffers allocated once, or, for long trainings on CPU, as one
torch.compile'd function (`fused_step`) that fuses everything between the matmuls; `FlatAdam`
updates every parameter in one fused kernel; on CPU the members are split between forked
processes of one core each (threads would serialise on the GIL, and 2 OpenMP threads per kernel
wait on each other at every call).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import wait

import numpy as np
import torch

from sigdenoise.train.fused import Ensemble, Fused, kernel_key
from sigdenoise.models.autoencoder import Autoencoder


def order_generator(seed: int) -> torch.Generator:
    """The generator of one seed's batch order (CPU, so orders agree across devices)."""
    return torch.Generator().manual_seed(10_007 * seed + 1)


def batch_slices(n: int, batch_size: int) -> list[slice]:
    """Consecutive batches of a permutation; the last may be short (no sample is dropped)."""
    return [slice(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]


@dataclass
class TrainLog:
    """losses: (epochs, M) mean training MSE per epoch and member; seconds: wall time."""

    losses: np.ndarray
    seconds: float


class FlatAdam:
    """Adam on one flat tensor: aten's fused kernel (one call a step) where PyTorch has it, else
    the arithmetic of torch.optim.Adam's single-tensor path, which `train_single` runs on CPU
    (7 kernels; bit-equal to it). Not torch.optim.Adam itself: building one imports
    torch._dynamo, seconds of start-up that the grid would pay once per run."""

    def __init__(self, param: torch.Tensor, grad: torch.Tensor, lr: float, betas=(0.9, 0.999), eps: float = 1e-8,
                 fused: bool | None = None):  # fmt: skip
        self.p, self.g, self.lr, self.betas, self.eps = param, grad, lr, betas, eps
        self.m, self.v, self.den = torch.zeros_like(param), torch.zeros_like(param), torch.empty_like(param)
        self.t, self.step_t = 0, torch.zeros((), dtype=torch.float32, device=param.device)
        self.fused = hasattr(torch, "_fused_adam_") and param.device.type in ("cpu", "cuda") if fused is None else fused

    def step(self, grad: torch.Tensor | None = None) -> None:
        """One Adam step with `grad` (P,), default the tensor given at construction."""
        g = self.g if grad is None else grad
        b1, b2 = self.betas
        self.t += 1
        if self.fused:  # 2x faster than the 7 kernels below on CPU (benchmarks/README.md)
            self.step_t.add_(1)
            torch._fused_adam_([self.p], [g], [self.m], [self.v], [], [self.step_t], amsgrad=False, lr=self.lr,
                               beta1=b1, beta2=b2, weight_decay=0.0, eps=self.eps, maximize=False)  # fmt: skip
            return
        self.m.lerp_(g, 1 - b1)
        self.v.mul_(b2).addcmul_(g, g, value=1 - b2)
        torch.sqrt(self.v, out=self.den).div_((1 - b2**self.t) ** 0.5).add_(self.eps)
        self.p.addcdiv_(self.m, self.den, value=-self.lr / (1 - b1**self.t))


# Compiling the step takes 20-35 s on 2 cores with inductor's disk cache empty, 5-8 s with it warm,
# and saves ~1.5 ms a step (benchmarks/README.md): it repays a cold compile from ~20,000 steps and
# a warm one from a few thousand. Trainings of at least this many steps compile.
COMPILE_MIN_STEPS = 10_000


def worth_compiling(device: torch.device, steps: int) -> bool:
    """Whether compiling the step repays itself: on CPU (the GPU path is the tape, untested
    compiled), for trainings of COMPILE_MIN_STEPS steps or more."""
    return device.type == "cpu" and steps >= COMPILE_MIN_STEPS


def _run_epoch(f: Fused, opt: FlatAdam, stacked: torch.Tensor, perm: torch.Tensor, slices: list[slice]) -> torch.Tensor:
    """One epoch of one part; returns its members' mean squared errors (M_part,) on the CPU."""
    f.sse.zero_()
    if stacked.shape[0] == 1:  # one seed: gather each batch, a pass over 100 kB, not the 8 MB set
        data, order = stacked[0], perm[0]
        for sl in slices:
            # Transposed once here, so that the compiled step, feature-major, reads x without a
            # transpose per member: (1, B, d) as a view of a (d, B) batch.
            opt.step(f.step(data.index_select(0, order[sl]).T.contiguous().T[None]))
    else:  # shuffle once per epoch so that every batch is a slice of all seeds at once
        shuffled = torch.gather(stacked, 1, perm[:, :, None].expand(-1, -1, stacked.shape[2]))  # (S, N, d)
        for sl in slices:
            opt.step(f.step(shuffled[:, sl]))
    return (f.sse / (stacked.shape[1] * stacked.shape[2])).cpu()


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
    workers: on CPU the members are split round-robin into this many parts, each trained by a
    forked process on one core (default: torch's thread count, at most M; 1 trains in this
    process). Members never interact, so the split changes nothing but the time.
    compile: run full batches through the torch.compile'd step (`Fused.compile`); default: on CPU
    when the training is long enough to repay compiling (`worth_compiling`). If compiling fails
    (no C++ compiler, say), the step falls back to the tape with a warning.
    """
    seeds = sorted(data)
    stacked = torch.stack([data[s] for s in seeds]).to(next(ensemble.parameters()).dtype)  # (S, N, d)
    n, device, M = stacked.shape[1], stacked.device, len(ensemble.members)
    if workers is None:
        workers = torch.get_num_threads() if device.type == "cpu" else 1
    if device.type != "cpu" or sys.platform != "linux" or threading.current_thread() is not threading.main_thread():
        workers = 1  # fork is safe only from the main thread, on Linux, before CUDA
    workers = max(1, min(workers, M))
    # Round-robin over the kernel order: with one latent or seed per part when that divides.
    order = sorted(range(M), key=lambda i: kernel_key(ensemble.members[i]))
    parts = [Fused(ensemble, seeds, order[k::workers]) for k in range(workers)]
    gens = {s: order_generator(s) for s in seeds}
    slices = batch_slices(n, batch_size)
    if compile is None:
        compile = worth_compiling(device, epochs * len(slices))
    if compile:
        for f in parts:
            f.compile(batch_size)
    history = np.zeros((epochs, M))

    def perms() -> torch.Tensor:
        return torch.stack([torch.randperm(n, generator=gens[s]) for s in seeds]).to(device)  # (S, N)

    def finish(epoch: int) -> None:
        for f in parts:
            f.write_back(ensemble)
        if on_epoch is not None:
            on_epoch(epoch, history[epoch])

    t0 = time.perf_counter()
    with torch.no_grad():
        if len(parts) == 1:
            f, opt = parts[0], FlatAdam(parts[0].flat, parts[0].grad, lr)
            for epoch in range(epochs):
                history[epoch, f.order] = _run_epoch(f, opt, stacked, perms(), slices).numpy()
                finish(epoch)
        else:
            _train_forked(parts, stacked, perms, slices, lr, epochs, history, finish)
    return TrainLog(history, time.perf_counter() - t0)


def _train_forked(parts, stacked, perms, slices, lr, epochs, history, finish) -> None:
    """Each part in a forked process of one thread. After each epoch a part puts its parameters
    in one of two shared snapshots (by epoch parity) and its losses in shared memory, reports,
    and goes on; it waits only before reusing a snapshot the parent has not read yet, so the
    parent's write_back and on_epoch overlap the next epoch instead of stalling it. A part that
    fails or dies stops the training with its error."""
    ctx = mp.get_context("fork")
    snaps = [[torch.empty_like(f.flat).share_memory_() for _ in range(2)] for f in parts]
    losses = torch.zeros(history.shape, dtype=torch.float64).share_memory_()

    def work(f: Fused, snap: list[torch.Tensor], conn) -> None:
        try:
            torch.set_num_threads(1)  # the parent's OpenMP pool does not survive a fork; never use one
            if f.compiled:
                import torch._inductor.config as inductor

                inductor.compile_threads = 1  # compile here, on this process's core, not in a pool
            opt = FlatAdam(f.flat, f.grad, lr)
            for epoch in range(epochs):
                losses[epoch, f.order] = _run_epoch(f, opt, stacked, perms(), slices).double()
                if epoch >= 2:
                    conn.recv()  # the parent has read epoch - 2, whose snapshot this overwrites
                snap[epoch % 2].copy_(f.flat)
                conn.send(None)
        except BaseException:
            try:
                conn.send(traceback.format_exc())
            except OSError:
                pass  # the parent is gone
        finally:
            os._exit(0)  # skip the atexit handlers and buffers inherited from the parent

    pipes = [ctx.Pipe() for _ in parts]
    procs = [ctx.Process(target=work, args=(f, sn, child), daemon=True) for f, sn, (_, child) in zip(parts, snaps, pipes)]
    for p, (_, child) in zip(procs, pipes):
        p.start()
        child.close()
    done = False
    try:
        for epoch in range(epochs):
            for p, (conn, _) in zip(procs, pipes):
                wait([conn, p.sentinel])
                try:
                    msg = conn.recv() if conn.poll() else "died"
                except EOFError:
                    msg = "died"
                if msg is not None:
                    p.join(timeout=1)
                    raise RuntimeError(f"a training process failed (exit code {p.exitcode}):\n{msg}")
            for f, sn in zip(parts, snaps):
                f.flat.copy_(sn[epoch % 2])
            history[epoch] = losses[epoch].numpy()
            finish(epoch)
            if epoch < epochs - 2:  # a part waits for this before its epoch + 2 snapshot
                for conn, _ in pipes:
                    try:
                        conn.send(None)
                    except OSError:
                        pass  # the part has failed since: the next epoch's wait reports its error
        done = True
    finally:
        for p, (conn, _) in zip(procs, pipes):
            if not done:
                p.kill()
            p.join()
            conn.close()


def train_single(
    model: Autoencoder, data: torch.Tensor, epochs: int, batch_size: int = 256, lr: float = 1e-3
) -> TrainLog:
    """The plain loop: one model, its seed's batch order, nn.Linear layers. data (N, d)."""
    gen = order_generator(model.seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    n = data.shape[0]
    history = []
    t0 = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(n, generator=gen).to(data.device)
        total = 0.0
        for sl in batch_slices(n, batch_size):
            x = data[perm[sl]]
            loss = ((model(x) - x) ** 2).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * (sl.stop - sl.start)
        history.append(total / n)
    return TrainLog(np.array(history)[:, None], time.perf_counter() - t0)
