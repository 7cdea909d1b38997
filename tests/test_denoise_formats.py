"""`sigdenoise denoise` on recordings (WAV/FLAC, EDF/BDF, WFDB, Parquet, HDF5) through CliRunner,
every output read back: channels, names, rate, length and stored dtype kept; the SNR against the
known clean signal raised; the values those of `sigdenoise.denoise` on the same rows after the
writer's quantisation; the rate-based pre-filters (--notch, --highpass, --fs) equal to scipy's
filters applied by hand; and the one-line refusals that leave nothing written.

Each format's tests skip (importorskip) when its library is not installed."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import replace

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from scipy import signal
from typer.testing import CliRunner

import sigdenoise
from sigdenoise.cli import app
from sigdenoise.recordings.formats import Recording, read_recording, write_recording

runner = CliRunner()

NAMES = ["sine", "mix", "cos"]
N = 2048  # samples per channel: short, so that the whole file runs in seconds
LIB = {".wav": "soundfile", ".flac": "soundfile", ".edf": "pyedflib", ".bdf": "pyedflib", ".hea": "wfdb",
       ".parquet": "pyarrow.parquet", ".h5": "h5py"}

# suffix, stored dtype, extra meta, rate: every format and each kind of storage (PCM 16 and 24 bits,
# float32 audio, EDF's 16 and BDF's 24-bit digital values, WFDB format 16, float32/float64 columns)
FORMATS = [
    (".wav", "int16", {}, 8000.0),
    (".wav", "float32", {}, 8000.0),
    (".flac", "int32", {"subtype": "PCM_24"}, 8000.0),
    (".edf", "int16", {}, 250.0),
    (".bdf", "int32", {}, 250.0),
    (".hea", "int16", {}, 250.0),
    (".parquet", "float32", {}, 250.0),
    (".h5", "float64", {}, 250.0),
]
IDS = [f"{s[1:]}-{d}" for s, d, _, _ in FORMATS]


def cli(*args):
    return runner.invoke(app, [str(a) for a in args])


def one_line(res) -> str:
    """A failed run's output: exit code 2 and a single line (CliRunner mixes stderr in)."""
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1, res.output
    return lines[0]


def clean_signals(n: int = N) -> np.ndarray:
    """(3, n): sines of 10, 25 and 7 + 40 cycles over the recording, inside ±0.6 (in range for PCM)."""
    k = np.arange(n) / n
    return np.stack([0.5 * np.sin(2 * np.pi * 10 * k),
                     0.4 * np.sin(2 * np.pi * 25 * k + 1.0),
                     0.3 * np.cos(2 * np.pi * 40 * k) + 0.2 * np.sin(2 * np.pi * 7 * k)])


def snr_db(x: np.ndarray, clean: np.ndarray) -> np.ndarray:
    """(C,) SNR of each row of x against clean, in dB."""
    return 10 * np.log10((clean**2).sum(axis=1) / ((x - clean) ** 2).sum(axis=1))


def half_step(rec: Recording, suffix: str) -> np.ndarray:
    """(C, 1): half of one quantisation step of each channel of rec, from its format's scaling:
    the most that rounding to the stored dtype may move a value inside the stored range."""
    m, c = rec.meta, len(rec.channels)
    if suffix in (".edf", ".bdf"):  # p = pmin + (d - dmin) * (pmax - pmin) / (dmax - dmin)
        step = [(h["physical_max"] - h["physical_min"]) / (h["digital_max"] - h["digital_min"])
                for h in m["signal_headers"]]
    elif suffix == ".hea":  # p = (d - baseline) / adc_gain
        step = [1 / g for g in m["adc_gain"]]
    elif np.dtype(rec.dtype).kind in "iu":  # PCM: v / 2^(b-1) at b bits
        bits = {"PCM_16": 16, "PCM_24": 24, "PCM_32": 32}[m["subtype"]]
        step = [2.0 ** -(bits - 1)] * c
    else:
        step = [0.0] * c  # floats: exact
    return np.array(step)[:, None] / 2 * (1 + 1e-9)  # 1e-9: the float arithmetic of the scaling


def write_input(path, x: np.ndarray, fs, dtype, meta) -> Recording:
    """Write x (C, n) as a recording and read it back: what the command will read."""
    write_recording(path, Recording(x.copy(), fs, list(NAMES[: len(x)]), np.dtype(dtype), dict(meta)))
    return read_recording(path)


