"""Issue 12 for training and model files: no worker outlives a killed grid, no model file is
trusted or written unchecked, and `train` never writes over a user's file."""

import json
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file
from typer.testing import CliRunner

from sigdenoise.cli import app
from sigdenoise.errors import BundleError
from sigdenoise.models import bundle
from sigdenoise.models.autoencoder import Autoencoder
from sigdenoise.models.bundle import default_model_path


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def one_line(res) -> str:
    return " ".join(res.output.split())


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper counts as dead)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            state = next(line for line in f if line.startswith("State:"))
    except (FileNotFoundError, ProcessLookupError):
        return False
    return "Z" not in state.split()[1]


@pytest.mark.skipif(sys.platform != "linux", reason="forked workers and prctl are Linux-only")
def test_forked_workers_die_with_a_killed_parent(tmp_path):
    script = textwrap.dedent("""
        import multiprocessing, sys, time, torch
        from sigdenoise.train.members import Member
        from sigdenoise.train.stack import Ensemble
        from sigdenoise.train.stacked import train_ensemble
        def on_epoch(e, losses):
            if e == 0:
                print(" ".join(str(p.pid) for p in multiprocessing.active_children()), flush=True)
        x = {0: torch.randn(4000, 100)}
        ens = Ensemble.build([Member(5, a, 0) for a in ("relu", "tanh", "gelu", "identity")])
        train_ensemble(ens, x, 10_000, batch_size=256, on_epoch=on_epoch, workers=2, compile=False)
    """)
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        pids = [int(p) for p in parent.stdout.readline().split()]
        assert len(pids) == 2 and all(_alive(p) for p in pids)
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    deadline = time.time() + 10
    while any(_alive(p) for p in pids) and time.time() < deadline:
        time.sleep(0.1)
    assert not any(_alive(p) for p in pids), "a worker outlived its killed parent"


def _crafted(tmp_path, **changes):
    meta = bundle.read_meta(default_model_path())
    meta.update(changes)
    for k in [k for k, v in changes.items() if v is ...]:
        del meta[k]
    path = tmp_path / "crafted.safetensors"
    save_file(load_file(str(default_model_path())), str(path), metadata={"sigdenoise": json.dumps(meta)})
    return path


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"latent": ...}, "its metadata has no 'latent'"),
        ({"activation": ...}, "its metadata has no 'activation'"),
        ({"activation": None}, "metadata 'activation' must be one of"),
        ({"latent": "5"}, "metadata 'latent' must be one of 1, 5, got \"5\""),
        ({"width": "wide"}, "metadata 'width' must be empty or a whole number"),
        ({"scale": [0, 1]}, "metadata 'scale' must be a table of a finite center and a half_range > 0"),
        ({"scale": {"center": 0.0, "half_range": 0.0}}, "metadata 'scale' must be a table"),
        ({"scale": {"center": 0.0, "half_range": -1.0}}, "metadata 'scale' must be a table"),
        ({"n_samples": -100}, "metadata 'n_samples' must be a whole number from 1 to 100,000"),
        ({"n_samples": 10_000_000}, "metadata 'n_samples' must be a whole number from 1 to 100,000"),
        ({"n_samples": 1_000_000_000}, "metadata 'n_samples' must be a whole number from 1 to 100,000"),
        ({"vae": "yes"}, "metadata 'vae' must be true or false"),
    ],
)
def test_crafted_metadata_is_one_error_before_any_allocation(tmp_path, changes, message):
    path = _crafted(tmp_path, **changes)
    t0 = time.perf_counter()
    with pytest.raises(BundleError) as e:
        bundle.load(path)
    assert time.perf_counter() - t0 < 2.0  # refused from the metadata, not after allocating
    assert str(e.value).startswith(f"{path}: ") and message in str(e.value)
    src = tmp_path / "in.csv"
    np.savetxt(src, np.ones((2, 100)), delimiter=",")
    res = cli("denoise", src, "-o", tmp_path / "out.csv", "--model", path)
    assert res.exit_code == 2 and one_line(res).startswith(f"Error: {path}: ") and "Traceback" not in res.output
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize("raw", ["[1, 2]", '"a string"', "null", "{not json"])
def test_metadata_that_is_not_a_table_names_the_file(tmp_path, raw):
    path = tmp_path / "odd.safetensors"
    save_file(load_file(str(default_model_path())), str(path), metadata={"sigdenoise": raw})
    with pytest.raises(BundleError, match=str(path)):
        bundle.load(path)


