"""The in-memory recording every format reads into and writes from, and the helpers they share.

A `Recording` holds the samples as float64 (what the denoisers take) together with what the file
stored them as (`dtype`) and whatever else its writer needs to give the file back (`meta`). The
helpers here are the few rules every format applies the same way: default channel names, one rate
per channel, and integer storage that saturates (rounds, then clips) instead of wrapping.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sigdenoise.errors import SigdenoiseError, SignalIOError

# What the format libraries raise on a file they cannot read or write: read_recording and
# write_recording turn these into one-line SignalIOErrors. Anything else stays a bug, traceback kept.
LIBRARY_ERRORS = (OSError, ValueError, RuntimeError, LookupError, TypeError, EOFError, ArithmeticError, struct.error)

# Columns or datasets that hold sample times, not a channel (Parquet, HDF5), compared lower-cased.
TIME_NAMES = frozenset({"time", "times", "t", "timestamp", "timestamps", "seconds", "time_s"})

# Keys, in order of preference, under which Parquet metadata and HDF5 attributes give the rate.
FS_KEYS = ("fs", "sampling_rate")


class MissingExtraError(SigdenoiseError):
    """A format whose library is not installed; the message names the file and the pip command."""


@dataclass
class Recording:
    """Multi-channel samples and what is needed to write them back as they came.

    data: (C, N) float64 when every channel has N samples; a list of C 1-D float64 arrays when
        lengths (and rates) differ, as in an EDF or WFDB record with channels at several rates.
    fs: the sampling rate in Hz, one float for all channels; a list of C floats when channels
        differ (then data is a list too); None when the file records no rate.
    channels: C names, unique.
    dtype: what the file stores samples as (int16 for PCM_16 WAV or EDF, int32 for 24-bit PCM and
        BDF, float32 for a float32 column); a list of C dtypes when channels differ (Parquet
        columns, WFDB signals in several formats).
    meta: the format's own settings for writing the file back (see each format's module); a writer
        uses the keys it knows and falls back to defaults for the rest, so `meta={}` writes a new file.
    """

    data: np.ndarray | list[np.ndarray]
    fs: float | list[float] | None
    channels: list[str]
    dtype: np.dtype | list[np.dtype]
    meta: dict[str, Any] = field(default_factory=dict)

    def rows(self) -> list[np.ndarray]:
        """The C channels as 1-D float64 arrays, (N_c,) each."""
        return [np.asarray(r, dtype=np.float64) for r in self.data]

    def rates(self) -> list[float | None]:
        """The rate of each of the C channels (None when unknown)."""
        if isinstance(self.fs, (list, tuple)):
            return [None if f is None else float(f) for f in self.fs]
        return [None if self.fs is None else float(self.fs)] * len(self.channels)

    def dtypes(self) -> list[np.dtype]:
        """The stored dtype of each of the C channels."""
        if isinstance(self.dtype, (list, tuple)):
            return [np.dtype(d) for d in self.dtype]
        return [np.dtype(self.dtype)] * len(self.channels)


def default_names(n: int) -> list[str]:
    """Names for channels a file does not name: ch1 … chN."""
    return [f"ch{i + 1}" for i in range(n)]


def pack(rows: list[np.ndarray], rates: list[float | None]) -> tuple[np.ndarray | list[np.ndarray], Any]:
    """Per-channel rows and rates -> (data, fs) as Recording holds them: (C, N) and one rate when all
    channels agree, else the list of rows and the list of rates."""
    rows = [np.asarray(r, dtype=np.float64) for r in rows]
    same_len = len({len(r) for r in rows}) <= 1
    same_rate = len(set(rates)) <= 1
    if same_len and same_rate:
        data = np.stack(rows) if rows else np.empty((0, 0))
        return data, (rates[0] if rates else None)
    return rows, list(rates)


def one_line(err: BaseException, path=None) -> str:
    """A library's exception as one short line: its words, whitespace collapsed, without the
    "path: " our own message already begins with (pyedflib's do), its type when it has no words."""
    text = " ".join(str(err).split())
    if path is not None:
        text = text.replace(f"{path}: ", "")
    text = text or type(err).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def check_rate(fs, path, what: str) -> float:
    """fs as a positive finite float, or SignalIOError(path) saying that `what` needs one."""
    if fs is None:
        raise SignalIOError(path, f"{what} needs a sampling rate; the recording has none (give fs)")
    if isinstance(fs, bool) or not isinstance(fs, (int, float, np.number)) or not math.isfinite(fs) or fs <= 0:
        raise SignalIOError(path, f"sampling rate {fs!r} is not a positive number of Hz")
    return float(fs)


def one_rate(rec: Recording, path, what: str) -> float:
    """The one rate a format that stores a single rate needs, or SignalIOError if channels differ."""
    rates = set(rec.rates())
    if len(rates) > 1:
        raise SignalIOError(path, f"{what} stores one sampling rate; the channels have {sorted(rates, key=str)}")
    return check_rate(rates.pop() if rates else None, path, what)


def require_finite(path, row: np.ndarray, name: str, what: str) -> None:
    """SignalIOError unless row has no NaN: integer storage (PCM, EDF) has no value for one."""
    if np.isnan(row).any():
        raise SignalIOError(path, f"channel {name!r} has NaN samples, which {what} cannot store")


def quantise(x: np.ndarray, lo: int, hi: int, dtype) -> np.ndarray:
    """x (N,) float -> (N,) integers of `dtype`: rounded to nearest (half to even), then clipped to
    [lo, hi] so that out-of-range values saturate at the limits instead of wrapping around.
    NaN must have been dealt with before (require_finite, or a format's own invalid-sample code)."""
    return np.clip(np.rint(x), lo, hi).astype(dtype)


def int_limits(dtype) -> tuple[int, int]:
    """The range of an integer dtype."""
    info = np.iinfo(dtype)
    return int(info.min), int(info.max)


def to_dtype(x: np.ndarray, dtype, path, name: str, what: str) -> np.ndarray:
    """x (N,) float64 -> (N,) in `dtype`: integers saturate (quantise), floats are cast as they are.
    A NaN cannot become an integer: SignalIOError naming the channel."""
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        require_finite(path, x, name, what)
        return quantise(x, *int_limits(dtype), dtype)
    if dtype.kind == "f":
        return x.astype(dtype)
    raise SignalIOError(path, f"channel {name!r}: {what} cannot store samples as {dtype}")


def parse_rate(value, path, where: str) -> float | None:
    """A rate read from metadata (a number, or text/bytes holding one) -> float; SignalIOError when
    it is there but is not a positive number (a wrong rate is worse than none)."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.item()
    try:
        fs = float(value)
    except (TypeError, ValueError):
        fs = math.nan
    if not math.isfinite(fs) or fs <= 0:
        raise SignalIOError(path, f"{where} = {value!r} is not a positive sampling rate in Hz")
    return fs