def same_after_writer(tmp_path, rec: Recording, y: np.ndarray, out: Recording, suffix: str) -> None:
    """out (the command's file, read back) holds y (C, n) float64 quantised to rec's stored dtype:
    within half a step of the format's scaling, and identical to y written by write_recording with
    rec's own settings and read back."""
    if np.dtype(rec.dtype).kind == "f":  # float storage: exactly y rounded to that dtype
        assert_array_equal(out.data, y.astype(rec.dtype).astype(np.float64))
    else:
        err = np.abs(out.data - y)
        assert (err <= half_step(out, suffix)).all(), err.max(axis=1)
    ref_path = tmp_path / f"reference{suffix}"
    write_recording(ref_path, replace(rec, data=y))
    assert_array_equal(out.data, read_recording(ref_path).data)


def written(tmp_path) -> list[str]:
    return sorted(os.listdir(tmp_path))


def round_trip(tmp_path, suffix, dtype, meta, fs, method_args, api_kw) -> tuple[np.ndarray, np.ndarray]:
    """Denoise a noisy 3-channel recording in `suffix` through the command line and check what it
    wrote against sigdenoise.denoise on the rows it read; the SNR (dB) of each channel in and out."""
    pytest.importorskip(LIB[suffix])
    clean = clean_signals()
    noisy = clean + 0.1 * np.random.default_rng(0).standard_normal(clean.shape)
    inp, out = tmp_path / f"in{suffix}", tmp_path / f"out{suffix}"
    rec = write_input(inp, noisy, fs, dtype, meta)

    res = cli("denoise", inp, "-o", out, *method_args)
    assert res.exit_code == 0, res.output

    got = read_recording(out)
    assert got.channels == NAMES and got.fs == fs and got.dtype == np.dtype(dtype) == rec.dtype
    assert isinstance(got.data, np.ndarray) and got.data.shape == (3, N)
    if suffix in (".wav", ".flac"):
        assert got.meta["subtype"] == rec.meta["subtype"]

    y = sigdenoise.denoise(np.stack(rec.rows()), fs=rec.fs, **api_kw)  # (3, N) float64, before quantisation
    same_after_writer(tmp_path, rec, y, got, suffix)

    report = json.loads((tmp_path / f"out{suffix}.json").read_text())
    assert report["input"] == str(inp) and report["output"] == str(out)
    return snr_db(rec.data, clean), snr_db(got.data, clean)


@pytest.mark.parametrize("suffix, dtype, meta, fs", FORMATS, ids=IDS)
def test_round_trip_raises_snr_keeps_the_recording_and_equals_the_api(tmp_path, suffix, dtype, meta, fs):
    """3 channels x 2,048 samples, white noise sd 0.1, `--method savgol` (fast: every format runs).
    SNR in 11.0 / 9.1 / 8.2 dB; measured out 22.5 / 20.4 / 19.3 dB on every format (gains 11.5 /
    11.3 / 11.1); asserted: a gain above 5 dB on every channel of every format."""
    snr_in, snr_out = round_trip(tmp_path, suffix, dtype, meta, fs, ["--method", "savgol"], {"method": "savgol"})
    assert (snr_out - snr_in > 5.0).all(), (snr_in, snr_out)


@pytest.mark.parametrize("suffix, dtype, meta, fs", [FORMATS[0], FORMATS[-1]], ids=[IDS[0], IDS[-1]])
def test_default_auto_round_trip_equals_the_api_default(tmp_path, suffix, dtype, meta, fs):
    """The default (auto: the candidate of least estimated error) on int16 WAV and float64 HDF5:
    equal to sigdenoise.denoise(rows, fs=rate) after quantisation. SNR in 11.0 / 9.1 / 8.2 dB;
    measured out 28.5 / 28.1 / 23.6 dB (gains 17.5 / 19.0 / 15.3); asserted: a gain above 10 dB
    on every channel. One BLAS thread: auto's many small eigh and matmuls took 2-6 s a run with
    threads on two busy cores, 0.3 s without (the result is the same either way)."""
    from threadpoolctl import threadpool_limits  # a dependency of scikit-learn, which is ours

    with threadpool_limits(1):
        snr_in, snr_out = round_trip(tmp_path, suffix, dtype, meta, fs, [], {})
    assert (snr_out - snr_in > 10.0).all(), (snr_in, snr_out)


def hum_amplitude(x: np.ndarray, fs: float, f: float = 50.0, skip: int = 0) -> np.ndarray:
    """(C,) amplitude of the f Hz sinusoid in each row of x (least squares on sin and cos), on
    the samples `skip` or more from either end."""
    t = np.arange(x.shape[1])[skip : x.shape[1] - skip] / fs
    basis = np.stack([np.sin(2 * np.pi * f * t), np.cos(2 * np.pi * f * t)], axis=1)  # (n, 2)
    coef, *_ = np.linalg.lstsq(basis, x[:, skip : x.shape[1] - skip].T, rcond=None)  # (2, C)
    return np.hypot(*coef)