def test_a_model_of_nan_weights_is_neither_written_nor_loaded(tmp_path):
    model = Autoencoder("gelu", 5, 0)
    with torch.no_grad():
        model.layers[2].weight[0, 0] = float("nan")
    with pytest.raises(BundleError, match=r"not written: weights 'layers.2.weight' hold NaN or inf"):
        bundle.save(tmp_path / "m.safetensors", model, {})
    assert list(tmp_path.iterdir()) == []
    tensors = load_file(str(default_model_path()))
    tensors["layers.0.bias"][3] = float("inf")
    path = tmp_path / "inf.safetensors"
    save_file(tensors, str(path), metadata={"sigdenoise": json.dumps(bundle.read_meta(default_model_path()))})
    with pytest.raises(BundleError, match=r"weights 'layers.0.bias' hold NaN or inf"):
        bundle.load(path)


def test_train_never_writes_over_its_data_or_a_users_tmp_file(tmp_path):
    data = tmp_path / "clean.csv"
    np.savetxt(data, np.sin(np.linspace(0, 60, 300))[None].repeat(5, 0), delimiter=",")
    before = data.read_bytes()
    link = tmp_path / "link.csv"
    link.symlink_to(data)
    for out in (data, link):
        res = cli("train", "--data", data, "--out", out, "--epochs", "1", "--n-train", "50")
        assert res.exit_code == 2 and f"is the same file as the training data (--data) {data}; name another file" in one_line(res), res.output
        assert data.read_bytes() == before and link.is_symlink()
    mine = tmp_path / "m.safetensors.tmp"  # a user's file with the name a fixed temporary would take
    mine.write_text("mine")
    res = cli("train", "--data", data, "--out", tmp_path / "m.safetensors", "--epochs", "1", "--n-train", "50")
    assert res.exit_code == 0, res.output
    assert mine.read_text() == "mine" and sorted(p.name for p in tmp_path.iterdir()) == [
        "clean.csv", "link.csv", "m.safetensors", "m.safetensors.tmp"]


@pytest.mark.parametrize(
    "args, option",
    [
        (["--sd", "inf"], "--sd"),
        (["--sd", "nan"], "--sd"),
        (["--lr", "1e10"], "--lr"),
        (["--train-noise", "1e308"], "--train-noise"),
        (["--seed", "99999999999999999999"], "--seed"),
        (["--epochs", "1000000000000"], "--epochs"),
        (["--n-train", "10000000000"], "--n-train"),
    ],
)
def test_train_options_that_would_fail_later_are_refused_first(tmp_path, args, option):
    res = cli("train", *args, "--out", tmp_path / "m.safetensors", "--epochs" if "--epochs" not in args else "--lr",
              "1" if "--epochs" not in args else "1e-3")  # fmt: skip
    assert res.exit_code == 2 and one_line(res).startswith(f"Error: {option}"), res.output
    assert "Traceback" not in res.output and list(tmp_path.iterdir()) == []


def test_ctrl_c_in_train_is_one_line_and_writes_nothing(tmp_path, monkeypatch):
    import sigdenoise.recordings.training as training

    def interrupt(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(training.front, "train", interrupt)
    res = cli("train", "--epochs", "1", "--n-train", "50", "--out", tmp_path / "m.safetensors")
    assert res.exit_code == 130 and res.output.strip().splitlines()[-1] == "Error: interrupted; nothing was written"
    assert list(tmp_path.iterdir()) == []


def test_a_numbered_header_beside_an_id_column_is_a_header(tmp_path):
    """The hint of a text cell among numbers says --id-col 1; following it must not turn the
    header `id,1,2,…,100` into a denoised signal."""
    rng = np.random.default_rng(0)
    x = np.sin(np.arange(100) / 5) + 0.1 * rng.standard_normal((3, 100))
    src = tmp_path / "ids.csv"
    lines = ["id," + ",".join(str(k) for k in range(1, 101))] + [f"s{i}," + ",".join(f"{v:.6f}" for v in r) for i, r in enumerate(x)]
    src.write_text("\n".join(lines) + "\n")
    res = cli("denoise", src, "-o", tmp_path / "out.csv")
    assert res.exit_code == 2 and "pass --id-col 1 if column 1 holds ids" in one_line(res)
    res = cli("denoise", src, "-o", tmp_path / "out.csv", "--id-col", "1")
    assert res.exit_code == 0, res.output
    out = (tmp_path / "out.csv").read_text().splitlines()
    assert out[0] == lines[0] and [r.split(",")[0] for r in out[1:]] == ["s0", "s1", "s2"]


def test_report_out_inside_its_cache_is_refused(tmp_path):
    cache = tmp_path / "cache"
    res = cli("report", "--quick", "--cache", cache, "--out", cache / "grid")
    assert res.exit_code == 2 and one_line(res).startswith("Error: --out:") and "must be apart" in one_line(res)
    assert not cache.exists()
