"""A small grid through Typer's CliRunner, with every file it writes read back."""

import json
import os

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from typer.testing import CliRunner

from sigdenoise.cli import app
from sigdenoise.evaluate import scoring
from sigdenoise.models import bundle
from sigdenoise.study.runfolder import RESULT_COLUMNS

SMALL = ["--activation", "identity", "--activation", "tanh", "--latent", "5", "--noise", "0.1", "--noise", "1.0",
         "--epochs", "2", "--n-train", "300", "--n-test", "60", "--device", "cpu"]  # fmt: skip


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("grid") / "run"
    res = CliRunner().invoke(app, ["grid", *SMALL, "--out", str(out)])
    assert res.exit_code == 0, res.output
    return out, res


def test_results_table(run):
    out, _ = run
    df = pd.read_csv(out / "results.csv")
    assert list(df.columns) == RESULT_COLUMNS
    # noisy: 2 noise x 2 sets; svd: 1 latent x 2 x 2; ae: 2 activations x 1 latent x 2 x 2.
    assert len(df) == 4 + 4 + 8
    assert df.groupby("model").size().to_dict() == {"ae": 8, "noisy": 4, "svd": 4}
    assert (df["mse"] > 0).all() and df["snr_in_db"].notna().all()
    noisy = df[df["model"] == "noisy"]
    assert (noisy["snr_gain_db"] == 0).all()
    # Noisy MSE is the noise variance l^2 (test: 6,000 samples, so within ~10 %).
    for level in (0.1, 1.0):
        got = noisy[(noisy["noise"] == level) & (noisy["eval"] == "test")]["mse"].item()
        assert abs(got / level**2 - 1) < 0.1
    probe = df[df["eval"] == "probe"]
    assert probe["mean_mse"].notna().all() and df[df["eval"] == "test"]["mean_mse"].isna().all()
    # At high noise the SVD projector removes most of the noise on sin(t).
    svd = probe[(probe["model"] == "svd") & (probe["noise"] == 1.0)]["mse"].item()
    assert svd < 0.5 * probe[(probe["model"] == "noisy") & (probe["noise"] == 1.0)]["mse"].item()
    ae = df[df["model"] == "ae"]
    assert (ae["epochs"] == 2).all() and (ae["ensemble_size"] == 2).all() and (ae["final_train_loss"] > 0).all()


def test_models_reload_and_reproduce_their_rows(run):
    out, _ = run
    df = pd.read_csv(out / "results.csv", keep_default_na=False, na_values=[""])
    sets = scoring.eval_sets(0, 60, 2.25)
    for act in ("identity", "tanh"):
        model, meta = bundle.load(out / "models" / f"ae-{act}-latent5-seed0.safetensors")
        assert meta["activation"] == act and meta["latent"] == 5 and meta["epochs"] == 2
        rows, _ = scoring.evaluate(model, sets, 1.0)
        want = df[(df["activation"] == act) & (df["noise"] == 1.0)].set_index("eval")["mse"]
        for r in rows:
            assert_allclose(r["mse"], want[r["eval"]], rtol=1e-6)


