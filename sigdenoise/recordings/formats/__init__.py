"""Reading and writing multi-channel recordings in the formats of audio, physiology and data science.

One registry, `FORMATS`, maps a file suffix to its `Format`: the library it needs (imported only
when a file of that kind is read or written, so none of them is a dependency of sigdenoise) and the
pip extra that installs it. CSV and .npy are not here: `sigdenoise.recordings.read` handles them.

| format          | suffixes        | extra   | module       |
|-----------------|-----------------|---------|--------------|
| WAV, FLAC, OGG  | .wav .flac .ogg | audio   | audio.py     |
| EDF, BDF        | .edf .bdf       | edf     | edf.py       |
| WFDB            | .hea            | wfdb    | physionet.py |
| Parquet         | .parquet .pq    | parquet | parquet.py   |
| HDF5            | .h5 .hdf5       | hdf5    | hdf5.py      |

`read_recording` gives float64 samples and keeps what the file stored them as; `write_recording`
writes them back in that dtype (integers rounded and clipped, never wrapped), through a temporary
file renamed into place, so no failure leaves a partial file or touches an existing one. Every
problem with a file is a one-line `SignalIOError` naming it; a missing library is a
`MissingExtraError` naming the file and the pip command; a disk that refuses the write is the
`OutputError` of `sigdenoise.atomic`. Nothing here prints.

Adding a format is one module with `read(path) -> Recording` and `write(path, rec)`, and one
line in `_ALL`.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np

from sigdenoise.errors import SettingsError, SigdenoiseError, SignalIOError
from sigdenoise.recordings.formats import audio, edf, hdf5, parquet, physionet
from sigdenoise.recordings.formats.recording import LIBRARY_ERRORS, MissingExtraError, Recording, one_line

__all__ = ["FORMATS", "Format", "MissingExtraError", "Recording", "format_of", "read_recording",
           "require_extra", "write_recording"]


@dataclass(frozen=True)
class Format:
    """One file format: its name in messages, its suffixes (lower-case, with the dot), the pip
    extra and the module it needs, and its reader `read(path) -> Recording` and atomic writer
    `write(path, rec)`."""

    name: str
    suffixes: tuple[str, ...]
    extra: str
    module: str
    read: Callable[[Path], Recording]
    write: Callable[[Path, Recording], None]


_ALL = (
    Format("WAV", (".wav",), "audio", "soundfile", audio.read, audio.write),
    Format("FLAC", (".flac",), "audio", "soundfile", audio.read, audio.write),
    Format("OGG", (".ogg",), "audio", "soundfile", audio.read, audio.write),
    Format("EDF", (".edf",), "edf", "pyedflib", edf.read, edf.write),
    Format("BDF", (".bdf",), "edf", "pyedflib", edf.read, edf.write),
    Format("WFDB", (".hea",), "wfdb", "wfdb", physionet.read, physionet.write),
    Format("Parquet", (".parquet", ".pq"), "parquet", "pyarrow.parquet", parquet.read, parquet.write),
    Format("HDF5", (".h5", ".hdf5"), "hdf5", "h5py", hdf5.read, hdf5.write),
)

FORMATS: dict[str, Format] = {suffix: fmt for fmt in _ALL for suffix in fmt.suffixes}


def format_of(path) -> Format | None:
    """The Format of `path` by its suffix, case-insensitively (rec.WAV is WAV); None if none."""
    return FORMATS.get(Path(path).suffix.lower())


def require_extra(fmt: Format, path, verb: str = "reading") -> ModuleType:
    """Import the library `fmt` needs and return it; MissingExtraError (one line, naming `path` and
    the pip command) when it is not installed or cannot load (soundfile without libsndfile)."""
    try:
        return importlib.import_module(fmt.module)
    except (ImportError, OSError):
        raise MissingExtraError(
            f"{path}: {verb} {fmt.name} needs the '{fmt.extra}' extra: pip install 'sigdenoise[{fmt.extra}]'"
        ) from None


def _format(path: Path) -> Format:
    fmt = format_of(path)
    if fmt is None:
        known = " ".join(sorted(FORMATS))
        raise SignalIOError(path, f"no reader or writer for suffix {path.suffix!r} (known: {known})")
    return fmt


def read_recording(path, fs: float | None = None) -> Recording:
    """Read a recording: data float64, (C, N) or C rows of their own lengths (see Recording).

    fs: the sampling rate in Hz, given: it replaces the file's (one rate for every channel).
    Where the file records none (Parquet, HDF5 without an `fs`/`sampling_rate` key), fs is None."""
    path = Path(path)
    fmt = _format(path)
    if fs is not None and (isinstance(fs, bool) or not isinstance(fs, (int, float, np.number))
                           or not math.isfinite(fs) or fs <= 0):
        raise SettingsError("fs", f"must be a positive number of Hz, not {fs!r}")
    if not path.exists():
        raise SignalIOError(path, "no such file")
    if not path.is_file():
        raise SignalIOError(path, "is not a regular file")
    require_extra(fmt, path, "reading")
    try:
        rec = fmt.read(path)
    except SigdenoiseError:
        raise
    except LIBRARY_ERRORS as e:
        raise SignalIOError(path, f"cannot read it as {fmt.name}: {one_line(e, path)}") from None
    if fs is not None:
        rates = {r for r in rec.rates() if r is not None}
        if len(rates) > 1:  # one rate for channels sampled at several would stretch some of them
            raise SettingsError("--fs", f"{path.name} has channels at {len(rates)} rates "
                                        f"({', '.join(f'{r:g}' for r in sorted(rates))} Hz); it cannot have one --fs")  # fmt: skip
        rec.fs = float(fs)
    return rec


def _check(path: Path, rec: Recording) -> None:
    """The shape rules every writer relies on: C names, unique, and C 1-D rows; C rates and dtypes
    where lists are given."""
    rows = rec.data if isinstance(rec.data, (list, tuple)) else np.asarray(rec.data)
    if isinstance(rows, np.ndarray) and rows.ndim != 2:
        raise SignalIOError(path, f"data must be (channels, samples); got shape {rows.shape}")
    if any(np.ndim(r) != 1 for r in rows):
        raise SignalIOError(path, "every channel must be a 1-D array of samples")
    n = len(rows)
    if len(rec.channels) != n or n == 0:
        raise SignalIOError(path, f"{n} channels of data but {len(rec.channels)} channel names")
    if len(set(rec.channels)) != n or not all(isinstance(c, str) and c for c in rec.channels):
        raise SignalIOError(path, f"channel names must be distinct, non-empty texts: {rec.channels}")
    for what, value in (("rates", rec.fs), ("dtypes", rec.dtype)):
        if isinstance(value, (list, tuple)) and len(value) != n:
            raise SignalIOError(path, f"{len(value)} {what} for {n} channels")


def write_recording(path, rec: Recording) -> None:
    """Write `rec` to `path` in the format of its suffix: same channels, names, rate and stored
    dtype (float data rounded and clipped into integer dtypes). Atomic: on any error nothing new is
    left at `path` and an existing file there is untouched."""
    path = Path(path)
    fmt = _format(path)
    _check(path, rec)
    require_extra(fmt, path, "writing")
    try:
        fmt.write(path, rec)
    except SigdenoiseError:
        raise
    except LIBRARY_ERRORS as e:
        raise SignalIOError(path, f"cannot write it as {fmt.name}: {one_line(e, path)}") from None


def widened(rec: Recording, rows: list[np.ndarray]) -> Recording:
    """rec holding rows (C, N_c) instead of its data, its stored scaling widened where they leave
    it: an EDF/BDF channel's physical range becomes the union of its own and the rows', a WFDB
    record whose rows leave its gains' range gets gains fitted anew. A denoiser, and a high-pass
    most of all, may move values past the input's range, which the old scaling would clip (a
    high-passed channel with an offset became a constant)."""
    meta = dict(rec.meta)
    heads = meta.get("signal_headers")
    if isinstance(heads, list) and len(heads) == len(rows):
        meta["signal_headers"] = [
            dict(h, physical_min=min(float(h["physical_min"]), float(r.min())),
                 physical_max=max(float(h["physical_max"]), float(r.max()))) if r.size else h
            for h, r in zip(heads, rows)]  # fmt: skip
    gains, bases = meta.get("adc_gain"), meta.get("baseline")
    if isinstance(gains, list) and isinstance(bases, list) and len(gains) == len(rows):
        old = [np.asarray(r) for r in rec.rows()]
        if any(r.size and (r.min() < o.min() or r.max() > o.max()) for r, o in zip(rows, old)):
            meta.pop("adc_gain"), meta.pop("baseline")
    data = np.stack(rows) if isinstance(rec.data, np.ndarray) else list(rows)
    return Recording(data, rec.fs, list(rec.channels), rec.dtype, meta)
