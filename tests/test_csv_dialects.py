"""CSV as people export it (issue 16): a time column beside the values, semicolons with decimal
commas, tabs. The dialect is detected or given, written back the same, and a time column is never
denoised."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from sigdenoise.cli import app
from sigdenoise.recordings.csvtext import detect, is_time_name


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def _signal(n=5_000):
    t = np.arange(n) / 1000
    return t, np.sin(2 * np.pi * 3 * t) + 0.2 * np.random.default_rng(0).standard_normal(n)


def _write(path, header, t, v, sep=",", comma=False):
    rows = [f"{a:.3f}{sep}{b:.6f}" for a, b in zip(t, v)]
    if comma:
        rows = [r.replace(".", ",") for r in rows]
    path.write_text(header + "\n" + "\n".join(rows) + "\n")


def test_a_time_value_export_keeps_its_time_column(tmp_path):
    """time_s,voltage_V, 5,000 rows: read as one signal per column (auto), the time column written
    back byte for byte, the voltage denoised (its SNR against the clean sine up by > 10 dB; it
    failed with 'a signal of 2 samples is shorter than the window'); the run names the column."""
    t, v = _signal()
    _write(tmp_path / "tv.csv", "time_s,voltage_V", t, v)
    res = cli("denoise", tmp_path / "tv.csv", "-o", tmp_path / "out.csv")
    assert res.exit_code == 0, res.output
    src, out = (tmp_path / "tv.csv").read_text().splitlines(), (tmp_path / "out.csv").read_text().splitlines()
    assert out[0] == "time_s,voltage_V" and len(out) == len(src)
    assert [r.split(",")[0] for r in out] == [r.split(",")[0] for r in src]
    y = np.array([float(r.split(",")[1]) for r in out[1:]])
    clean = np.sin(2 * np.pi * 3 * t)
    gain = 10 * np.log10(np.sum((v - clean) ** 2) / np.sum((y - clean) ** 2))
    assert gain > 10, gain
    assert "time column time_s kept as it is" in " ".join(res.output.split())


def test_semicolons_and_decimal_commas_round_trip(tmp_path):
    """The same recording saved 'time_s;voltage_V' with decimal commas: detected, denoised to the
    same numbers as the comma file, written back with semicolons and decimal commas; given
    explicitly (--delimiter ';' --decimal ,) the same bytes."""
    t, v = _signal()
    _write(tmp_path / "a.csv", "time_s,voltage_V", t, v)
    _write(tmp_path / "eu.csv", "time_s;voltage_V", t, v, sep=";", comma=True)
    for name in ("a", "eu"):
        assert cli("denoise", tmp_path / f"{name}.csv", "-o", tmp_path / f"{name}-out.csv").exit_code == 0
    res = cli("denoise", tmp_path / "eu.csv", "-o", tmp_path / "eu-given.csv", "--delimiter", ";", "--decimal", ",")
    assert res.exit_code == 0, res.output
    a = (tmp_path / "a-out.csv").read_text()
    eu = (tmp_path / "eu-out.csv").read_text()
    assert eu == a.replace(",", ";").replace(".", ",")
    assert (tmp_path / "eu-given.csv").read_bytes() == eu.encode()


def test_tab_separated_rows(tmp_path):
    """Three signals, one a line, tab-separated: detected, and written back with tabs, equal to the
    comma-separated file's output."""
    x = np.sin(np.arange(300) / 9)[None].repeat(3, 0) + 0.1 * np.random.default_rng(1).standard_normal((3, 300))
    np.savetxt(tmp_path / "c.csv", x, delimiter=",", fmt="%.6f")
    np.savetxt(tmp_path / "t.tsv", x, delimiter="\t", fmt="%.6f")
    for name in ("c.csv", "t.tsv"):
        assert cli("denoise", tmp_path / name, "-o", tmp_path / f"out-{name}").exit_code == 0
    assert (tmp_path / "out-t.tsv").read_text() == (tmp_path / "out-c.csv").read_text().replace(",", "\t")


@pytest.mark.parametrize("args, message", [
    (["--delimiter", "|"], "--delimiter: must be one of ',', ';', 'tab' or 'space', got '|'"),
    (["--decimal", ",", "--delimiter", ","], "--decimal: a decimal comma needs another delimiter (--delimiter ';' or tab)"),
])  # fmt: skip
def test_bad_dialect_options(tmp_path, args, message):
    (tmp_path / "a.csv").write_text("1,2,3\n")
    res = cli("denoise", tmp_path / "a.csv", "-o", tmp_path / "o.csv", *args)
    assert res.exit_code == 2 and " ".join(res.output.split()) == f"Error: {message}"


def test_detection_and_time_names():
    assert detect(["1,5;2,25;3"]).delimiter == ";" and detect(["1,5;2,25;3"]).decimal == ","
    assert detect(["1.5;2.25"]).decimal == "." and detect(["1\t2\t3"]).delimiter == "\t"
    assert detect(["a,b", "1,2"]).delimiter == "," and detect(["a,b", "1,2"]).decimal == "."
    assert all(is_time_name(n) for n in ("t", "time", "Time [s]", "time_s", "timestamp", "Seconds"))
    assert not any(is_time_name(n) for n in ("voltage", "temperature", "tension", "ecg"))


def test_plot_of_a_time_value_export_uses_its_names(tmp_path, monkeypatch):
    """--plot on time_s,voltage_V: the x axis is the time column (its values and name), the panel
    is named voltage_V (it said 'sample' and 'column 2')."""
    from sigdenoise.recordings import figure

    seen = {}
    real = figure.noisy_vs_denoised

    def spy(signals, path, title, x=None):
        seen["x"], seen["labels"] = x, real(signals, path, title, x)
        return seen["labels"]

    monkeypatch.setattr(figure, "noisy_vs_denoised", spy)
    t, v = _signal(2_000)
    _write(tmp_path / "tv.csv", "time_s,voltage_V", t, v)
    res = cli("denoise", tmp_path / "tv.csv", "-o", tmp_path / "o.csv", "--plot", tmp_path / "p.png")
    assert res.exit_code == 0, res.output
    assert seen["labels"] == [("time_s", "voltage_V")]
    assert seen["x"][0] == "time_s" and np.allclose(seen["x"][1], np.round(t, 3))
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"
