"""Bugs a review of issues 14-16's changes found, each pinned: wrong or missing data with exit 0,
tracebacks, silently ignored options."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

import sigdenoise
from sigdenoise.cli import app
from sigdenoise.errors import SettingsError
from sigdenoise.recordings import longsig
from sigdenoise.recordings.csvtext import detect


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def flat(res) -> str:
    return " ".join(res.output.split())


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setattr(longsig, "BLOCK", 4096)
    monkeypatch.setattr(longsig, "MARGIN", 512)
    monkeypatch.setattr(longsig, "LONG", 4096 + 1024)


def test_a_dated_rows_file_is_not_read_as_columns(tmp_path):
    """Header time,s0..s9 over 3 lines that start with a date: one signal a line (rows), refused at
    the date as before ('pass --id-col 1'), not turned into 10 column signals."""
    lines = ["time," + ",".join(f"s{i}" for i in range(10))]
    lines += [f"2024-01-0{d} 10:00," + ",".join(f"{np.sin(i + d):.4f}" for i in range(10)) for d in range(1, 4)]
    (tmp_path / "a.csv").write_text("\n".join(lines) + "\n")
    res = cli("denoise", tmp_path / "a.csv", "-o", tmp_path / "o.csv")
    assert res.exit_code == 2 and "is not a number" in flat(res) and "--id-col 1" in flat(res), res.output
    res = cli("denoise", tmp_path / "a.csv", "-o", tmp_path / "o.csv", "--id-col", "1")
    assert res.exit_code == 0 and "Denoised 3 signals" in flat(res), res.output


def test_a_named_time_column_still_reads_columns_and_sensor_names_are_not_time(tmp_path):
    """--id-col time_s on time_s,voltage_V,current_A: columns, the time kept, two signals (it read
    rows and averaged voltage with current); a header t_0..t_9 (sensors) is one signal a line and
    denoised (it copied the file through as 'time columns')."""
    t = np.arange(500) / 100
    rows = [f"{a:.2f},{np.sin(a):.5f},{np.cos(a):.5f}" for a in t]
    (tmp_path / "a.csv").write_text("time_s,voltage_V,current_A\n" + "\n".join(rows) + "\n")
    res = cli("denoise", tmp_path / "a.csv", "-o", tmp_path / "o.csv", "--id-col", "time_s")
    assert res.exit_code == 0 and "Denoised 2 signals (1,000 samples)" in flat(res), res.output
    assert [r.split(",")[0] for r in (tmp_path / "o.csv").read_text().splitlines()[1:4]] == ["0.00", "0.01", "0.02"]
    x = np.sin(np.arange(300) / 7)[None].repeat(4, 0) + 0.1 * np.random.default_rng(0).standard_normal((4, 300))
    np.savetxt(tmp_path / "s.csv", x, delimiter=",", header=",".join(f"t_{i}" for i in range(300)), comments="")
    res = cli("denoise", tmp_path / "s.csv", "-o", tmp_path / "s-out.csv")
    assert res.exit_code == 0 and "Denoised 4 signals" in flat(res) and "time column" not in flat(res), res.output


def test_a_long_npy_written_as_csv_is_csv(tmp_path, small_blocks):
    """A .npy past LONG samples with -o out.csv (or -o -): CSV text, the in-memory result (it wrote
    binary .npy under the .csv name)."""
    x = np.sin(np.arange(6000) / 30) + 0.2 * np.random.default_rng(1).standard_normal(6000)
    np.save(tmp_path / "long.npy", x)
    res = cli("denoise", tmp_path / "long.npy", "-o", tmp_path / "out.csv", "--method", "savgol")
    assert res.exit_code == 0, res.output
    got = np.loadtxt(tmp_path / "out.csv", delimiter=",")
    np.testing.assert_allclose(got, sigdenoise.denoise(x, method="savgol"), rtol=1e-8, atol=1e-9)


@pytest.mark.parametrize("kw, message", [
    ({"method": "svd", "hop": 150}, "hop: must be between 1 and the window (100 samples), got 150"),
    ({"method": "ae", "epochs": 0}, "epochs: must be at least 1, got 0"),
    ({"method": "svd", "hop": 0}, "hop: must be a whole number of samples >= 1, got 0"),
])  # fmt: skip
def test_api_refuses_what_the_command_refuses(kw, message):
    """hop past the window gave NaN (and GridSearchCV scored it best, as inf); epochs 0 an untrained model."""
    x = np.sin(np.arange(300) / 9)[None].repeat(20, 0) + 0.1 * np.random.default_rng(0).standard_normal((20, 300))
    with pytest.raises(SettingsError) as e:
        sigdenoise.denoise(x, **kw)
    assert str(e.value) == message
    with pytest.raises(SettingsError):
        sigdenoise.Denoiser(**kw).fit(x)


def test_a_silent_channel_does_not_move_the_others_estimate():
    """A noisy sine beside a channel of zeros: its estimated output SNR within 1 dB of the sine's
    alone (it read 24.6 against 32.1: the silent row was probed and pooled candidates felt it)."""
    t = np.arange(2000)
    x = np.sin(2 * np.pi * t / 200) + 0.1 * np.random.default_rng(2).standard_normal(2000)
    _, both = sigdenoise.denoise(np.stack([x, np.zeros(2000)]), return_summary=True)
    _, alone = sigdenoise.denoise(x[None], return_summary=True)
    assert abs(both["per_signal"][0]["snr_out_db"] - alone["per_signal"][0]["snr_out_db"]) < 1.0


def test_a_silent_block_leaves_the_long_signals_estimate_finite(small_blocks):
    """A long signal whose first block is digital silence: its merged verdict is finite and shows
    the gain of the rest (it read 'unbounded -> unbounded', method none)."""
    n = 12_000
    x = np.sin(np.arange(n) / 40) + 0.3 * np.random.default_rng(3).standard_normal(n)
    x[:4096] = 0.0
    y, s = sigdenoise.denoise(x, return_summary=True)
    v = s["per_signal"][0]
    assert v["snr_in_db"] is not None and v["snr_out_db"] is not None and v["gain_db"] > 3, v
    assert v["method"] != "none"


def test_a_prefilter_too_slow_for_a_long_signals_blocks_is_refused(small_blocks):
    """A 0.05 Hz high-pass at 1 kHz needs far more than a block's context: a one-line error naming
    the lowest cutoff that fits, not block edges that differ from one pass; at 1 Hz it runs."""
    x = np.random.default_rng(0).standard_normal(12_000)
    with pytest.raises(SettingsError, match=r"--highpass: its filter takes .* use at least .* Hz at 1000 Hz"):
        sigdenoise.denoise(x, fs=1000, highpass=0.05, method="none")
    assert np.isfinite(sigdenoise.denoise(x, fs=1000, highpass=5.0, method="none")).all()


def test_recordings_nan_fs_and_plot(tmp_path):
    """A float WAV holding NaN: one line naming the channel (a traceback before); --plot on a
    recording draws it (it was ignored); --plot with several inputs is refused."""
    sf = pytest.importorskip("soundfile")
    x = np.stack([np.sin(np.arange(4000) / 10), np.cos(np.arange(4000) / 10)]).T * 0.5
    sf.write(tmp_path / "ok.wav", x, 8000, subtype="FLOAT")
    x[100, 1] = np.nan
    sf.write(tmp_path / "nan.wav", x, 8000, subtype="FLOAT")
    res = cli("denoise", tmp_path / "nan.wav", "-o", tmp_path / "o.wav")
    assert res.exit_code == 2 and "channel 'ch2': nan at sample 101; every value must be finite" in flat(res), res.output
    assert not (tmp_path / "o.wav").exists()
    res = cli("denoise", tmp_path / "ok.wav", "-o", tmp_path / "o.wav", "--plot", tmp_path / "p.png")
    assert res.exit_code == 0 and (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG", res.output
    res = cli("denoise", tmp_path / "ok.wav", tmp_path / "nan.wav", "-O", tmp_path / "d", "--plot", tmp_path / "q.png")
    assert res.exit_code == 2 and "--plot: draws one input's signals" in flat(res)


def test_one_fs_for_channels_at_several_rates_is_refused(tmp_path):
    """--fs on an EDF with channels at 256 and 128 Hz: refused (it gave both 256 Hz and wrote 5 s of
    a 10 s record)."""
    pyedflib = pytest.importorskip("pyedflib")
    from sigdenoise.recordings.formats import Recording, write_recording

    rec = Recording([np.sin(np.arange(2560) / 20), np.cos(np.arange(1280) / 10)], [256.0, 128.0], ["EEG1", "EEG2"],
                    [np.dtype("int16")] * 2, {})  # fmt: skip
    write_recording(tmp_path / "r.edf", rec)
    assert pyedflib  # the library wrote it
    res = cli("denoise", tmp_path / "r.edf", "-o", tmp_path / "o.edf", "--fs", 256)
    assert res.exit_code == 2 and "--fs: r.edf has channels at 2 rates (128, 256 Hz); it cannot have one --fs" in flat(res)


def test_decimal_detection_by_the_numbers():
    """One column with decimal commas under a one-word header; a ';' file with point decimals and an
    id 'probe 1,0' keeps points; --decimal , alone picks ';'."""
    assert detect(["voltage_V", "0,0377", "-0,5", "1,25"]).decimal == ","
    d = detect(["id;a;b", "probe 1,0;0.5;0.25", "probe 2,0;0.1;0.3"])
    assert (d.delimiter, d.decimal) == (";", ".")
    assert detect(["1,5;2,25"], decimal=",").delimiter == ";"
