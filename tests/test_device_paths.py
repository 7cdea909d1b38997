"""The device fixes of issue 15 that can be checked without a GPU: the meta device stands in for
CUDA (a tensor on another device than the generator's), the fused-Adam probe, and a resume that
would mix devices."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from sigdenoise.cli import app
from sigdenoise.train import adam, objectives


@pytest.mark.parametrize("kind", ["gaussian", "masking", "salt-pepper"])
def test_corrupt_draws_on_the_generators_device(kind, monkeypatch):
    """x on the meta device (standing in for CUDA) with a seeded CPU generator: the draws are made
    on the generator's device, CPU, and moved to x's (drawing a CUDA tensor from a CPU generator
    raised on the first batch); on CPU they are the generator's own, torch.randn of the same seed."""
    seen = []
    with monkeypatch.context() as m:
        for name in ("randn", "rand"):
            real = getattr(torch, name)

            def spy(*a, _real=real, **k):
                seen.append(str(k.get("device")))
                return _real(*a, **k)

            m.setattr(torch, name, spy)
        x = torch.ones(2, 4, 8, device="meta")
        out = objectives.corrupt(x, kind, torch.full((2, 1, 1), 0.5, device="meta"), torch.Generator().manual_seed(1))
    assert out.device.type == "meta" and out.shape == x.shape
    assert seen == ["cpu"], seen
    y = objectives.corrupt(torch.zeros(2, 4, 8), "gaussian", torch.ones(2, 1, 1), torch.Generator().manual_seed(1))
    torch.testing.assert_close(y, torch.randn(2, 4, 8, generator=torch.Generator().manual_seed(1)), rtol=0, atol=0)


def test_fused_adam_is_probed_not_assumed(monkeypatch):
    """fused_adam_on('cpu') is what the kernel does on a one-element tensor: True on this torch;
    False when torch has no _fused_adam_, and False when it has one that refuses CPU (torch 2.2-2.3)."""
    adam.fused_adam_on.cache_clear()
    assert adam.fused_adam_on("cpu") is True
    assert adam.fused_adam_on("meta") is False

    def cuda_only(*a, **k):
        raise RuntimeError("_fused_adam_ is not implemented for CPU")

    monkeypatch.setattr(torch, "_fused_adam_", cuda_only)
    adam.fused_adam_on.cache_clear()
    assert adam.fused_adam_on("cpu") is False
    monkeypatch.delattr(torch, "_fused_adam_")
    adam.fused_adam_on.cache_clear()
    assert adam.fused_adam_on("cpu") is False
    adam.fused_adam_on.cache_clear()


def test_resume_on_another_kind_of_device_is_refused(tmp_path):
    """A run folder trained on cuda, resumed with --device cpu: one line naming the folder and the
    option, nothing trained (results.csv not written)."""
    args = ["grid", "--activation", "identity", "--latent", "5", "--noise", "1.0", "--epochs", "1",
            "--n-train", "100", "--n-test", "20", "--device", "cpu", "--out", str(tmp_path / "run")]  # fmt: skip
    assert CliRunner().invoke(app, args).exit_code == 0
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["device"] == "cpu"
    config["device"] = "cuda:0"
    (tmp_path / "run" / "config.json").write_text(json.dumps(config))
    (tmp_path / "run" / "results.csv").unlink()
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 2
    assert " ".join(res.output.split()) == (f"Error: --device: {tmp_path / 'run'} was trained on cuda; a resumed run "
                                            "trains on the same kind of device (pass --device cuda) or takes another folder")  # fmt: skip
    assert not (tmp_path / "run" / "results.csv").exists()
