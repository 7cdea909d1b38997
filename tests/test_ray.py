"""Grids, reports, sweeps and many files as tasks (issue 17): on Ray (a local Ray of 2 CPUs,
started once here; skipped without the `ray` extra) they give what the local backend gives."""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from sigdenoise.cli import app
from sigdenoise.distribute import grids
from sigdenoise.distribute.backend import Cluster
from sigdenoise.distribute.sweep import Sweep, point_name, points
from sigdenoise.errors import SettingsError
from sigdenoise.study.runfolder import RunFolder
from sigdenoise.study.settings import GridSettings

SMALL = ["--activation", "gelu", "--activation", "tanh", "--latent", "5", "--noise", "1.0", "--seed", "0", "--seed", "1",
         "--epochs", "2", "--n-train", "300", "--n-test", "50", "--device", "cpu"]  # fmt: skip
HOW_IT_RAN = ["train_seconds", "ensemble_size"]  # the only columns a task's rows may differ in


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def ray():
    ray = pytest.importorskip("ray", reason="the ray extra is not installed (pip install 'sigdenoise[ray]')")
    ray.init(num_cpus=2, include_dashboard=False, logging_level="error")
    yield ray
    ray.shutdown()


def results(folder) -> pd.DataFrame:
    return RunFolder(folder).read_results().drop(columns=HOW_IT_RAN)


def test_grid_on_ray_equals_local(ray, tmp_path):
    """A 2-seed grid of plain and denoising members: --backend ray writes the local run's
    results.csv row for row and number for number (but the timing columns), the same probe.csv and
    training_loss.csv byte for byte, and a sub-run per seed that is a run folder of its own."""
    args = [*SMALL, "--variant", "plain", "--variant", "denoising"]
    local = cli("grid", *args, "--out", tmp_path / "local")
    assert local.exit_code == 0, local.output
    on_ray = cli("grid", *args, "--out", tmp_path / "ray", "--backend", "ray")
    assert on_ray.exit_code == 0, on_ray.output
    a, b = results(tmp_path / "local"), results(tmp_path / "ray")
    assert len(a) == 24 and a.equals(b)
    for name in ("probe.csv", "training_loss.csv"):
        assert (tmp_path / "local" / name).read_bytes() == (tmp_path / "ray" / name).read_bytes()
    for s in (0, 1):
        sub = results(tmp_path / "ray" / "tasks" / f"seed-{s}")
        assert sub.equals(a[a["seed"] == s].reset_index(drop=True))
    assert sorted(p.name for p in (tmp_path / "ray" / "models").iterdir()) == \
        sorted(p.name for p in (tmp_path / "local" / "models").iterdir())  # fmt: skip
    assert (tmp_path / "ray" / "figures" / "heatmap_test_mse.png").is_file()
    # The merged folder is a complete local run: resumed locally, nothing is retrained.
    again = cli("grid", *args, "--out", tmp_path / "ray")
    assert again.exit_code == 0 and "training" not in again.output
    assert results(tmp_path / "ray").equals(a)
    # And the other way: a local run resumed on Ray trains nothing again (its models seed the
    # tasks, so every row keeps the local training's train_seconds).
    before = RunFolder(tmp_path / "local").read_results()
    back = cli("grid", *args, "--out", tmp_path / "local", "--backend", "ray")
    assert back.exit_code == 0, back.output
    assert RunFolder(tmp_path / "local").read_results().equals(before)


def test_interrupted_driver_reruns_only_unfinished_tasks(ray, tmp_path):
    """The driver stops (Ctrl-C) as soon as the first task is done: the rerun says that task is
    done, does not touch its models, runs the other, and merges the same numbers as local."""
    settings = GridSettings(activations=("gelu",), latents=(5,), noises=(1.0,), seeds=(0, 1), epochs=2, n_train=300,
                            n_test=50, device="cpu")  # fmt: skip
    folder = RunFolder(tmp_path / "run")
    where = Cluster("ray", cpus_per_task=2)  # one task at a time on this Ray of 2 CPUs
    said = []

    def stop_after_first(kind, message, **_):
        said.append(message)
        if "done on" in message:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        grids.run([(settings, folder)], where, stop_after_first)
    finished = [n for n in ("seed-0", "seed-1") if (folder.root / "tasks" / n / grids.DONE).is_file()]
    assert len(finished) == 1
    model = next((folder.root / "tasks" / finished[0] / "models").iterdir())
    stamp = model.stat().st_mtime_ns
    said.clear()
    (merged,) = grids.run([(settings, folder)], where, lambda kind, message, **_: said.append(message))
    assert "1 of 2 tasks already done" in said
    assert sum("done on" in m for m in said) == 1 and finished[0] not in " ".join(m for m in said if "done on" in m)
    assert model.stat().st_mtime_ns == stamp
    local = cli("grid", *SMALL[:2], *SMALL[4:], "--out", tmp_path / "local")
    assert local.exit_code == 0, local.output
    assert merged.drop(columns=HOW_IT_RAN).equals(results(tmp_path / "local"))
    # A task's folder is a run folder `grid` resumes as it is (nothing to train).
    one = ["--activation", "gelu", "--latent", "5", "--noise", "1.0", "--seed", "1", "--epochs", "2", "--n-train", "300",
           "--n-test", "50", "--device", "cpu"]  # fmt: skip
    res = cli("grid", *one, "--out", folder.root / "tasks" / "seed-1")
    assert res.exit_code == 0 and "training" not in res.output, res.output


