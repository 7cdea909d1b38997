"""The one place the compute device is chosen; it is passed down from here."""

from __future__ import annotations

import torch

from sigdenoise.errors import SettingsError

DEVICES = ("auto", "cpu", "cuda")  # the --device choices of every command
DEFAULT_DEVICE = "auto"
HELP = "auto takes CUDA when present."


def resolve(name: str = DEFAULT_DEVICE) -> torch.device:
    """auto: CUDA when present, else CPU. Asking for cuda without it is a SettingsError."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise SettingsError("--device", "cuda was asked for but no CUDA device is available")
    if name not in DEVICES:
        raise SettingsError("--device", f"must be auto, cpu or cuda, got {name!r}")
    return torch.device(name)
