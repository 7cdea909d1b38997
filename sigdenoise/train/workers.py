"""Training the parts of an ensemble in forked processes of one core each (CPU, Linux).

Threads would serialise on the GIL, and 2 OpenMP threads per kernel wait on each other at every
call, so each part of the members trains in its own process and reports each epoch's parameters
through shared memory.
"""

from __future__ import annotations

import ctypes
import multiprocessing as mp
import os
import signal
import sys
import threading
import traceback
from multiprocessing.connection import wait

import torch

from sigdenoise.train.adam import FlatAdam
from sigdenoise.train.fused import Fused

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def train_forked(parts: list[list[Fused]], run, lr: float, epochs: int, history, finish, compiling: bool | None = None) -> None:
    """Each part (a list of Fused steps) in a forked process of one thread; run(part, opts) trains
    one epoch of a part and returns (member positions, losses) per Fused. After each epoch a part
    puts its parameters in one of two shared snapshots (by epoch parity) and its losses in shared
    memory, reports, and goes on; it waits only before reusing a snapshot the parent has not read
    yet, so the parent's write_back and on_epoch overlap the next epoch instead of stalling it. A
    part that fails or dies stops the training with its error. compiling: whether run compiles
    (default: whether a Fused of the parts has a compiled step)."""
    if compiling is None:
        compiling = any(f.compiled for part in parts for f in part)
    ctx = mp.get_context("fork")
    snaps = [[[torch.empty_like(f.flat).share_memory_() for _ in range(2)] for f in part] for part in parts]
    losses = torch.zeros(history.shape, dtype=torch.float64).share_memory_()

    parent = os.getpid()

    def work(part: list[Fused], snap: list[list[torch.Tensor]], conn) -> None:
        try:
            die_with(parent)
            torch.set_num_threads(1)  # the parent's OpenMP pool does not survive a fork; never use one
            if compiling:
                import torch._inductor.config as inductor

                inductor.compile_threads = 1  # compile here, on this process's core, not in a pool
                # This is a CPU training: on a GPU host dynamo would save CUDA's RNG state around
                # each compiled frame (torch.cuda.get_rng_state when is_available()), initialising
                # CUDA in a forked child, which fails (and falls back to eager) or opens a context
                # per worker. Nothing here uses CUDA: say so.
                torch.cuda.is_available = lambda: False
            opts = [FlatAdam(f.flat, f.grad, lr) for f in part]
            for epoch in range(epochs):
                for order, loss in run(part, opts):
                    losses[epoch, order] = loss.double()
                if epoch >= 2:
                    conn.recv()  # the parent has read epoch - 2, whose snapshot this overwrites
                for f, sn in zip(part, snap):
                    sn[epoch % 2].copy_(f.flat)
                conn.send(None)
        except BaseException:
            try:
                conn.send(traceback.format_exc())
            except OSError:
                pass  # the parent is gone
        finally:
            os._exit(0)  # skip the atexit handlers and buffers inherited from the parent

    pipes = [ctx.Pipe() for _ in parts]
    procs = [ctx.Process(target=work, args=(part, sn, child), daemon=True) for part, sn, (_, child) in zip(parts, snaps, pipes)]
    for p, (_, child) in zip(procs, pipes):
        p.start()
        child.close()
    done = False
    try:
        for epoch in range(epochs):
            _await_epoch(procs, pipes)
            for part, snap in zip(parts, snaps):
                for f, sn in zip(part, snap):
                    f.flat.copy_(sn[epoch % 2])
            history[epoch] = losses[epoch].numpy()
            finish(epoch)
            if epoch < epochs - 2:  # a part waits for this before its epoch + 2 snapshot
                _release(pipes)
        done = True
    finally:
        for p, (conn, _) in zip(procs, pipes):
            if not done:
                p.kill()
            p.join()
            conn.close()


def fork_count(n_items: int, workers: int | None = None) -> int:
    """How many forked processes train n_items parts: `workers` (default: torch's thread count),
    at most n_items, and 1 (this process) unless on Linux in the main thread, where fork is safe."""
    if workers is None:
        workers = torch.get_num_threads()
    if sys.platform != "linux" or threading.current_thread() is not threading.main_thread():
        return 1
    return max(1, min(workers, n_items))


def die_with(parent: int) -> None:
    """Have the kernel kill this process when its parent dies (Linux prctl PR_SET_PDEATHSIG), so
    a worker never outlives a killed grid; if the parent is already gone, exit now."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # no prctl (not Linux): a killed parent's workers may run on
        pass
    if os.getppid() != parent:  # the parent died before prctl took hold
        os._exit(0)


def _await_epoch(procs, pipes) -> None:
    """Wait until every part reports its epoch; a part that failed or died raises its error."""
    for p, (conn, _) in zip(procs, pipes):
        wait([conn, p.sentinel])
        try:
            msg = conn.recv() if conn.poll() else "died"
        except EOFError:
            msg = "died"
        if msg is not None:
            p.join(timeout=1)
            raise RuntimeError(f"a training process failed (exit code {p.exitcode}):\n{msg}")


def _release(pipes) -> None:
    """Tell every part the parent has read its older snapshot."""
    for conn, _ in pipes:
        try:
            conn.send(None)
        except OSError:
            pass  # the part has failed since: the next epoch's wait reports its error
