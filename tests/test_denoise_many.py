"""`denoise` on several inputs (-O DIR), on stdin/stdout (`-`), and `--version` (issue 14)."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from sigdenoise import __version__
from sigdenoise.cli import app


def cli(*args, input=None):
    return CliRunner().invoke(app, [str(a) for a in args], input=input)


def flat(res) -> str:
    return " ".join(res.output.split())


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    t = np.arange(300) / 10
    for name in ("a", "b"):
        np.savetxt(tmp_path / f"{name}.csv", np.sin(t)[None].repeat(3, 0) + 0.1 * rng.standard_normal((3, 300)),
                   delimiter=",")  # fmt: skip
    (tmp_path / "bad.csv").write_text("1,2,x\n")
    return tmp_path


def test_many_inputs_equal_one_by_one_and_a_bad_file_fails_alone(files):
    """a.csv b.csv bad.csv -O outs: a and b written byte for byte as two one-file runs write them,
    with their reports; bad.csv named in one line and not written; exit 2 at the end."""
    res = cli("denoise", files / "a.csv", files / "b.csv", files / "bad.csv", "-O", files / "outs")
    assert res.exit_code == 2
    assert "bad.csv, line 1, column 3: 'x' is not a number" in flat(res)
    assert "1 of 3 inputs failed (" in flat(res) and "the others were written" in flat(res)
    for name in ("a", "b"):
        one = cli("denoise", files / f"{name}.csv", "-o", files / f"{name}-one.csv")
        assert one.exit_code == 0, one.output
        assert (files / "outs" / f"{name}.csv").read_bytes() == (files / f"{name}-one.csv").read_bytes()
        assert (files / "outs" / f"{name}.csv.json").is_file()
    assert sorted(p.name for p in (files / "outs").iterdir()) == ["a.csv", "a.csv.json", "b.csv", "b.csv.json"]


def test_stdin_to_stdout_equals_the_file_run(files):
    """`denoise - -o -` with a.csv on stdin writes to stdout exactly what `-o file` writes."""
    res = CliRunner().invoke(app, ["denoise", "-", "-o", "-"], input=(files / "a.csv").read_bytes())
    assert res.exit_code == 0, res.output
    one = cli("denoise", files / "a.csv", "-o", files / "a-one.csv")
    assert one.exit_code == 0
    assert res.stdout_bytes == (files / "a-one.csv").read_bytes()
    assert not (files / "-").exists()  # no file named '-'
    said = " ".join(res.stderr.split())
    assert "-> stdout" in said and "report: none with -o -" in said and "stdout.csv" not in said


@pytest.mark.parametrize("args, message", [
    (["a.csv"], "--out: missing: give -o FILE (or -O DIR for several inputs)"),
    (["a.csv", "b.csv", "-o", "x.csv"], "--out: names one file; 2 inputs need -O DIR"),
    (["a.csv", "-o", "x.csv", "-O", "d"], "--out-dir: writes each input under its own name; it cannot be combined with -o"),
    (["-", "-O", "d"], "--out-dir: stdin (-) has no name to write under; use -o"),
])  # fmt: skip
def test_target_mistakes_are_one_line(files, monkeypatch, args, message):
    monkeypatch.chdir(files)
    res = cli("denoise", *args)
    assert res.exit_code == 2 and flat(res) == f"Error: {message}", res.output
    assert not (files / "x.csv").exists() and not (files / "d").exists()


def test_version():
    res = cli("--version")
    assert res.exit_code == 0 and res.output == f"sigdenoise {__version__}\n"


def test_float32_npy_stays_float32(tmp_path):
    """A float32 .npy comes back float32: the float64 run's output rounded once (issue 14: it came
    back float64)."""
    rng = np.random.default_rng(1)
    x = (np.sin(np.arange(400) / 7)[None].repeat(3, 0) + 0.2 * rng.standard_normal((3, 400))).astype(np.float32)
    np.save(tmp_path / "a.npy", x)
    np.save(tmp_path / "b.npy", x.astype(np.float64))
    for name in ("a", "b"):
        res = cli("denoise", tmp_path / f"{name}.npy", "-o", tmp_path / f"{name}-out.npy")
        assert res.exit_code == 0, res.output
    a, b = np.load(tmp_path / "a-out.npy"), np.load(tmp_path / "b-out.npy")
    assert a.dtype == np.float32 and b.dtype == np.float64
    np.testing.assert_array_equal(a, b.astype(np.float32))


def test_prefilters_are_said(tmp_path):
    """The closing lines name the pre-filters with the rate they used."""
    t = np.arange(2_000) / 500.0
    np.savetxt(tmp_path / "a.csv", (np.sin(2 * np.pi * 3 * t) + 0.3 * np.sin(2 * np.pi * 50 * t))[None], delimiter=",")
    res = cli("denoise", tmp_path / "a.csv", "-o", tmp_path / "o.csv", "--fs", 500, "--notch", 50, "--highpass", 0.5)
    assert res.exit_code == 0, res.output
    assert "pre-filtered at 500 Hz: notch 50 Hz, high-pass 0.5 Hz" in flat(res)


def test_help_lists_every_command_without_importing_them():
    """`sigdenoise --help` lists the four commands with their lines, and loads neither torch nor
    any command's module (measured 0.13 s, from 1.8 s); each command's own help still works."""
    import subprocess
    import sys

    code = ("import sys; from typer.testing import CliRunner; from sigdenoise.cli import app; "
            "r = CliRunner().invoke(app, ['--help']); print(r.exit_code, 'torch' in sys.modules, "
            "any(m.startswith('sigdenoise.cli.') and m != 'sigdenoise.cli.common' for m in sys.modules)); print(r.output)")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert out.splitlines()[0] == "0 False False", out
    for name in ("grid", "report", "denoise", "train"):
        assert name in out
        res = cli(name, "--help")
        assert res.exit_code == 0 and "Usage: " in res.output


def test_auto_denoise_runs_without_torch(tmp_path):
    """`denoise` by auto (the default) imports neither torch, scikit-learn nor scipy.signal, in a fresh
    process: the packaged autoencoder candidate runs in numpy (bundle.numpy_fn), Savitzky–Golay is
    auto/savgol.py's, and every module on the way reads the registries' names without torch (a
    10-signal file: see benchmarks/README.md, issue 15). Its output is the file the run with torch
    writes, byte for byte."""
    import subprocess
    import sys

    rng = np.random.default_rng(3)
    t = np.arange(200) * 0.05
    np.savetxt(tmp_path / "ten.csv", np.sin(np.outer(1 + np.arange(10) / 5, t)) + 0.3 * rng.standard_normal((10, 200)),
               delimiter=",")  # fmt: skip
    code = ("import sys; from typer.testing import CliRunner; from sigdenoise.cli import app; "
            f"r = CliRunner().invoke(app, ['denoise', {str(tmp_path / 'ten.csv')!r}, '-o', {str(tmp_path / 'out.csv')!r}]); "
            "print(r.exit_code, *(m in sys.modules for m in ('torch', 'sklearn', 'scipy.signal'))); print(r.output)")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert out.splitlines()[0] == "0 False False False", out
    # The same run in this process (torch loaded) writes the same bytes.
    res = cli("denoise", tmp_path / "ten.csv", "-o", tmp_path / "again.csv")
    assert res.exit_code == 0, res.output
    assert (tmp_path / "out.csv").read_bytes() == (tmp_path / "again.csv").read_bytes()


def test_progress_in_a_log_is_periodic_plain_lines():
    """LogProgress (stderr not a terminal) with a fake clock: 300 epochs at 2 a second print a line
    every 30 s with count, percent, rate and time left, and one when done: 5 lines; a long path
    stays on one line (no wrapping at 80 columns)."""
    from sigdenoise.cli import common

    t = [0.0]
    with common.err.capture() as cap:
        bar = common.LogProgress("epochs", every=30, clock=lambda: t[0])
        k = bar.add_task("training 7 autoencoders", total=300, info="")
        for _ in range(300):
            t[0] += 0.5
            bar.update(k, advance=1, info="loss 0.0100..0.0200")
        common.err.print("x" * 150, markup=False)
    lines = cap.get().splitlines()
    assert lines[0] == "training 7 autoencoders: 60 of 300 epochs (20 %); 2 epochs/s; 2 min 0 s left; loss 0.0100..0.0200"
    assert lines[4] == "training 7 autoencoders: 300 of 300 epochs (100 %); 2 epochs/s; 2 min 30 s in all; loss 0.0100..0.0200"
    assert len(lines) == 6 and lines[5] == "x" * 150


def test_a_grid_in_a_log_prints_progress_lines(tmp_path, monkeypatch):
    """A grid run with stderr not a terminal (CliRunner) prints plain progress lines (LOG_EVERY set
    to 0 here: every epoch), each with the epoch count and time left."""
    from sigdenoise.cli import common

    monkeypatch.setattr(common, "LOG_EVERY", 0.0)
    res = cli("grid", "--activation", "identity", "--latent", "5", "--noise", "1.0", "--epochs", "3", "--n-train", "100",
              "--n-test", "20", "--device", "cpu", "--out", tmp_path / "run")  # fmt: skip
    assert res.exit_code == 0, res.output
    lines = [line for line in res.output.splitlines() if line.startswith("training 1 autoencoder: ")]
    assert [line.split(": ")[1].split(" (")[0] for line in lines] == ["1 of 3 epochs", "2 of 3 epochs", "3 of 3 epochs"]


def test_fitting_and_train_show_progress_in_a_log(tmp_path, monkeypatch):
    """`denoise --fit --method ae` (silent for 35-50 s before) and `train` report each epoch's
    count in a log (LOG_EVERY 0 here), with the fit's window count and the loss."""
    from sigdenoise.cli import common

    monkeypatch.setattr(common, "LOG_EVERY", 0.0)
    x = np.sin(np.arange(600) / 9)[None].repeat(2, 0) + 0.2 * np.random.default_rng(0).standard_normal((2, 600))
    np.savetxt(tmp_path / "a.csv", x, delimiter=",")
    res = cli("denoise", tmp_path / "a.csv", "-o", tmp_path / "o.csv", "--fit", "--method", "ae", "--epochs", "3")
    assert res.exit_code == 0, res.output
    fit = [line for line in res.output.splitlines() if line.startswith("fitting ae on 1,002 windows: ")]
    assert [line.split(": ")[1].split(" (")[0] for line in fit] == ["1 of 3 epochs", "2 of 3 epochs", "3 of 3 epochs"]
    assert all("; loss " in line for line in fit)
    res = cli("train", "--epochs", "2", "--n-train", "300", "--device", "cpu", "--out", tmp_path / "m.safetensors")
    assert res.exit_code == 0, res.output
    assert sum(line.startswith("training ae gelu latent 5") and " of 2 epochs" in line for line in res.output.splitlines()) == 2


