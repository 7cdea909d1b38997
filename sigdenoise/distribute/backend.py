"""Where tasks run: in this process (local) or as Ray tasks on a cluster (ray). Not a scheduler of
our own: Ray places the tasks by their declared resources, and `run_all` only hands them over and
collects what each returned or raised.

A task is a module-level function and its arguments, so that Ray ships it by name (every node
imports the same sigdenoise) and a local run calls it directly.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sigdenoise.errors import SettingsError, SigdenoiseError, require

BACKENDS = ("local", "ray")
RAY_EXTRA = "pip install 'sigdenoise[ray]'"


@dataclass(frozen=True)
class Cluster:
    """How a command's tasks run. backend: local or ray; address: the Ray cluster's head
    (host:port, or "auto"), else $RAY_ADDRESS, else a Ray started on this machine; cpus_per_task,
    gpus_per_task: each task's declared resources (fractions of a GPU allowed); jobs: tasks at
    once on the local backend (where a command runs several)."""

    backend: str = "local"
    address: str | None = None
    cpus_per_task: float = 1.0
    gpus_per_task: float = 0.0
    jobs: int = 1

    def __post_init__(self) -> None:
        require(self.backend in BACKENDS, "--backend", f"must be local or ray, got {self.backend!r}")
        require(self.cpus_per_task > 0, "--cpus-per-task", f"must be above 0, got {self.cpus_per_task:g}")
        require(self.gpus_per_task >= 0, "--gpus-per-task", f"must be 0 or more, got {self.gpus_per_task:g}")
        require(self.jobs >= 1, "--jobs", f"must be at least 1, got {self.jobs}")
        require(self.backend == "ray" or self.address is None, "--ray-address", "needs --backend ray")

    @property
    def distributed(self) -> bool:
        return self.backend == "ray"


def ray_module():
    """The ray package, or a SettingsError naming the extra that installs it."""
    try:
        import ray
    except ImportError:
        raise SettingsError("--backend", f"ray is not installed; {RAY_EXTRA}") from None
    return ray


def connect(cluster: Cluster):
    """Ray, connected: to cluster.address or $RAY_ADDRESS when given, else a Ray of this machine's
    cores started here (and kept for the process). A connection made earlier is reused."""
    ray = ray_module()
    if not ray.is_initialized():
        address = cluster.address or os.environ.get("RAY_ADDRESS") or None
        try:
            ray.init(address=address, include_dashboard=False, logging_level="warning", log_to_driver=True)
        except ConnectionError as e:
            raise SettingsError("--ray-address", f"cannot reach a Ray cluster at {address}: {e}") from None
    return ray


def run_all(fn: Callable, calls: list[tuple], cluster: Cluster) -> Iterator[tuple[int, object]]:
    """fn(*calls[i]) for every i, as they finish: (i, what it returned, or the exception it raised).

    Local: one after another in this process (a grid task trains its members in parallel itself;
    `jobs` > 1: that many processes). Ray: one task each, with the cluster's resources per task."""
    if not cluster.distributed:
        yield from _local(fn, calls, cluster.jobs)
        return
    ray = connect(cluster)
    remote = ray.remote(num_cpus=cluster.cpus_per_task, num_gpus=cluster.gpus_per_task, max_retries=0)(fn)
    pending = {remote.remote(*args): i for i, args in enumerate(calls)}
    try:
        while pending:
            (done,), _ = ray.wait(list(pending), num_returns=1)
            i = pending.pop(done)
            try:
                yield i, ray.get(done)
            except ray.exceptions.RayTaskError as e:
                # An error raised on purpose as itself; anything else (a bug) with the task's traceback.
                cause = getattr(e, "cause", None)
                yield i, cause if isinstance(cause, SigdenoiseError) else RuntimeError(str(e))
            except ray.exceptions.RayError as e:  # a worker or node lost
                yield i, RuntimeError(f"the Ray task was lost ({type(e).__name__}: {str(e).splitlines()[0]})")
    finally:
        if pending:  # the driver stops (an error, Ctrl-C): its unfinished tasks with it, and it
            for ref in pending:  # waits for them to end, so that none still holds its folder's lock
                ray.cancel(ref, force=True)
            ray.wait(list(pending), num_returns=len(pending), timeout=60)


# The thread pools of numpy's BLAS, OpenMP (torch) and MKL, read when each library loads.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@contextmanager
def one_thread_each():
    """Processes started in this block run each library on one thread, as a Ray task of one CPU
    does: N processes of N threads each on N cores spin-wait on each other (measured: 100 files
    through 2 processes took 274 s, against 53 s in one process)."""
    old = {k: os.environ.get(k) for k in THREAD_VARIABLES}
    os.environ.update({k: "1" for k in THREAD_VARIABLES})
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _local(fn: Callable, calls: list[tuple], jobs: int) -> Iterator[tuple[int, object]]:
    if jobs <= 1 or len(calls) <= 1:
        for i, args in enumerate(calls):
            try:
                yield i, fn(*args)
            except Exception as e:  # noqa: BLE001 (handed to the caller, which names the task)
                yield i, e
        return
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    with ProcessPoolExecutor(min(jobs, len(calls)), mp_context=mp.get_context("spawn")) as pool:
        with one_thread_each():  # the workers start at the first submits
            pending = {pool.submit(fn, *args): i for i, args in enumerate(calls)}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for f in done:
                i = pending.pop(f)
                yield i, f.exception() if f.exception() is not None else f.result()