def test_a_failed_task_fails_alone(ray, tmp_path):
    """A task whose sub-run folder holds another run's config fails, named with its error; the
    other task finishes and is kept (its done.json); nothing is merged until every task is done."""
    settings = GridSettings(activations=("gelu",), latents=(5,), noises=(1.0,), seeds=(0, 1), epochs=2, n_train=300,
                            n_test=50, device="cpu")  # fmt: skip
    bad = tmp_path / "run" / "tasks" / "seed-1"
    bad.mkdir(parents=True)
    (bad / "config.json").write_text(json.dumps({"settings": {"epochs": 7}}))
    with pytest.raises(grids.TaskError) as e:
        grids.run([(settings, RunFolder(tmp_path / "run"))], Cluster("ray"))
    said = str(e.value)
    assert said.startswith("1 of 2 tasks failed (") and "seed-1: --out:" in said and "epochs=7, not 2" in said
    assert (tmp_path / "run" / "tasks" / "seed-0" / grids.DONE).is_file()
    assert not (tmp_path / "run" / "results.csv").exists()


@pytest.mark.parametrize("backend", ["local", "ray"])
def test_sweep_merges_one_block_per_value(request, tmp_path, backend):
    """--sweep beta=0.01,0.1 on the VAE: a sub-run per value, each the grid run with that beta
    alone; results.csv at the top holds each run's rows, in order, with a beta column."""
    if backend == "ray":
        request.getfixturevalue("ray")
    args = ["--activation", "gelu", "--latent", "5", "--noise", "1.0", "--epochs", "2", "--n-train", "300",
            "--n-test", "50", "--device", "cpu", "--variant", "vae"]  # fmt: skip
    res = cli("grid", *args, "--sweep", "beta=0.01,0.1", "--out", tmp_path / "sweep", "--backend", backend)
    assert res.exit_code == 0, res.output
    table = pd.read_csv(tmp_path / "sweep" / "results.csv")
    assert list(table.columns[:2]) == ["beta", "model"]
    assert list(dict.fromkeys(table["beta"])) == [0.01, 0.1]
    for beta in (0.01, 0.1):
        alone = cli("grid", *args, "--beta", beta, "--out", tmp_path / f"alone{beta}")
        assert alone.exit_code == 0, alone.output
        block = table[table["beta"] == beta].drop(columns=["beta", *HOW_IT_RAN]).reset_index(drop=True)
        block = block.fillna({"variant": "", "activation": ""})  # read_results keeps empty text as ""
        want = results(tmp_path / f"alone{beta}")
        pd.testing.assert_frame_equal(block, want, check_dtype=False)
        assert (tmp_path / "sweep" / f"beta={beta:g}" / "summary.md").is_file()
    vae = table[table["model"] == "ae"]
    assert vae.groupby("beta")["mse"].first().nunique() == 2  # beta changes the model
    assert "## beta=0.01" in (tmp_path / "sweep" / "summary.md").read_text()


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    t = np.arange(400) / 10
    for i in range(4):
        np.savetxt(tmp_path / f"r{i}.csv", np.sin(t * (1 + i / 4))[None].repeat(3, 0) + 0.2 * rng.standard_normal((3, 400)),
                   delimiter=",")  # fmt: skip
    (tmp_path / "bad.csv").write_text("1,2,x\n")
    return tmp_path


@pytest.mark.parametrize("how", [["--backend", "ray"], ["--jobs", "2"]])
def test_many_files_in_parallel_equal_one_by_one(request, files, how):
    """Four recordings and a bad file, on Ray or 2 local processes: each output byte for byte the
    one-file run's, each report the same but for its paths (every run takes one BLAS thread, so
    neither depends on where it ran); bad.csv named and not written; exit 2.
    A rerun skips the four, and redoes one whose input changed."""
    if "ray" in how:
        request.getfixturevalue("ray")
    inputs = [files / f"r{i}.csv" for i in range(4)] + [files / "bad.csv"]
    res = cli("denoise", *inputs, "-O", files / "outs", *how)
    assert res.exit_code == 2
    said = " ".join(res.output.split())
    assert "bad.csv, line 1, column 3: 'x' is not a number" in said and "1 of 5 inputs failed" in said
    for i in range(4):
        one = cli("denoise", files / f"r{i}.csv", "-o", files / f"one{i}.csv")
        assert one.exit_code == 0, one.output
        assert (files / "outs" / f"r{i}.csv").read_bytes() == (files / f"one{i}.csv").read_bytes()
        doc = json.loads((files / "outs" / f"r{i}.csv.json").read_text())
        ref = json.loads((files / f"one{i}.csv.json").read_text())
        for d in (doc, ref):
            d.pop("output"), d["settings"].pop("out")
        assert doc == ref
    assert not (files / "outs" / "bad.csv").exists()
    np.savetxt(files / "r2.csv", np.zeros((3, 400)) + 1, delimiter=",")  # a changed input is redone
    again = cli("denoise", *inputs[:4], "-O", files / "outs", *how)
    assert again.exit_code == 0, again.output
    assert "3 of 4 outputs already made from the same inputs and settings: skipped" in " ".join(again.output.split())
    assert np.allclose(np.loadtxt(files / "outs" / "r2.csv", delimiter=","), 1)