@pytest.mark.parametrize("suffix, dtype, meta, fs", FORMATS, ids=IDS)
def test_notch_50_equals_scipy_iirnotch_filtfilt(tmp_path, suffix, dtype, meta, fs):
    """fs 500, 5/12 Hz sines + a 50 Hz hum of 0.3 on every channel: `--notch 50 --method none` is
    scipy's iirnotch(50, 30, fs=500) run by filtfilt on each channel as read, to the stored
    precision. The hum's amplitude falls from 0.30 to 0.009 over the whole recording (the filter's
    edge transients; asserted < 0.02) and to 0.0008 / 0.0016 from 0.5 s in (asserted < 0.005)."""
    pytest.importorskip(LIB[suffix])
    fs = 500.0
    t = np.arange(N) / fs
    x = np.stack([0.4 * np.sin(2 * np.pi * 5 * t), 0.3 * np.cos(2 * np.pi * 12 * t)]) + 0.3 * np.sin(2 * np.pi * 50 * t)
    x = x + 0.01 * np.random.default_rng(1).standard_normal(x.shape)
    inp, out = tmp_path / f"in{suffix}", tmp_path / f"out{suffix}"
    rec = write_input(inp, x, fs, dtype, meta)

    res = cli("denoise", inp, "-o", out, "--notch", 50, "--method", "none")
    assert res.exit_code == 0, res.output

    b, a = signal.iirnotch(50.0, 30.0, fs=500.0)
    ref = np.stack([signal.filtfilt(b, a, r) for r in rec.rows()])  # (2, N)
    y = sigdenoise.denoise(ref, method="none")
    assert_array_equal(y, ref)  # none changes nothing
    got = read_recording(out)
    assert got.channels == NAMES[:2] and got.fs == fs and got.dtype == rec.dtype and got.data.shape == (2, N)
    same_after_writer(tmp_path, rec, y, got, suffix)
    assert (hum_amplitude(rec.data, fs) > 0.29).all()
    assert (hum_amplitude(got.data, fs) < 0.02).all(), hum_amplitude(got.data, fs)
    assert (hum_amplitude(got.data, fs, skip=250) < 0.005).all(), hum_amplitude(got.data, fs, skip=250)


def test_notch_on_a_csv_without_fs_is_one_line_and_writes_nothing(tmp_path):
    inp = tmp_path / "in.csv"
    np.savetxt(inp, clean_signals(300)[:2], delimiter=",")
    line = one_line(cli("denoise", inp, "-o", tmp_path / "out.csv", "--notch", 50))
    assert "--notch: needs the sampling rate: give --fs" in line
    assert written(tmp_path) == ["in.csv"]


def test_output_named_for_another_format_is_refused_before_any_work(tmp_path):
    pytest.importorskip("soundfile")
    inp = tmp_path / "in.wav"
    write_input(inp, clean_signals(), 8000.0, "int16", {})
    line = one_line(cli("denoise", inp, "-o", tmp_path / "out.parquet"))
    assert line == "Error: --out: out.parquet is Parquet; denoise writes the input's format, WAV (.wav)"
    assert written(tmp_path) == ["in.wav"]


def test_a_corrupt_input_leaves_the_existing_output_untouched(tmp_path):
    pytest.importorskip("soundfile")
    inp, out = tmp_path / "in.wav", tmp_path / "out.wav"
    inp.write_bytes(np.random.default_rng(0).bytes(600))
    old = np.random.default_rng(1).bytes(300)
    out.write_bytes(old)
    line = one_line(cli("denoise", inp, "-o", out))
    assert line.startswith(f"Error: {inp}: ")
    assert out.read_bytes() == old
    assert written(tmp_path) == ["in.wav", "out.wav"]


def test_missing_audio_extra_is_one_line_naming_the_file_and_the_extra(tmp_path, monkeypatch):
    pytest.importorskip("soundfile")
    inp = tmp_path / "in.wav"
    write_input(inp, clean_signals(), 8000.0, "int16", {})
    monkeypatch.setitem(sys.modules, "soundfile", None)  # importing it now fails, as when not installed
    line = one_line(cli("denoise", inp, "-o", tmp_path / "out.wav"))
    assert str(inp) in line and "sigdenoise[audio]" in line
    assert line == f"Error: {inp}: reading WAV needs the 'audio' extra: pip install 'sigdenoise[audio]'"
    assert written(tmp_path) == ["in.wav"]


