"""The CUDA path (issue 15): a tiny grid, training with noise and denoising on a GPU. Each test
skips cleanly where CUDA is absent; where present, its numbers are checked against the CPU's at a
float32 tolerance (rounding differs between the devices, the seeds' draws do not: every random
stream is a CPU generator whose draws are moved to the device)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from sigdenoise.cli import app
from sigdenoise.models import bundle
from sigdenoise.train import objectives

pytestmark = [pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")]

GRID = ["--activation", "gelu", "--activation", "relu", "--latent", "5", "--noise", "1.0", "--epochs", "3",
        "--n-train", "400", "--n-test", "50"]  # fmt: skip


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_tiny_grid_on_cuda_matches_cpu(tmp_path):
    """The same grid on cuda and on cpu: every MSE within 1e-3 relative (float32 on two devices)."""
    for dev in ("cpu", "cuda"):
        res = cli("grid", *GRID, "--device", dev, "--out", tmp_path / dev)
        assert res.exit_code == 0, res.output
    a, b = (pd.read_csv(tmp_path / d / "results.csv").sort_values(["model", "activation", "noise"]) for d in ("cpu", "cuda"))
    np.testing.assert_allclose(a["mse"].to_numpy(), b["mse"].to_numpy(), rtol=1e-3)


@pytest.mark.parametrize("noise", ["0.3", "0:0.5"])
@pytest.mark.parametrize("kind", ["gaussian", "masking", "salt-pepper"])
def test_train_with_noise_on_cuda(tmp_path, noise, kind):
    """`train --train-noise L --device cuda` trains (it failed on the first batch: a CPU generator
    drawing CUDA tensors), and its weights are the CPU run's within float32 rounding."""
    if kind != "gaussian" and ":" in noise:
        pytest.skip("a range is a gaussian level")
    level = "0.3" if kind != "gaussian" else noise
    for dev in ("cpu", "cuda"):
        res = cli("train", "--train-noise", level, "--noise-type", kind, "--epochs", "2", "--n-train", "600",
                  "--device", dev, "--out", tmp_path / f"{dev}.safetensors")  # fmt: skip
        assert res.exit_code == 0, res.output
    (m1, _), (m2, _) = (bundle.load(tmp_path / f"{d}.safetensors") for d in ("cpu", "cuda"))
    for (k, v1), v2 in zip(m1.state_dict().items(), m2.state_dict().values()):
        torch.testing.assert_close(v1, v2.cpu(), rtol=1e-3, atol=1e-4, msg=k)


def test_corruption_draws_are_the_same_on_cpu_and_cuda():
    """objectives.corrupt with a seeded CPU generator gives the same noise on either device."""
    x = torch.zeros(2, 8, 16)
    level = torch.full((2, 1, 1), 0.5)
    for kind in ("gaussian", "masking"):
        a = objectives.corrupt(x + 1, kind, level, torch.Generator().manual_seed(3))
        b = objectives.corrupt((x + 1).cuda(), kind, level.cuda(), torch.Generator().manual_seed(3))
        torch.testing.assert_close(a, b.cpu(), rtol=0, atol=0)


def test_denoise_on_cuda_matches_cpu(tmp_path):
    """`denoise --method ae --no-fit --device cuda` equals the CPU run within float32 rounding."""
    x = np.sin(np.arange(300) / 9)[None].repeat(4, 0) + 0.2 * np.random.default_rng(0).standard_normal((4, 300))
    np.save(tmp_path / "in.npy", x)
    for dev in ("cpu", "cuda"):
        res = cli("denoise", tmp_path / "in.npy", "-o", tmp_path / f"{dev}.npy", "--method", "ae", "--no-fit",
                  "--device", dev)  # fmt: skip
        assert res.exit_code == 0, res.output
    np.testing.assert_allclose(np.load(tmp_path / "cuda.npy"), np.load(tmp_path / "cpu.npy"), rtol=1e-4, atol=1e-5)

