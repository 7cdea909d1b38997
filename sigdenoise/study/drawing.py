"""Figures drawn side by side: one forked process per core (CPU, Linux), as training is.

matplotlib draws in Python under the GIL, so threads would take turns; each figure is independent
of the others and its PNG does not depend on the process that drew it (tested byte for byte), so a
run's figures are shared out among forked processes. Elsewhere (no fork, one core, a daemonic
process, one figure) they are drawn in turn, here.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Job:
    """One figure: draw(*args, path, **kwargs) writes `path`."""

    draw: Callable[..., object]
    path: Path
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)

    def __call__(self) -> object:
        return self.draw(*self.args, self.path, **self.kwargs)


def _run(job: Job) -> object:
    return job()


def processes(n_jobs: int) -> int:
    """How many processes draw n_jobs figures: one per core this process may use, at most one per
    figure; 1 (draw here) where forking is not the platform's safe default or not allowed."""
    if n_jobs < 2 or not sys.platform.startswith("linux") or mp.current_process().daemon:
        return 1
    return max(1, min(n_jobs, len(os.sched_getaffinity(0))))


def draw(jobs: Sequence[Job]) -> list[object]:
    """Run every job, in forked processes where `processes` allows; returns each job's value in
    the jobs' order. A job's error is raised here, after the others have finished."""
    n = processes(len(jobs))
    if n == 1:
        return [job() for job in jobs]
    with ProcessPoolExecutor(n, mp_context=mp.get_context("fork")) as pool:
        return list(pool.map(_run, jobs))
