"""WFDB records (PhysioNet) through the wfdb package: the 'wfdb' extra.

A record is a header `name.hea` and one or more signal files (`name.dat`, or `name_1.dat` …
when signals differ in format); the path given is the header's, and the record's name is that path
without its suffix. A signal stores digital integers d and reads as p = (d - baseline) / adc_gain.
The writer quantises itself, d = round(p * adc_gain + baseline) clipped into the format's range,
so a round trip is within half a step, 0.5 / adc_gain. The range's lowest value is WFDB's code for
a missing sample: NaN is written as that code (and reads back as NaN), numbers clip one above it.
A recording read from a record keeps its formats, gains, baselines and units; a new one gets format
16 (32 for int32/float data) and a gain that spans its data's range.

Signals sampled at several rates (WFDB's samples per frame) give list data and a list of rates.

Writing is atomic per file: the record is written whole into a temporary folder beside the target,
then its files are renamed over the old ones, signal files first and the header last (a reader
sees the new header only once its signal files are in place). On any error nothing is renamed.

meta: fmt, adc_gain, baseline, units (per channel), comments, base_time, base_date, frame_fs (the
record's frame rate) and samps_per_frame.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import tempfile
from contextlib import ExitStack
from pathlib import Path

import numpy as np

from sigdenoise.atomic import replacing
from sigdenoise.errors import SignalIOError
from sigdenoise.recordings.formats.recording import Recording, check_rate, pack, quantise

# Bits of each signal-file format; the lowest value of a format is its missing-sample code,
# except in format 8 (first differences, whose samples may take any 32-bit value).
BITS = {"8": 32, "16": 16, "24": 24, "32": 32, "61": 16, "80": 8, "160": 16, "212": 12, "310": 10,
        "311": 10, "508": 8, "516": 16, "524": 24}


def fmt_dtype(fmt: str) -> np.dtype:
    """The dtype that holds a format's samples: int8, int16 (10-, 12- and 16-bit) or int32."""
    bits = 8 if fmt == "8" else BITS[fmt]
    return np.dtype("int8" if bits <= 8 else "int16" if bits <= 16 else "int32")


def read(path: Path) -> Recording:
    import wfdb

    r = wfdb.rdrecord(str(path.with_suffix("")), smooth_frames=False)
    spf = [int(s) for s in r.samps_per_frame]
    rows = [np.asarray(x, dtype=np.float64) for x in r.e_p_signal]
    data, fs = pack(rows, [float(r.fs) * s for s in spf])
    dtypes = [fmt_dtype(f) for f in r.fmt]
    meta = {"fmt": list(r.fmt), "adc_gain": [float(g) for g in r.adc_gain], "baseline": [int(b) for b in r.baseline],
            "units": list(r.units), "comments": list(r.comments or []), "base_time": r.base_time,
            "base_date": r.base_date, "frame_fs": float(r.fs), "samps_per_frame": spf}
    return Recording(data, fs, list(r.sig_name), dtypes[0] if len(set(dtypes)) == 1 else dtypes, meta)


def _frames(rec: Recording, rows: list[np.ndarray], path: Path) -> tuple[float, list[int]]:
    """(frame rate, samples per frame of each channel): every channel's rate a whole multiple of
    the frame rate, and every channel as many frames long."""
    rates = [check_rate(r, path, "WFDB") for r in rec.rates()]
    base = rec.meta.get("frame_fs") or min(rates)
    if any(abs(r / base - round(r / base)) > 1e-9 * r / base or round(r / base) < 1 for r in rates):
        base = min(rates)
    spf = [round(r / base) for r in rates]
    if any(abs(r - s * base) > 1e-9 * r for r, s in zip(rates, spf)):
        raise SignalIOError(path, f"WFDB needs every rate a whole multiple of the lowest; the rates are {rates}")
    if len({len(x) / s for x, s in zip(rows, spf)}) > 1:
        raise SignalIOError(path, "WFDB needs every channel to last as many frames; the lengths do not agree "
                            f"with the rates ({[len(x) for x in rows]} samples at {rates} Hz)")
    return base, spf


