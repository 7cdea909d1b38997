"""`denoise` as an adversarial user drives it (issue 12): it never replaces a file it reads or a
special file, never exits 0 with NaN or inf in its output, never guesses a corrupt first line is a
header, and every failure (a full disk, a read-only folder, Ctrl-C) is one line with no file left."""

import os
import shutil
import stat

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from typer.testing import CliRunner

from sigdenoise import atomic
from sigdenoise.cli import app
from sigdenoise.errors import SignalIOError
from sigdenoise.models import bundle
from sigdenoise.recordings import pipeline, windows, write
from sigdenoise.recordings.read import open_signals

runner = CliRunner()
SIG = np.sin(np.arange(150) / 7.0)[None] * np.array([[1.0], [0.5], [-2.0]])  # (3, 150)


def cli(*args):
    return runner.invoke(app, [str(a) for a in args])


def one_line(res, code=2):
    """The command failed with exit `code` and printed exactly one line, no traceback."""
    lines = res.output.strip().splitlines()
    assert res.exit_code == code and len(lines) == 1 and isinstance(res.exception, SystemExit), res.output
    return lines[0]


def save_csv(path, x):
    np.savetxt(path, np.atleast_2d(x), delimiter=",", fmt="%.17g")
    return path


def snapshot(folder):
    """Every file under folder (no symlink followed) -> its bytes or kind: what must not change."""
    out = {}
    for p in sorted(folder.iterdir()):
        m = p.lstat().st_mode
        out[p.name] = (
            p.read_bytes() if stat.S_ISREG(m) else ("link", os.readlink(p)) if stat.S_ISLNK(m) else stat.S_IFMT(m)
        )
    return out


# 1. an output onto a file denoise reads ---------------------------------------------------------
@pytest.mark.parametrize("name, out, extra", [
    ("a.csv", "a.csv", []),
    ("a.csv", "./a.csv", []),
    ("a.csv", "link.csv", []),  # a symlink to the input
    ("a.csv", "a.csv", ["--layout", "columns"]),
    ("a.npy", "a.npy", []),
    ("a.csv", "hard.csv", []),  # a hard link
])  # fmt: skip
def test_output_onto_the_input_is_refused_before_work(tmp_path, monkeypatch, name, out, extra):
    monkeypatch.chdir(tmp_path)
    save_csv("a.csv", SIG) if name == "a.csv" else np.save("a.npy", SIG)
    os.symlink("a.csv", "link.csv")
    os.link(name, "hard.csv")
    before = snapshot(tmp_path)
    line = one_line(cli("denoise", name, "-o", out, *extra))
    assert line == f"Error: --out: {os.path.normpath(out)} is the same file as the input {name}; name another file"
    assert snapshot(tmp_path) == before


def test_output_onto_the_model_and_plot_onto_any_file_read_or_written_are_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    save_csv("a.png", SIG)  # an input named .png, to be a --plot target too
    shutil.copy(bundle.default_model_path(), "m.safetensors")
    shutil.copy(bundle.default_model_path(), "m.png")
    before = snapshot(tmp_path)
    cases = [
        (
            ["-o", "m.safetensors", "--model", "m.safetensors"],
            "--out: m.safetensors is the same file as --model m.safetensors",
        ),
        (["-o", "o.csv", "--plot", "a.png"], "--plot: a.png is the same file as the input a.png"),
        (["-o", "o.csv", "--model", "m.png", "--plot", "m.png"], "--plot: m.png is the same file as --model m.png"),
        (["-o", "o.png", "--plot", "o.png"], "--plot: o.png is the same file as -o o.png"),
    ]
    for args, message in cases:
        assert one_line(cli("denoise", "a.png", *args)) == f"Error: {message}; name another file"
    assert snapshot(tmp_path) == before


# 2. special files are never renamed over ------------------------------------------------------
def test_a_fifo_or_dev_null_as_output_is_refused_and_stays(tmp_path):
    inp = save_csv(tmp_path / "a.csv", SIG)
    os.mkfifo(tmp_path / "f.csv")
    line = one_line(cli("denoise", inp, "-o", tmp_path / "f.csv"))
    assert line.endswith("f.csv: is not a regular file (a device, a pipe or a socket), which sigdenoise never replaces")
    assert stat.S_ISFIFO((tmp_path / "f.csv").lstat().st_mode) and sorted(snapshot(tmp_path)) == ["a.csv", "f.csv"]
    line = one_line(cli("denoise", inp, "-o", "/dev/null"))
    assert (
        line
        == "Error: /dev/null: is not a regular file (a device, a pipe or a socket), which sigdenoise never replaces"
    )
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


# 3. never NaN or inf with exit 0 ----------------------------------------------------------------
SCALE = {"center": 0.0, "half_range": 1.0}


def shrink(z):  # a stand-in model: pulls every window towards its mean
    return 0.8 * z + 0.2 * z.mean(axis=1, keepdims=True)


