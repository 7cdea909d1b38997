"""The one place the compute device is chosen; it is passed down from here. Also the one
place a denoise's BLAS threads are fixed (`one_blas_thread`)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING

from sigdenoise.errors import SettingsError

if TYPE_CHECKING:
    import torch

DEVICES = ("auto", "cpu", "cuda")  # the --device choices of every command
DEFAULT_DEVICE = "auto"
HELP = "auto takes CUDA when present."


def resolve(name: str = DEFAULT_DEVICE) -> torch.device:
    """auto: CUDA when present, else CPU. Asking for cuda without it is a SettingsError. torch is
    imported here, not with this module: the settings that name a device do not need it."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise SettingsError("--device", "cuda was asked for but no CUDA device is available")
    if name not in DEVICES:
        raise SettingsError("--device", f"must be auto, cpu or cuda, got {name!r}")
    return torch.device(name)


@contextmanager
def one_blas_thread():
    """numpy's BLAS on one thread for the block: a denoised output must not depend on the machine's
    cores or on the process it runs in (a one-file run, a worker of --jobs, a Ray task, the Python
    API). Two threads sum in another order, and about one value in 10,000 then rounded to the other
    side of its 9th printed digit; one thread cost nothing measurable (5,000 signals: 139-142 s
    against 135-139 s)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        yield