def _new_gain(row: np.ndarray, lo: int, hi: int) -> tuple[float, int]:
    """(adc_gain, baseline) spanning row's range over the valid codes lo+1 … hi: the offset that
    uses every code, or a zero baseline when that offset would not fit the header's 32 bits."""
    finite = row[np.isfinite(row)]
    pmin, pmax = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    if pmin < pmax:
        gain = (hi - lo - 2) / (pmax - pmin)  # one code of margin for the rounding of the baseline
        baseline = math.ceil(lo + 1 - pmin * gain)
        if -(2 ** 31) <= baseline < 2 ** 31:
            return gain, baseline
    peak = max(abs(pmin), abs(pmax))
    return ((hi - 1) / peak if peak else 1.0), 0


def _digital(row: np.ndarray, gain: float, baseline: int, fmt: str) -> np.ndarray:
    """Physical (N,) -> digital (N,) int64: rounded, clipped above the missing-sample code, NaN as it."""
    bits = BITS[fmt]
    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    d = quantise(np.nan_to_num(row * gain + baseline, nan=lo), lo + (fmt != "8"), hi, np.int64)
    d[np.isnan(row)] = lo
    return d


def write(path: Path, rec: Recording) -> None:
    import wfdb

    record = path.with_suffix("").name
    if not re.fullmatch(r"[-\w]+", record):
        raise SignalIOError(path, f"WFDB record name {record!r} may hold only letters, digits, '-' and '_'")
    rows = rec.rows()
    n = len(rows)
    base, spf = _frames(rec, rows, path)
    m = rec.meta
    own = all(isinstance(m.get(k), list) and len(m[k]) == n for k in ("fmt", "adc_gain", "baseline"))
    fmts = list(m["fmt"]) if own else ["16" if d.kind in "iu" and d.itemsize <= 2 else "32" for d in rec.dtypes()]
    if any(f not in BITS for f in fmts):
        raise SignalIOError(path, f"unknown WFDB signal formats {fmts}")
    if own:
        gains, baselines = list(m["adc_gain"]), list(m["baseline"])
    else:
        gains, baselines = zip(*[_new_gain(x, -(2 ** (BITS[f] - 1)), 2 ** (BITS[f] - 1) - 1)
                                 for x, f in zip(rows, fmts)])
    digital = [_digital(x, g, b, f) for x, g, b, f in zip(rows, gains, baselines, fmts)]
    units = list(m["units"]) if isinstance(m.get("units"), list) and len(m["units"]) == n else ["NU"] * n
    kw = dict(fs=base, units=units, sig_name=list(rec.channels), fmt=fmts, adc_gain=[float(g) for g in gains],
              baseline=[int(b) for b in baselines], comments=m.get("comments") or None,
              base_time=m.get("base_time"), base_date=m.get("base_date"))
    if all(s == 1 for s in spf):
        kw["d_signal"] = np.stack(digital, axis=1) if n else None  # (N, C)
    else:
        kw.update(e_d_signal=digital, samps_per_frame=spf)

    with ExitStack() as stack:
        header_tmp = stack.enter_context(replacing(path))  # makes the folder; an OSError is an OutputError
        work = Path(tempfile.mkdtemp(prefix=f".{record}.", suffix=".tmp", dir=path.parent))
        stack.callback(shutil.rmtree, work, True)
        wfdb.wrsamp(record, write_dir=str(work), **kw)
        # Contexts exit last-in first-out: the signal files entered after the header are renamed
        # into place before it.
        for f in sorted(work.iterdir()):
            if f.suffix == ".hea":
                os.replace(f, header_tmp)
            else:
                os.replace(f, stack.enter_context(replacing(path.parent / f.name)))