def test_ray_backend_without_ray_is_one_line(monkeypatch, files):
    """Without the extra, --backend ray is one line naming it, exit 2, nothing written."""
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    res = cli("denoise", files / "r0.csv", files / "r1.csv", "-O", files / "outs", "--backend", "ray")
    assert res.exit_code == 2
    assert "ray is not installed; pip install 'sigdenoise[ray]'" in " ".join(res.output.split())
    assert not (files / "outs" / "r0.csv").exists()
    res = cli("grid", *SMALL, "--out", files / "run", "--backend", "ray")
    assert res.exit_code == 2 and "sigdenoise[ray]" in res.output
    assert not (files / "run" / "results.csv").exists()


def test_sweep_values_and_points():
    """Parsing by hand-worked cases: numbers in order, ints for int settings, a dash for an
    underscore; the product of two sweeps, first slowest; bad ones name --sweep."""
    assert Sweep.parse("beta=1e-3,1e-2") == Sweep("beta", (0.001, 0.01))
    assert Sweep.parse("batch-size=128,256") == Sweep("batch_size", (128, 256))
    assert [point_name(p) for p in points([Sweep("beta", (0.1, 1.0)), Sweep("lr", (0.01,))])] == \
        ["beta=0.1,lr=0.01", "beta=1,lr=0.01"]  # fmt: skip
    for bad, words in [("beta", "takes SETTING=V1,V2"), ("seeds=1,2", "cannot sweep 'seeds'"),
                       ("epochs=1.5", "not an integer"), ("beta=x", "not a number"), ("beta=1,1", "given twice"),
                       ("lr=nan", "not finite")]:  # fmt: skip
        with pytest.raises(SettingsError, match=words):
            Sweep.parse(bad)


def test_cluster_options_are_validated():
    for kw, words in [({"backend": "dask"}, "--backend"), ({"cpus_per_task": 0}, "--cpus-per-task"),
                      ({"gpus_per_task": -1}, "--gpus-per-task"), ({"jobs": 0}, "--jobs"),
                      ({"address": "h:1"}, "--ray-address: needs --backend ray")]:  # fmt: skip
        with pytest.raises(SettingsError, match=words):
            Cluster(**kw)


def test_fresh_accepts_a_cache_of_task_runs_only(tmp_path):
    """`report --fresh` deletes a cache whose runs were made of tasks (tasks/seed-<s>/, each a run
    folder with its done.json), and still refuses one with anything else inside tasks/."""
    from sigdenoise.study.resume import check_fresh_cache

    cfg = json.dumps({"settings": {"epochs": 2}})
    for name in ("grid", "variants"):
        task = tmp_path / "cache" / name / "tasks" / "seed-0"
        task.mkdir(parents=True)
        for f in ("config.json", "done.json"):
            (task / f).write_text(cfg)
        (task / "results.csv").write_text("model\n")
        (tmp_path / "cache" / name / "config.json").write_text(cfg)
    assert [p.name for p in check_fresh_cache(tmp_path / "cache")] == ["grid", "variants"]
    (tmp_path / "cache" / "grid" / "tasks" / "notes.txt").write_text("mine")
    with pytest.raises(SettingsError, match="holds grid, which is not a report cache's run folder"):
        check_fresh_cache(tmp_path / "cache")


def test_a_task_killed_at_its_first_write_is_resumed(tmp_path):
    """A folder holding only an atomic write's leftover (.config.json.XXXX.tmp: a task or run killed
    while writing its first file) and the lock is taken as an empty run folder, not refused."""
    from sigdenoise.study.resume import check_folder_is_run

    (tmp_path / "t").mkdir()
    (tmp_path / "t" / ".config.json.k3j2.tmp").write_text("{")
    (tmp_path / "t" / ".lock").write_text("1")
    check_folder_is_run(tmp_path / "t")
    (tmp_path / "t" / "notes.txt").write_text("mine")
    with pytest.raises(SettingsError, match="is a folder with other files and no run's config.json"):
        check_folder_is_run(tmp_path / "t")