def test_a_model_used_outside_its_range_is_warned_of(tmp_path):
    """A grid model (unscaled, trained on the study's signals within about ±1) applied to chirps
    offset by 5: a warning naming how many signals and the range; on the study's own test signals
    none."""
    from sigdenoise.evaluate import scoring

    res = cli("grid", "--activation", "gelu", "--latent", "5", "--noise", "1.0", "--epochs", "1", "--n-train", "200",
              "--n-test", "20", "--device", "cpu", "--out", tmp_path / "run")  # fmt: skip
    assert res.exit_code == 0, res.output
    model = next((tmp_path / "run" / "models").glob("ae-gelu-*.safetensors"))
    t = np.arange(300)
    chirps = 5 + np.sin(2 * np.pi * (0.01 * t + 0.0001 * t**2))[None].repeat(4, 0)
    np.savetxt(tmp_path / "far.csv", chirps + 0.1 * np.random.default_rng(0).standard_normal(chirps.shape), delimiter=",")
    np.savetxt(tmp_path / "near.csv", scoring.eval_sets(1, 20, 2.25)[1].noisy(0.1)[:6], delimiter=",")
    far = cli("denoise", tmp_path / "far.csv", "-o", tmp_path / "o1.csv", "--model", model)
    near = cli("denoise", tmp_path / "near.csv", "-o", tmp_path / "o2.csv", "--model", model)
    assert far.exit_code == 0 and near.exit_code == 0, (far.output, near.output)
    assert "warning: 4 signals of 4 lie outside what the model was trained on (signals within -1" in flat(far)
    assert "outside what the model was trained on" not in flat(near)