def test_config_summary_figures(run):
    out, res = run
    config = json.loads((out / "config.json").read_text())
    assert config["settings"]["epochs"] == 2 and config["settings"]["latents"] == [5]
    assert config["settings"]["activations"] == ["identity", "tanh"]
    assert {"command", "version", "git_commit", "device"} <= set(config)
    summary = (out / "summary.md").read_text()
    assert "## Test MSE" in summary and "| svd |" in summary and "| tanh |" in summary
    for name in ["probe_latent5_noise1.png", "probe_mean_latent5_noise0.1.png", "heatmap_test_mse.png",
                 "probe_noisy.png", "training_loss.png"]:  # fmt: skip
        data = (out / "figures" / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    probe = pd.read_csv(out / "probe.csv")
    # noisy + svd + 2 AEs, each 10 copies x 100 samples, at 2 noise levels.
    assert len(probe) == 4 * 10 * 100 * 2
    assert "| svd |" in res.stdout  # the summary table is printed


def test_figures_drawn_side_by_side_equal_those_drawn_in_turn(run, tmp_path, monkeypatch):
    """A run's figures are shared out among forked processes (study/drawing.py): each PNG is the
    one drawn here, byte for byte, and a figure that fails is raised with its own error."""
    from concurrent.futures.process import BrokenProcessPool

    from sigdenoise.study import drawing, figures

    out, _ = run
    tables = [pd.read_csv(out / name) for name in ("results.csv", "probe.csv", "training_loss.csv")]
    jobs = {}
    for where, n in (("forked", 2), ("here", 1)):
        monkeypatch.setattr(drawing, "processes", lambda n_jobs, n=n: n)
        (tmp_path / where).mkdir()
        jobs[where] = figures.write_all(tables[0], tables[1], tmp_path / where, "footer", tables[2])
    assert [p.name for p in jobs["forked"]] == [p.name for p in jobs["here"]] == [
        "probe_latent5_noise0.1.png", "probe_mean_latent5_noise0.1.png", "probe_latent5_noise1.png",
        "probe_mean_latent5_noise1.png", "probe_noisy.png", "heatmap_test_mse.png", "training_loss.png"]  # fmt: skip
    for a, b in zip(jobs["forked"], jobs["here"]):
        assert a.read_bytes() == b.read_bytes(), a.name
    # The grid drew the same figures (its footer names the run).
    assert sorted(p.name for p in (out / "figures").iterdir()) == sorted(p.name for p in jobs["here"])

    monkeypatch.setattr(drawing, "processes", lambda n_jobs: 2)
    bad = drawing.Job(figures.mse_heatmap, tmp_path / "bad.png", (tables[0].iloc[:0],))
    with pytest.raises(Exception) as e:
        drawing.draw([drawing.Job(figures.noisy_probe_figure, tmp_path / "ok.png", (tables[1],)), bad])
    assert not isinstance(e.value, BrokenProcessPool) and (tmp_path / "ok.png").is_file()
    assert not (tmp_path / "bad.png").exists()


def test_resume_skips_finished_cells_and_extends(run):
    out, _ = run
    stamp = {p.name: p.stat().st_mtime_ns for p in (out / "models").iterdir()}
    before = pd.read_csv(out / "results.csv")
    res = CliRunner().invoke(app, ["grid", *SMALL, "--out", str(out)])
    assert res.exit_code == 0 and "training" not in res.output
    assert {p.name: p.stat().st_mtime_ns for p in (out / "models").iterdir()} == stamp
    pd.testing.assert_frame_equal(pd.read_csv(out / "results.csv"), before)
    # A new noise level evaluates the saved models without training them again.
    res = CliRunner().invoke(app, ["grid", *SMALL, "--noise", "0.5", "--out", str(out)])
    assert res.exit_code == 0 and "training" not in res.output
    after = pd.read_csv(out / "results.csv")
    assert len(after) == len(before) + 2 + 2 + 4
    assert_allclose(after[after["noise"] == 0.5].query("model == 'noisy' and eval == 'test'")["mse"], 0.25, rtol=0.1)


def test_killed_run_leaves_valid_results_and_resumes(tmp_path, monkeypatch):
    import sigdenoise.train.front as front

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    out = tmp_path / "run"
    monkeypatch.setattr(front, "train_ensemble", killed)
    res = CliRunner().invoke(app, ["grid", *SMALL, "--out", str(out)])
    assert res.exit_code != 0
    df = pd.read_csv(out / "results.csv")  # valid: the baselines finished before training began
    assert set(df["model"]) == {"noisy", "svd"} and len(df) == 8
    assert not list(out.glob("*.tmp"))
    monkeypatch.undo()
    res = CliRunner().invoke(app, ["grid", *SMALL, "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert len(pd.read_csv(out / "results.csv")) == 16


@pytest.mark.parametrize(
    "args, option",
    [
        (["--activation", "swish"], "--activation"),
        (["--latent", "3"], "--latent"),
        (["--noise", "-0.5"], "--noise"),
        (["--noise", "0"], "--noise: must be a finite level > 0"),
        (["--epochs", "0"], "--epochs"),
        (["--n-train", "abc"], "--n-train"),
        (["--width", "64"], "--width: widens the denoising variant only"),
    ],
)
def test_bad_input_one_line_nonzero_nothing_written(tmp_path, args, option):
    out = tmp_path / "run"
    res = CliRunner().invoke(app, ["grid", *args, "--out", str(out)])
    assert res.exit_code == 2
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and option in lines[0], res.output
    assert not out.exists()


def test_cuda_without_cuda_is_an_error(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    out = tmp_path / "run"
    res = CliRunner().invoke(app, ["grid", "--device", "cuda", "--out", str(out)])
    assert res.exit_code == 2 and "--device" in res.output and len(res.output.strip().splitlines()) == 1
    assert not out.exists()


def test_changed_training_settings_refuse_the_folder(run):
    out, _ = run
    res = CliRunner().invoke(app, ["grid", *SMALL[:-6], "--epochs", "3", "--n-train", "300", "--out", str(out)])
    assert res.exit_code == 2 and "--out" in res.output and "epochs=2" in res.output


def test_out_that_is_a_file_or_holds_a_broken_config_is_an_error(tmp_path):
    (tmp_path / "file.csv").write_text("x\n")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text("{bad")
    (tmp_path / "null").mkdir()
    (tmp_path / "null" / "config.json").write_text('{"settings": null}')
    for out, message in [("file.csv", "file.csv is a file, not a folder"),
                         ("file.csv/sub", "file.csv is a file, not a folder"),
                         ("broken", "config.json is not a run's config"),
                         ("null", "config.json is not a run's config")]:  # fmt: skip
        res = CliRunner().invoke(app, ["grid", *SMALL, "--out", str(tmp_path / out)])
        lines = res.output.strip().splitlines()
        assert res.exit_code == 2 and len(lines) == 1 and "--out" in lines[0] and message in res.output.replace("\n", ""), res.output
    assert (tmp_path / "file.csv").read_text() == "x\n" and sorted(p.name for p in (tmp_path / "broken").iterdir()) == ["config.json"]


def test_quick_report_defaults_to_a_folder_apart_from_the_report(tmp_path, monkeypatch):
    from pathlib import Path

    from sigdenoise.study import report as report_mod

    seen = []
    monkeypatch.setattr(report_mod, "build", lambda settings, out, cache, *a, **k: seen.append((settings.quick, out, cache)))
    monkeypatch.chdir(tmp_path)
    for args in (["report", "--quick"], ["report"]):
        res = CliRunner().invoke(app, args)
        assert res.exit_code == 0, res.output
    assert seen == [(True, Path("runs/quick-report"), Path("runs/report-quick")), (False, Path("runs/report-out"), Path("runs/report"))]
    # Bad folders are refused before any training, in one line.
    (tmp_path / "afile").write_text("x")
    (tmp_path / "c" / "grid").mkdir(parents=True)
    (tmp_path / "c" / "grid" / "config.json").write_text("{bad")
    for args, message in [(["--out", "afile"], "--out: "), (["--cache", "afile/x"], "--cache: "),
                          (["--cache", "c"], "--cache: ")]:  # fmt: skip
        res = CliRunner().invoke(app, ["report", "--quick", *args])
        assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 1 and message in res.output, res.output
    assert len(seen) == 2


def test_resume_with_a_new_seed_keeps_every_curve_and_refuses_a_subset(tmp_path):
    out = tmp_path / "run"
    base = ["grid", "--activation", "identity", "--latent", "5", "--noise", "0.1", "--epochs", "2", "--n-train", "300",
            "--n-test", "40", "--device", "cpu", "--out", str(out)]  # fmt: skip
    assert CliRunner().invoke(app, base).exit_code == 0
    first = pd.read_csv(out / "training_loss.csv", index_col="epoch")
    res = CliRunner().invoke(app, [*base, "--seed", "0", "--seed", "1"])
    assert res.exit_code == 0, res.output
    loss = pd.read_csv(out / "training_loss.csv", index_col="epoch")
    assert list(loss.columns) == ["ae-identity-latent5-seed0", "ae-identity-latent5-seed1"]
    pd.testing.assert_series_equal(loss["ae-identity-latent5-seed0"], first["ae-identity-latent5-seed0"])  # kept as trained
    assert json.loads((out / "config.json").read_text())["settings"]["seeds"] == [0, 1]
    # Seed 1 alone would rewrite config, summary, probe and figures for a part of the folder.
    res = CliRunner().invoke(app, [*base, "--seed", "1"])
    assert res.exit_code == 2 and "--seed: " in res.output and "add --seed 0" in " ".join(res.output.split()), res.output
    assert json.loads((out / "config.json").read_text())["settings"]["seeds"] == [0, 1]


def test_out_must_be_a_run_folder_and_a_broken_model_is_one_line(tmp_path, monkeypatch):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "notes.txt").write_text("mine")
    monkeypatch.chdir(tmp_path)
    for out, message in [("", "--out: needs a folder name"), ("notes", "notes is a folder with other files")]:
        res = CliRunner().invoke(app, ["grid", *SMALL, "--out", out])
        assert res.exit_code == 2 and message in " ".join(res.output.split()), res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes"] and os.listdir(tmp_path / "notes") == ["notes.txt"]
    args = ["grid", "--activation", "identity", "--latent", "5", "--noise", "0.1", "--epochs", "1", "--n-train", "300",
            "--n-test", "40", "--device", "cpu", "--out", "run"]  # fmt: skip
    assert CliRunner().invoke(app, args).exit_code == 0
    (tmp_path / "run" / "models" / "ae-identity-latent5-seed0.safetensors").write_bytes(b"junk")
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 2 and "not a sigdenoise model" in res.output and "delete it to train it again" in res.output.replace("\n", " "), res.output


def test_results_csv_writes_counts_as_integers(run):
    """results.csv says latent 5, seed 0 and epochs 2, not 5.0, 0.0 and 2.0 (issue 16); a baseline's
    epochs stay empty."""
    out, _ = run
    lines = (out / "results.csv").read_text().splitlines()
    head = lines[0].split(",")
    ae = next(line.split(",") for line in lines[1:] if line.startswith("ae,"))
    noisy = next(line.split(",") for line in lines[1:] if line.startswith("noisy,"))
    assert ae[head.index("latent")] == "5" and ae[head.index("seed")] == "0" and ae[head.index("epochs")] == "2"
    assert noisy[head.index("epochs")] == "" and noisy[head.index("latent")] == ""


def test_summary_bolds_the_input_when_no_denoiser_beats_it():
    """A hand-made table: at noise 0.1 the noisy input (0.0100) beats both denoisers, so its cell is
    bold, theirs not, and a line says so; at noise 1.0 gelu (0.30) beats it and is bold. SNR gain
    (higher is better): noisy's 0 beats a negative gain the same way. One seed reads 'One seed (0).'"""
    from sigdenoise.study import tables

    rows = []
    for noise, mse in ((0.1, {"noisy": 0.0100, "svd": 0.02, "gelu": 0.0359}), (1.0, {"noisy": 1.0, "svd": 0.4, "gelu": 0.3})):
        for name, v in mse.items():
            rows.append({"model": "ae" if name == "gelu" else name, "variant": "", "activation": "gelu" if name == "gelu" else "",
                         "latent": 5 if name != "noisy" else np.nan, "noise": noise, "seed": 0, "eval": "test", "mse": v,
                         "mean_mse": np.nan, "snr_gain_db": 0.0 if name == "noisy" else -10 * np.log10(v / mse["noisy"])})  # fmt: skip
    df = pd.DataFrame(rows)
    text = tables.to_markdown(tables.grid_table(df, "test", "mse"))
    assert "| noisy | **0.0100** | 1.0000 |" in text
    assert "| gelu | 0.0359 | **0.3000** |" in text and "| svd | 0.0200 | 0.4000 |" in text
    assert text.endswith("No denoiser beats the untouched input (noisy, in bold) at latent 5, noise 0.1.")
    gain = tables.to_markdown(tables.grid_table(df, "test", "snr_gain_db"), fmt="{:.2f}", higher_is_better=True)
    assert "| noisy | **0.00** | 0.00 |" in gain and "| gelu | -5.55 | **5.23** |" in gain
    assert "One seed (0)." in tables.summary_markdown(df.assign(snr_in_db=0.0, snr_out_db=0.0))


def test_variant_grid_probe_figure_has_a_panel_per_model(tmp_path):
    """A variant grid (gelu plain and denoising): the probe figure draws one panel for each model
    probe.csv holds in the cell, variants included (it drew only the plain and SVD panels)."""
    from sigdenoise.study import figures

    out = tmp_path / "vg"
    res = CliRunner().invoke(app, ["grid", "--variant", "denoising", "--variant", "plain", "--activation", "gelu",
                                   "--latent", "5", "--noise", "1.0", "--epochs", "2", "--n-train", "300",
                                   "--n-test", "50", "--device", "cpu", "--out", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    probe = pd.read_csv(out / "probe.csv")
    models = probe[probe["model"] != "noisy"].groupby(["model", "variant", "activation"], dropna=False).ngroups
    panels = figures.probe_figure(probe, 5, 1.0, tmp_path / "p.png")
    assert panels == ["gelu", "svd", "gelu (denoising)"] and len(panels) == models
    assert (out / "figures" / "probe_latent5_noise1.png").read_bytes()[:4] == b"\x89PNG"


def test_results_come_back_exactly_as_written_without_a_pandas_warning(tmp_path):
    """results.csv rows re-read (a resumed run rewrites them): every float bit for bit, on the
    pandas this runs on, and no deprecation warning (pandas 3.1 deprecates float_precision; before
    3.1 the default parser missed the last bit of 36 % of random doubles)."""
    import warnings

    from sigdenoise.study.runfolder import RunFolder

    rng = np.random.default_rng(7)
    n = 2_000
    df = pd.DataFrame({c: rng.normal(size=n) * 10.0 ** rng.integers(-9, 9, n) for c in RESULT_COLUMNS})
    df[["model", "variant", "activation", "eval"]] = [["ae", "", "gelu", "test"]] * n
    folder = RunFolder(tmp_path)
    folder.results_path.write_text(df.to_csv(index=False))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        back = folder.read_results()
    floats = [c for c in RESULT_COLUMNS if c not in ("model", "variant", "activation", "eval")]
    assert np.array_equal(back[floats].to_numpy(), df[floats].to_numpy())
    assert back["variant"].tolist() == [""] * n