@pytest.mark.parametrize("k", [1020, -1060, -1074 + 60])  # near the overflow; subnormal
def test_extreme_magnitudes_denoise_as_exactly_scaled_ordinary_ones(k):
    x = np.vstack([SIG, [np.cos(np.arange(150) / 3.0)]])
    ref = windows.denoise_signals(x, shrink, scale=SCALE)  # ordinary magnitudes, computed as always
    for rows in ([0, 1, 2, 3], [1, 3]):  # extreme rows alone, and beside ordinary ones
        mixed = x.copy()
        mixed[rows] = np.ldexp(x[rows], k)
        y = windows.denoise_signals(mixed, shrink, scale=SCALE)
        expect = ref.copy()
        expect[rows] = np.ldexp(ref[rows], k)
        if k > 0:
            assert_array_equal(y, expect)  # powers of two: exact
        else:  # subnormal inputs hold fewer digits: equal to what their rounding allows
            assert_array_equal(y[~np.isin(np.arange(4), rows)], ref[~np.isin(np.arange(4), rows)])
            np.testing.assert_allclose(np.ldexp(y[rows], -k), ref[rows], rtol=0, atol=2.0 ** (-1074 - k) * 20)


def test_window_scale_cannot_overflow_and_a_subnormal_range_is_a_constant_window():
    f = np.array([[-1.7e308, 1.7e308, 0.0], [1.7e308, 1.6e308, 1.5e308], [1.0, 3.0, 2.0]])
    c, h = windows.window_scale(f)
    assert_array_equal(c[:, 0], [0.0, 1.7e308 / 2 + 1.5e308 / 2, 2.0])
    assert_array_equal(h[:, 0], [1.7e308, (1.7e308 - 1.5e308) / 2, 1.0])
    z, back = windows.to_model(np.array([[0.0, 5e-324, 1e-323]]), SCALE)
    assert np.isfinite(z).all() and back[0, 0] == 0.0  # H/h overflows: left as it is


def test_a_non_finite_output_is_an_error_naming_the_line_and_nothing_is_written(tmp_path):
    inp = save_csv(tmp_path / "a.csv", SIG / 2 * 1.7e308)
    line = one_line(cli("denoise", inp, "-o", tmp_path / "o.csv", "--method", "ae", "--no-fit", "--no-scale"))
    # (the study's model sees 1e308)
    assert "a.csv, line 1: denoising gave " in line and line.endswith("nothing was written"), line
    assert sorted(snapshot(tmp_path)) == ["a.csv"]


def test_a_model_that_returns_nan_hits_the_check_and_an_existing_output_stays(tmp_path):
    src = open_signals(save_csv(tmp_path / "a.csv", SIG))
    (tmp_path / "o.csv").write_text("old\n")
    plan = pipeline.Plan(lambda z: np.where(z > 0.9, np.nan, z), 100, 50, SCALE)
    nan = pytest.raises(SignalIOError, match=r"a\.csv, line 1: denoising gave nan at sample \d+")
    with nan, write.Writer(tmp_path / "o.csv", src) as w:
        for chunk, y in pipeline.stream(src.chunks(), plan, src.path):
            w.write(chunk, y)
    assert snapshot(tmp_path) == {"a.csv": (tmp_path / "a.csv").read_bytes(), "o.csv": b"old\n"}


def test_extreme_inputs_through_the_command_give_finite_output(tmp_path):
    x = np.vstack([SIG / 2 * 1.7e308, SIG / 2 * 1e-310, SIG / 2])
    inp = save_csv(tmp_path / "a.csv", x)
    res = cli("denoise", inp, "-o", tmp_path / "o.csv", "--no-fit")
    assert res.exit_code == 0, res.output
    y = np.loadtxt(tmp_path / "o.csv", delimiter=",")
    assert np.isfinite(y).all() and y.shape == x.shape
    np.testing.assert_allclose(y[:3] / 1.7e308, y[6:], rtol=0, atol=1e-5)  # scaling commutes with denoising
    np.testing.assert_allclose(y[3:6] / 1e-310, y[6:], rtol=0, atol=1e-5)


# 4. the first line -----------------------------------------------------------------------------
def test_pandas_column_numbers_are_a_header_and_a_corrupt_first_line_is_an_error(tmp_path):
    import pandas as pd

    p = tmp_path / "p.csv"
    pd.DataFrame(SIG).to_csv(p, index=False)
    src = open_signals(p)
    assert src.header == ",".join(map(str, range(150))) and len(next(src.chunks())) == 3
    assert open_signals(p, header=False).header is None  # --no-header: a ramp signal
    (tmp_path / "q.csv").write_text("1,2,3\n4,5,6\n")
    assert open_signals(tmp_path / "q.csv").header is None  # a signal 1, 2, 3: no writer numbers from 1
    bad = tmp_path / "b.csv"
    bad.write_text("0.1,0.2,x,0.4\n0.5,0.6,0.7,0.8\n")
    with pytest.raises(SignalIOError, match=r"b\.csv, line 1, column 3: 'x' is not a number, among numbers "
                                            r"\(pass --header if line 1 is a header\)$"):  # fmt: skip
        open_signals(bad)
    assert open_signals(bad, header=True).header == "0.1,0.2,x,0.4"
    bad.write_text("s1,0.2,0.3\n")
    with pytest.raises(SignalIOError, match=r"line 1, column 1: 's1' .*--id-col 1 if column 1 holds ids, or --header"):
        open_signals(bad)
    assert open_signals(bad, id_spec=["1"]).header is None


