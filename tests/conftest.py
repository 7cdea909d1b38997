"""Test-wide settings: `--device auto` means CPU here, so that the tests pinned to CPU numbers
(bit-equal weights, float64 references, CPU tolerances) hold on a GPU host too; the CUDA path has
its own tests (tests/test_cuda.py), which ask for cuda and skip where there is none."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _auto_is_cpu(monkeypatch, request):
    if request.node.get_closest_marker("cuda") is not None:
        return
    import sigdenoise.device as device

    real = device.resolve
    monkeypatch.setattr(device, "resolve", lambda name=device.DEFAULT_DEVICE: real("cpu" if name == "auto" else name))


def pytest_configure(config):
    config.addinivalue_line("markers", "cuda: runs on CUDA (skipped without it); auto resolves as it would")