def drifting_parquet(path) -> np.ndarray:
    """A Parquet table with no rate: two float64 columns, 10 Hz and 23 Hz sines at 1000 Hz riding on
    a slow drift (0.8 at 0.1 Hz plus a ramp); returns the (2, n) data."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    t = np.arange(3000) / 1000.0
    drift = 0.8 * np.sin(2 * np.pi * 0.1 * t) + 0.2 * t
    x = np.stack([0.5 * np.sin(2 * np.pi * 10 * t) + drift, 0.3 * np.sin(2 * np.pi * 23 * t) - drift])
    pq.write_table(pa.table({"a": x[0], "b": x[1]}), str(path))
    assert read_recording(path).fs is None
    return x


def test_fs_and_highpass_on_parquet_without_a_rate_equal_scipy_butterworth(tmp_path):
    """--fs 1000 --highpass 1 --method none: scipy's 4th-order Butterworth high-pass at 1 Hz by
    sosfiltfilt, on each float64 column, exactly; the output records the rate given. The drift (a
    0.1 Hz sine of 0.8 and a ramp) makes the mean square error against the bare sines 0.90 / 0.90,
    0.0030 / 0.0008 after (the edges' transients): asserted < 0.01."""
    inp, out = tmp_path / "in.parquet", tmp_path / "out.parquet"
    x = drifting_parquet(inp)
    res = cli("denoise", inp, "-o", out, "--fs", 1000, "--highpass", 1, "--method", "none")
    assert res.exit_code == 0, res.output

    sos = signal.butter(4, 1.0, "highpass", fs=1000.0, output="sos")
    ref = np.stack([signal.sosfiltfilt(sos, r) for r in x])
    y = sigdenoise.denoise(ref, method="none")
    got = read_recording(out)
    assert got.channels == ["a", "b"] and got.dtype == np.float64 and got.data.shape == (2, 3000) and got.fs == 1000.0
    assert_array_equal(got.data, y)
    t = np.arange(3000) / 1000.0
    bare = np.stack([0.5 * np.sin(2 * np.pi * 10 * t), 0.3 * np.sin(2 * np.pi * 23 * t)])
    assert (np.mean((x - bare) ** 2, axis=1) > 0.8).all()
    assert (np.mean((got.data - bare) ** 2, axis=1) < 0.01).all(), np.mean((got.data - bare) ** 2, axis=1)


def test_highpass_on_parquet_without_a_rate_needs_fs(tmp_path):
    inp = tmp_path / "in.parquet"
    drifting_parquet(inp)
    line = one_line(cli("denoise", inp, "-o", tmp_path / "out.parquet", "--highpass", 1, "--method", "none"))
    assert line == "Error: --highpass: needs the sampling rate: give --fs"
    assert written(tmp_path) == ["in.parquet"]


@pytest.mark.parametrize("suffix", [".edf", ".bdf", ".hea", ".h5"])
def test_highpass_on_a_recording_with_an_offset_keeps_the_signal(tmp_path, suffix):
    """Channels 5 + 0.5 sin(5 Hz) and -3 + 0.2 sin(8 Hz) at 250 Hz, stored in int16 EDF/WFDB (a range
    spanning 4.5 … 5.5 and -3.2 … -2.8) or float64 HDF5 (the control): `--highpass 1 --method none`
    should give scipy's sosfiltfilt of each channel, about ±0.6 and ±0.2 around 0, within half a
    step of the output's scaling (formats.widened fits the stored scaling to the output). Before
    it, EDF and WFDB wrote every sample at the old range's limits, 4.500986 and -2.80001, exit 0."""
    pytest.importorskip(LIB[suffix])
    fs = 250.0
    t = np.arange(2500) / fs
    x = np.stack([5 + 0.5 * np.sin(2 * np.pi * 5 * t), -3 + 0.2 * np.sin(2 * np.pi * 8 * t)])
    inp, out = tmp_path / f"in{suffix}", tmp_path / f"out{suffix}"
    rec = write_input(inp, x, fs, "float64" if suffix == ".h5" else "int16", {})
    res = cli("denoise", inp, "-o", out, "--highpass", 1, "--method", "none")
    assert res.exit_code == 0, res.output
    sos = signal.butter(4, 1.0, "highpass", fs=fs, output="sos")
    ref = np.stack([signal.sosfiltfilt(sos, r) for r in rec.rows()])
    got = read_recording(out)
    err = np.abs(got.data - ref)
    assert (err <= half_step(got, suffix)).all(), err.max(axis=1)