def test_a_corrupt_first_line_through_the_command_writes_nothing(tmp_path):
    inp = tmp_path / "a.csv"
    save_csv(inp, SIG)
    text = inp.read_text().split("\n")
    inp.write_text("\n".join([text[0].replace(text[0].split(",")[4], "oops", 1)] + text[1:]))
    line = one_line(cli("denoise", inp, "-o", tmp_path / "o.csv"))
    assert line.endswith(
        "a.csv, line 1, column 5: 'oops' is not a number, among numbers (pass --header if line 1 is a header)"
    )
    assert sorted(snapshot(tmp_path)) == ["a.csv"]


# 5. full disks, read-only folders, immutable files ----------------------------------------------
def boom(errno, text):
    def f(*a, **k):
        raise OSError(errno, text)

    return f


@pytest.mark.parametrize("where", ["write", "replace", "figure"])
def test_a_full_disk_is_one_line_and_leaves_the_old_output(tmp_path, monkeypatch, where):
    inp = save_csv(tmp_path / "a.csv", SIG)
    (tmp_path / "o.csv").write_text("old\n")
    if where == "write":
        monkeypatch.setattr(write.Writer, "_csv_rows", boom(28, "No space left on device"))
    elif where == "replace":
        monkeypatch.setattr(atomic.os, "replace", boom(28, "No space left on device"))
    else:
        import matplotlib.figure

        monkeypatch.setattr(matplotlib.figure.Figure, "savefig", boom(28, "No space left on device"))
    line = one_line(cli("denoise", inp, "-o", tmp_path / "o.csv", "--no-fit", "--plot", tmp_path / "p.png"))
    target = "o.csv" if where == "write" else "p.png"  # the figure is renamed into place first
    assert line.endswith(f"{target}: cannot write it (No space left on device)"), line
    assert snapshot(tmp_path) == {"a.csv": inp.read_bytes(), "o.csv": b"old\n"}


def test_an_immutable_output_is_one_line_and_stays(tmp_path, monkeypatch):
    inp = save_csv(tmp_path / "a.csv", SIG)
    (tmp_path / "o.csv").write_text("old\n")
    monkeypatch.setattr(atomic.os, "replace", boom(1, "Operation not permitted"))  # chattr +i
    line = one_line(cli("denoise", inp, "-o", tmp_path / "o.csv", "--no-fit"))
    assert line.endswith("o.csv: cannot write it (Operation not permitted)")
    assert snapshot(tmp_path) == {"a.csv": inp.read_bytes(), "o.csv": b"old\n"}


@pytest.mark.parametrize("option", ["-o", "--plot"])
def test_a_read_only_folder_is_refused_before_work(tmp_path, monkeypatch, option):
    inp = save_csv(tmp_path / "a.csv", SIG)
    ro = tmp_path / "ro"
    ro.mkdir()
    real = os.access
    monkeypatch.setattr(atomic.os, "access", lambda p, mode: False if os.fspath(p) == str(ro) else real(p, mode))
    monkeypatch.setattr(pipeline, "input_windows", boom(0, "no work may start"))
    args = ["-o", ro / "o.csv"] if option == "-o" else ["-o", tmp_path / "o.csv", "--plot", ro / "p.png"]
    line = one_line(cli("denoise", inp, *args))
    assert line.endswith(f"{'o.csv' if option == '-o' else 'p.png'}: cannot write in {ro}"), line
    assert sorted(snapshot(tmp_path)) == ["a.csv", "ro"] and not any(ro.iterdir())


# 6. Ctrl-C ------------------------------------------------------------------------------------
def test_ctrl_c_mid_stream_exits_130_and_leaves_nothing(tmp_path, monkeypatch):
    inp = save_csv(tmp_path / "a.csv", SIG)
    (tmp_path / "o.csv").write_text("old\n")
    rows = write.Writer._csv_rows

    def interrupted(self, chunk, out):
        rows(self, chunk, out)  # the temporary file holds a part
        raise KeyboardInterrupt

    monkeypatch.setattr(write.Writer, "_csv_rows", interrupted)
    assert (
        one_line(cli("denoise", inp, "-o", tmp_path / "o.csv", "--no-fit"), 130)
        == "Error: interrupted; nothing was written"
    )
    assert snapshot(tmp_path) == {"a.csv": inp.read_bytes(), "o.csv": b"old\n"}
