"""Reading and writing recordings as WAV/FLAC/OGG, EDF/BDF, WFDB, Parquet and HDF5: round trips
within each format's stated bound, the stored dtype kept, clipping instead of wrap-around, the
one-line errors (missing extra, corrupt file, wrong content) and writes that leave nothing behind.

Each format's tests skip (importorskip) when its library is not installed."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from sigdenoise.errors import OutputError, SigdenoiseError, SignalIOError
from sigdenoise.recordings.formats import (
    FORMATS,
    MissingExtraError,
    Recording,
    format_of,
    read_recording,
    write_recording,
)

NAMES = ["sine", "chirp", "cos"]
LIB = {".wav": "soundfile", ".flac": "soundfile", ".ogg": "soundfile", ".edf": "pyedflib", ".bdf": "pyedflib",
       ".hea": "wfdb", ".parquet": "pyarrow.parquet", ".h5": "h5py"}


def signals(fs: float, n: int) -> np.ndarray:
    """(3, n) float64 inside ±0.9 and float32-exact: a sine, a linear chirp and a cosine."""
    t = np.arange(n) / fs
    x = np.stack([0.8 * np.sin(2 * np.pi * 5 * t),
                  0.6 * np.sin(2 * np.pi * (2 + 0.01 * fs * t) * t),
                  0.3 * np.cos(2 * np.pi * 3 * t) - 0.2])
    return x.astype(np.float32).astype(np.float64)


def half_step(rec: Recording, suffix: str) -> np.ndarray:
    """(C, 1): half of one quantisation step of each channel, as read back: the most a rounding
    writer may move a value that lies inside the stored range."""
    m = rec.meta
    if suffix in (".edf", ".bdf"):
        h = m["signal_headers"]
        step = [(s["physical_max"] - s["physical_min"]) / (s["digital_max"] - s["digital_min"]) for s in h]
    elif suffix == ".hea":
        step = [1 / g for g in m["adc_gain"]]
    elif rec.dtype.kind in "iu":  # PCM: v / 2^(b-1) at b bits
        bits = {"PCM_16": 16, "PCM_24": 24, "PCM_32": 32}[m["subtype"]]
        step = [2.0 ** -(bits - 1)] * 3
    else:
        step = [0.0] * 3  # floats: exact
    return np.array(step)[:, None] / 2 * (1 + 1e-9)  # 1e-9: the float arithmetic of the scaling


# suffix, stored dtype, extra meta, rate; 503 samples: not a whole number of seconds (EDF records)
ROUND_TRIPS = [
    (".wav", "int16", {}, 8000.0),
    (".wav", "float32", {}, 8000.0),
    (".flac", "int32", {"subtype": "PCM_24"}, 8000.0),
    (".edf", "int16", {}, 250.0),
    (".bdf", "int32", {}, 250.0),
    (".hea", "int16", {}, 250.0),
    (".parquet", "float32", {}, 250.0),
    (".parquet", "float64", {}, 250.0),
    (".h5", "float32", {}, 250.0),
    (".h5", "float64", {}, 250.0),
]


@pytest.mark.parametrize("suffix, dtype, meta, fs", ROUND_TRIPS)
def test_round_trip_keeps_channels_names_rate_length_dtype_and_values(tmp_path, suffix, dtype, meta, fs):
    pytest.importorskip(LIB[suffix])
    x = signals(fs, 503)
    path = tmp_path / f"rec{suffix}"
    write_recording(path, Recording(x.copy(), fs, list(NAMES), np.dtype(dtype), dict(meta)))
    rec = read_recording(path)
    assert rec.channels == NAMES and rec.fs == fs and rec.dtype == np.dtype(dtype)
    assert isinstance(rec.data, np.ndarray) and rec.data.dtype == np.float64 and rec.data.shape == (3, 503)
    err = np.abs(rec.data - x)
    assert (err <= half_step(rec, suffix)).all(), err.max(axis=1)
    if suffix in (".parquet", ".h5"):
        assert_array_equal(rec.data, x)
    # Values read from a file are exactly on its grid: writing them back changes nothing.
    again = tmp_path / f"again{suffix}"
    write_recording(again, rec)
    back = read_recording(again)
    assert_array_equal(back.data, rec.data)
    assert back.channels == NAMES and back.fs == fs and back.dtype == rec.dtype


def test_ogg_vorbis_round_trip_is_close(tmp_path):
    pytest.importorskip("soundfile")
    x = signals(8000.0, 8000)
    write_recording(tmp_path / "r.ogg", Recording(x, 8000.0, list(NAMES), np.dtype("float32"), {}))
    rec = read_recording(tmp_path / "r.ogg")
    assert rec.channels == NAMES and rec.fs == 8000.0 and rec.data.shape == (3, 8000)
    assert rec.meta["subtype"] == "VORBIS"
    # lossy: the error is the codec's, measured 0.004 rms on these signals; 0.02 bounds it
    assert np.sqrt(np.mean((rec.data - x) ** 2)) < 0.02


def test_int16_wav_written_back_stays_int16_and_clips(tmp_path):
    sf = pytest.importorskip("soundfile")
    path = tmp_path / "pcm.wav"
    sf.write(str(path), np.array([[0, 1000, -32768, 32767, -5]], dtype=np.int16).T, 8000, subtype="PCM_16")
    rec = read_recording(path)
    assert rec.dtype == np.int16 and rec.meta["subtype"] == "PCM_16"
    assert_array_equal(rec.data, [[0, 1000 / 32768, -1, 32767 / 32768, -5 / 32768]])
    rec.data = rec.data * 3  # beyond full scale: must saturate, not wrap around
    out = tmp_path / "out.wav"
    write_recording(out, rec)
    assert sf.info(str(out)).subtype == "PCM_16"
    raw, _ = sf.read(str(out), dtype="int16")
    assert_array_equal(raw, [0, 3000, -32768, 32767, -15])


def test_fs_override_wins_and_rate_from_metadata(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"a": [1.0, 2.0]}), str(path))
    assert read_recording(path).fs is None
    assert read_recording(path, fs=100.0).fs == 100.0
    pq.write_table(pa.table({"a": [1.0, 2.0]}).replace_schema_metadata({"sampling_rate": "512"}), str(path))
    assert read_recording(path).fs == 512.0 and read_recording(path, fs=64).fs == 64.0
    sf = pytest.importorskip("soundfile")
    sf.write(str(tmp_path / "a.wav"), np.zeros(10), 8000)
    assert read_recording(tmp_path / "a.wav", fs=44100.0).fs == 44100.0


@pytest.mark.parametrize("suffix", [".wav", ".edf", ".hea", ".parquet", ".h5"])
def test_missing_extra_names_file_and_pip_command(tmp_path, monkeypatch, suffix):
    fmt = format_of(f"x{suffix}")
    for name in (fmt.module, fmt.module.split(".")[0]):
        monkeypatch.setitem(sys.modules, name, None)  # import of it now fails, as when not installed
    path = tmp_path / f"rec{suffix}"
    path.write_bytes(b"whatever")
    for call in (lambda: read_recording(path),
                 lambda: write_recording(path, Recording(np.zeros((1, 4)), 250.0, ["a"], np.dtype("int16"), {}))):
        with pytest.raises(MissingExtraError) as e:
            call()
        msg = str(e.value)
        assert "\n" not in msg and msg.startswith(f"{path}: ")
        assert f"needs the '{fmt.extra}' extra: pip install 'sigdenoise[{fmt.extra}]'" in msg
        assert isinstance(e.value, SigdenoiseError)
    assert path.read_bytes() == b"whatever"


@pytest.mark.parametrize("suffix", [".wav", ".flac", ".edf", ".bdf", ".hea", ".parquet", ".h5"])
def test_corrupt_file_is_one_line_signal_io_error(tmp_path, suffix):
    pytest.importorskip(LIB[suffix])
    path = tmp_path / f"bad{suffix}"
    path.write_bytes(np.random.default_rng(0).bytes(600))
    with pytest.raises(SignalIOError) as e:
        read_recording(path)
    assert str(e.value).startswith(f"{path}: ") and "\n" not in str(e.value)


def test_missing_file_and_unknown_suffix(tmp_path):
    with pytest.raises(SignalIOError, match="no such file"):
        read_recording(tmp_path / "gone.wav")
    with pytest.raises(SignalIOError, match=r"suffix '\.xyz'"):
        read_recording(tmp_path / "a.xyz")
    assert format_of("A.WAV") is FORMATS[".wav"] and format_of("a.HDF5").name == "HDF5"
    assert format_of("a.csv") is None and format_of("a.npy") is None


def test_wrong_content_parquet_without_numbers_and_hdf5_without_one_dataset(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    pq.write_table(pa.table({"name": ["a", "b"], "time": [0.0, 0.1]}), str(tmp_path / "t.parquet"))
    with pytest.raises(SignalIOError, match="no numeric column.*name.*time"):
        read_recording(tmp_path / "t.parquet")
    h5py = pytest.importorskip("h5py")
    with h5py.File(tmp_path / "two.h5", "w") as f:
        f["a"], f["g/b"], f["time"] = np.zeros((2, 5)), np.ones(5), np.arange(5.0)
    with pytest.raises(SignalIOError, match="2 datasets that could be the signals.*/a, /g/b, /time"):
        read_recording(tmp_path / "two.h5")
    with h5py.File(tmp_path / "none.h5", "w") as f:
        f["text"] = np.array([b"x"])
    with pytest.raises(SignalIOError, match="no numeric 1-D or 2-D dataset"):
        read_recording(tmp_path / "none.h5")


# suffix -> the library writer to replace by one that writes fully (a temporary file, or WFDB's
# temporary folder, now holds data) and then fails
FAILURES = {".wav": ("soundfile", "SoundFile", "write"), ".edf": ("pyedflib", "EdfWriter", "writeSamples"),
            ".hea": ("wfdb", None, "wrsamp"), ".parquet": ("pyarrow.parquet", None, "write_table"),
            ".h5": ("h5py", "Group", "create_dataset")}


@pytest.mark.parametrize("suffix", sorted(FAILURES))
def test_failed_write_leaves_nothing_and_keeps_the_old_file(tmp_path, monkeypatch, suffix):
    pytest.importorskip(LIB[suffix])
    module, cls, name = FAILURES[suffix]
    owner = getattr(sys.modules[module], cls) if cls else sys.modules[module]
    real = getattr(owner, name)

    def write_then_fail(*args, **kwargs):
        real(*args, **kwargs)
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(owner, name, write_then_fail)
    old = tmp_path / f"rec{suffix}"
    old.write_bytes(b"the old file")
    with pytest.raises(SignalIOError, match="disk on fire") as e:
        write_recording(old, Recording(signals(250.0, 500), 250.0, list(NAMES), np.dtype("int16"), {}))
    assert "\n" not in str(e.value) and str(e.value).startswith(f"{old}: ")
    assert os.listdir(tmp_path) == [old.name] and old.read_bytes() == b"the old file"


def test_write_into_a_file_as_folder_is_an_output_error_and_leaves_nothing(tmp_path):
    pytest.importorskip("soundfile")
    (tmp_path / "f").write_text("x")
    with pytest.raises(OutputError):
        write_recording(tmp_path / "f" / "r.wav", Recording(np.zeros((1, 8)), 8000.0, ["a"], np.dtype("int16"), {}))
    assert os.listdir(tmp_path) == ["f"]


def test_nan_cannot_become_pcm(tmp_path):
    pytest.importorskip("soundfile")
    x = np.array([[0.5, np.nan, -0.25, 0.0]])
    with pytest.raises(SignalIOError, match="'a' has NaN samples, which WAV PCM_16 cannot store"):
        write_recording(tmp_path / "n.wav", Recording(x, 8000.0, ["a"], np.dtype("int16"), {}))
    assert os.listdir(tmp_path) == []


def test_nan_is_wfdb_missing_sample_code(tmp_path):
    pytest.importorskip("wfdb")
    x = np.array([[0.5, np.nan, -0.25, 0.0]])
    write_recording(tmp_path / "n.hea", Recording(x, 100.0, ["a"], np.dtype("int16"), {}))
    rec = read_recording(tmp_path / "n.hea")
    assert np.isnan(rec.data[0, 1]) and rec.meta["fmt"] == ["16"]
    assert np.abs(rec.data[0, [0, 2, 3]] - x[0, [0, 2, 3]]).max() <= 0.5 / rec.meta["adc_gain"][0]


def test_nan_is_parquet_null_in_an_integer_column(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    x = np.array([[50.4, np.nan, -25.5, 1e9]])
    write_recording(tmp_path / "n.parquet", Recording(x, None, ["a"], np.dtype("int16"), {}))
    assert pq.read_table(str(tmp_path / "n.parquet")).column("a").to_pylist() == [50, None, -26, 32767]
    assert_array_equal(read_recording(tmp_path / "n.parquet").data, [[50, np.nan, -26, 32767]])


def test_wav_channel_names_ride_below_the_files_own_comment(tmp_path):
    sf = pytest.importorskip("soundfile")
    with sf.SoundFile(str(tmp_path / "a.wav"), "w", samplerate=8000, channels=2, subtype="PCM_16") as f:
        f.comment, f.title = "my notes", "T"
        f.write(np.zeros((4, 2)))
    rec = read_recording(tmp_path / "a.wav")
    assert rec.channels == ["ch1", "ch2"] and rec.meta["strings"] == {"title": "T", "comment": "my notes"}
    rec.channels = ["left", "right"]
    write_recording(tmp_path / "b.wav", rec)
    back = read_recording(tmp_path / "b.wav")
    assert back.channels == ["left", "right"] and back.meta["strings"] == rec.meta["strings"]


def test_edf_keeps_header_annotations_several_rates_and_clips_to_its_range(tmp_path):
    pyedflib = pytest.importorskip("pyedflib")
    path = tmp_path / "m.edf"
    with pyedflib.EdfWriter(str(path), 2, file_type=pyedflib.FILETYPE_EDFPLUS) as w:
        w.setSignalHeaders([{"label": f"c{i}", "dimension": "uV", "sample_frequency": fs,
                             "physical_min": -100.0, "physical_max": 100.0, "digital_min": -32768,
                             "digital_max": 32767, "prefilter": "HP:0.1Hz", "transducer": "AgCl"}
                            for i, fs in enumerate((100, 200))])
        w.setPatientName("Jane")
        w.writeSamples([np.linspace(-50, 50, 300), np.linspace(-90, 90, 600)])
        w.writeAnnotation(0.5, 0.25, "blink")
    rec = read_recording(path)
    assert rec.fs == [100.0, 200.0] and [len(r) for r in rec.data] == [300, 600] and rec.dtype == np.int16
    assert rec.meta["annotations"] == [[0.5, 0.25, "blink"]] and rec.meta["header"]["patientname"] == "Jane"
    rec.data = [rec.data[0], rec.data[1] * 2]  # ±180 µV: beyond the file's ±100
    write_recording(tmp_path / "n.edf", rec)
    back = read_recording(tmp_path / "n.edf")
    assert back.fs == rec.fs and back.channels == ["c0", "c1"] and back.meta["annotations"] == rec.meta["annotations"]
    assert back.meta["signal_headers"] == rec.meta["signal_headers"] and back.meta["header"] == rec.meta["header"]
    assert_array_equal(back.data[0], rec.data[0])
    assert back.data[1].max() == 100.0 and back.data[1].min() == -100.0
    inside = np.abs(rec.data[1]) <= 100
    assert np.abs(back.data[1][inside] - rec.data[1][inside]).max() <= 200 / 65535 / 2 * (1 + 1e-9)


def test_edf_header_numbers_and_record_duration():
    from sigdenoise.recordings.formats.edf import header_number, record_layout

    assert header_number(123.21238778, True, "p") == "123.2124"
    assert header_number(-123.21238778, False, "p") == "-123.213"
    assert header_number(2.7580400000000003, True, "p") == "2.75804"  # as edflib parses "2.75804"
    assert header_number(-1e-9, False, "p") == "-0.00001" and header_number(100.0, True, "p") == "100"
    assert record_layout([503, 503], [250.0, 250.0], 2) == 2.012  # one record: 503 is prime
    assert record_layout([250, 500], [100.0, 200.0], 2) == 1.25  # 2.5 s in 2 records
    assert record_layout([16000], [8000.0], 2) == 1.0
    assert record_layout([100, 100], [100.0, 200.0], 2) is None  # 1 s and 0.5 s: left to padding


def test_wfdb_channels_at_two_rates_round_trip(tmp_path):
    pytest.importorskip("wfdb")
    a, b = np.sin(np.arange(500) / 10), np.cos(np.arange(1000) / 20)
    write_recording(tmp_path / "mf.hea", Recording([a, b], [250.0, 500.0], ["a", "b"], np.dtype("int16"), {}))
    rec = read_recording(tmp_path / "mf.hea")
    assert rec.fs == [250.0, 500.0] and rec.meta["samps_per_frame"] == [1, 2] and rec.meta["frame_fs"] == 250.0
    for got, want, gain in zip(rec.data, (a, b), rec.meta["adc_gain"]):
        assert len(got) == len(want) and np.abs(got - want).max() <= 0.5 / gain * (1 + 1e-9)
    assert sorted(os.listdir(tmp_path)) == ["mf.dat", "mf.hea"]


def test_parquet_keeps_time_and_text_columns_types_order_and_rate(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table({"time": np.arange(4) / 250, "a": np.arange(4, dtype=np.float32),
                      "label": list("wxyz"), "b": np.array([1, 2, 3, 4], dtype=np.int16)})
    pq.write_table(table.replace_schema_metadata({"fs": "250"}), str(tmp_path / "p.parquet"), compression="zstd")
    rec = read_recording(tmp_path / "p.parquet")
    assert rec.channels == ["a", "b"] and rec.dtype == [np.float32, np.int16] and rec.fs == 250.0
    rec.data = rec.data * 2.5
    write_recording(tmp_path / "q.parquet", rec)
    out = pq.read_table(str(tmp_path / "q.parquet"))
    assert out.column_names == ["time", "a", "label", "b"] and out.schema.field("b").type == pa.int16()
    assert out.column("a").to_pylist() == [0, 2.5, 5, 7.5] and out.column("b").to_pylist() == [2, 5, 8, 10]
    assert out.column("label").to_pylist() == list("wxyz") and out.column("time").equals(table.column("time"))
    assert out.schema.metadata[b"fs"] == b"250.0"
    assert pq.ParquetFile(str(tmp_path / "q.parquet")).metadata.row_group(0).column(0).compression == "ZSTD"


def test_hdf5_samples_by_channels_with_names_and_rate_on_the_root(tmp_path):
    h5py = pytest.importorskip("h5py")
    with h5py.File(tmp_path / "h.h5", "w") as f:
        f.attrs["fs"] = 1000.0
        d = f.create_dataset("rec/eeg", data=np.arange(20, dtype=np.int16).reshape(10, 2), compression="gzip")
        d.attrs["channels"], d.attrs["units"] = ["Fz", "Cz"], "uV"
        f["rec/time"] = np.arange(10) / 1000  # a time dataset is not a second candidate
    rec = read_recording(tmp_path / "h.h5")
    assert rec.channels == ["Fz", "Cz"] and rec.fs == 1000.0 and rec.dtype == np.int16 and rec.meta["transposed"]
    assert_array_equal(rec.data, np.arange(20).reshape(10, 2).T)
    rec.data = rec.data * 3000.0  # up to 57000: saturates at int16's 32767
    write_recording(tmp_path / "o.h5", rec)
    with h5py.File(tmp_path / "o.h5", "r") as f:
        d = f["rec/eeg"]
        assert d.dtype == np.int16 and d.compression == "gzip" and d.attrs["units"] == "uV" and f.attrs["fs"] == 1000
        assert_array_equal(d[()], np.minimum(np.arange(20).reshape(10, 2) * 3000, 32767))
