"""EDF/EDF+ (16-bit) and BDF/BDF+ (24-bit) through pyedflib: the 'edf' extra.

A channel stores digital integers d in [dmin, dmax] and reads as physical values
p = pmin + (d - dmin) * (pmax - pmin) / (dmax - dmin). The writer does that conversion itself:
rounded to the nearest d and clipped into [dmin, dmax] (pyedflib would leave it to edflib, whose
conversion we cannot see), so a value inside [pmin, pmax] comes back within half a step,
(pmax - pmin) / (dmax - dmin) / 2, and a value outside saturates at the range. A recording read from
a file keeps that file's physical and digital ranges; a new one gets its data's range rounded
outwards to the 8 characters the header has.

Two details of the file keep a round trip exact:
- the header's 8-character numbers are written by us (edflib truncates its own rendering:
  123.21238 becomes 123.2123, 53847.6 becomes 53847.59), so the range the reader sees is the one the
  samples were quantised with;
- the data-record duration is chosen so that every channel's length is a whole number of records
  (the file can only hold whole records: with pyedflib's fixed 1 s, 503 samples at 250 Hz would
  read back as 750, the rest zeros). Only channels of unequal durations are left to that padding.

EDF gives int16 as `dtype`, BDF int32 (24 bits). Channels at several rates give list data and fs.
meta: file_type (pyedflib's 0-3: EDF, EDF+, BDF, BDF+), header (patient, recording, startdate …),
signal_headers (per channel: dimension, physical_min/max, digital_min/max, prefilter, transducer),
annotations (EDF+/BDF+: [onset s, duration s, text] each).
"""

from __future__ import annotations

import math
import warnings
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from pathlib import Path

import numpy as np

from sigdenoise.atomic import replacing
from sigdenoise.errors import SignalIOError
from sigdenoise.recordings.formats.recording import Recording, check_rate, pack, quantise, require_finite

DIGITAL = {"edf": (-32768, 32767), "bdf": (-(2 ** 23), 2 ** 23 - 1)}
MAX_RECORD_BYTES = 10_000_000  # edflib refuses data records above 10 MB (EDF) / 15 MB (BDF)
SIGNAL_KEYS = ("dimension", "physical_min", "physical_max", "digital_min", "digital_max", "prefilter", "transducer")


def read(path: Path) -> Recording:
    import pyedflib

    with pyedflib.EdfReader(str(path)) as f:
        n = f.signals_in_file
        headers = f.getSignalHeaders()
        rows = [f.readSignal(i, digital=False) for i in range(n)]
        # spr * 1e7 / duration in 100 ns (edflib's unit), whole numbers divided once: 503 samples per
        # 2.012 s give 250.0, where pyedflib's float division gives 249.99999999999997
        units = round(f.datarecord_duration * 10 ** 7)
        rates = [f.samples_in_datarecord(i) * 10 ** 7 / units if units else float(f.getSampleFrequency(i))
                 for i in range(n)]
        header = f.getHeader()
        header.pop("gender", None)  # a deprecated copy of "sex"
        onsets, durations, texts = f.readAnnotations()
        file_type = int(f.filetype)
    data, fs = pack(rows, rates)
    meta = {"file_type": file_type, "header": header,
            "signal_headers": [{k: h[k] for k in SIGNAL_KEYS} for h in headers],
            "annotations": [[float(o), float(d), str(t)] for o, d, t in zip(onsets, durations, texts)]}
    dtype = np.dtype("int32" if file_type in (pyedflib.FILETYPE_BDF, pyedflib.FILETYPE_BDFPLUS) else "int16")
    return Recording(data, fs, [h["label"] for h in headers], dtype, meta)


def header_number(x: float, up: bool, path) -> str:
    """x as the header's 8-character text: itself when a short decimal says it (as read from a
    file: edflib parses "2.75804" as 2.7580400000000003, hence the tolerance of a few units in the last
    place), else rounded outwards (up for a maximum, down for a minimum) so the range still covers x."""
    for places in range(0, 8):
        text = f"{x:.{places}f}"
        if len(text) <= 8 and abs(float(text) - x) <= 1e-14 * abs(x):
            return text
    digits = len(str(int(abs(x)))) + (x < 0)
    if digits > 8:
        raise SignalIOError(path, f"physical value {x:g} needs more than the 8 characters EDF has; rescale the units")
    places = max(0, 7 - digits)
    text = str(Decimal(repr(x)).quantize(Decimal(1).scaleb(-places), ROUND_CEILING if up else ROUND_FLOOR))
    return text if len(text) <= 8 else header_number(float(Decimal(text).to_integral_value(
        ROUND_CEILING if up else ROUND_FLOOR)), up, path)


def record_layout(lengths: list[int], rates: list[float], bytes_per_sample: int) -> float | None:
    """A data-record duration in seconds such that each channel's length is a whole number of
    records, the duration is whole 10 µs (edflib's unit) within edflib's 1 ms … 60 s, and a record
    fits MAX_RECORD_BYTES; the one nearest 1 s. None when the channels last unequal times."""
    seconds = [n / r for n, r in zip(lengths, rates)]
    if min(lengths) == 0 or max(seconds) - min(seconds) > 1e-9 * max(seconds):
        return None
    common = math.gcd(*lengths)
    best = None
    for records in (d for k in range(1, math.isqrt(common) + 1) if common % k == 0 for d in {k, common // k}):
        dur = seconds[0] / records
        units = dur * 1e5
        size = sum(lengths) // records * bytes_per_sample
        if 1e-3 <= dur <= 60 and abs(units - round(units)) < 1e-6 * max(1.0, units) and size <= MAX_RECORD_BYTES:
            if best is None or abs(math.log(dur)) < abs(math.log(best)):
                best = round(units) / 1e5
    return best


def _patch_ranges(tmp: Path, lows: list[str], highs: list[str]) -> None:
    """Write our own physical-range texts over edflib's (see the module's docstring). The header
    holds per signal, after 256 bytes, label 16, transducer 80, dimension 8, then physical minimum 8
    and maximum 8, each field for all ns signals in a row (ns counts the annotation signal too)."""
    with open(tmp, "r+b") as f:
        f.seek(252)
        ns = int(f.read(4).decode("ascii"))
        for offset, texts in ((256 + 104 * ns, lows), (256 + 112 * ns, highs)):
            for i, text in enumerate(texts):
                f.seek(offset + 8 * i)
                f.write(text.ljust(8).encode("ascii"))


def _signal_headers(rec: Recording, rows: list[np.ndarray], kind: str, path: Path) -> list[dict]:
    """Per channel: the recording's own header (when its file was of this kind and had as many
    channels) or a new one from the data's range, with the range texts under _low/_high."""
    own = rec.meta.get("signal_headers") or []
    same_kind = rec.meta.get("file_type") is not None and (rec.meta["file_type"] >= 2) == (kind == "bdf")
    own = own if len(own) == len(rows) and same_kind else [None] * len(rows)
    out = []
    for name, row, h in zip(rec.channels, rows, own):
        if len(name) > 16 or not name.isascii():
            raise SignalIOError(path, f"channel name {name!r}: EDF labels are at most 16 ASCII characters")
        require_finite(path, row, name, kind.upper())
        if h is None:
            lo, hi = (float(row.min()), float(row.max())) if row.size else (-1.0, 1.0)
            lo, hi = (lo - 1, hi + 1) if lo == hi else (lo, hi)  # a flat channel still needs a range
            dmin, dmax = DIGITAL[kind]
            h = {"dimension": "", "physical_min": lo, "physical_max": hi, "digital_min": dmin,
                 "digital_max": dmax, "prefilter": "", "transducer": ""}
        h = dict(h, label=name, _low=header_number(float(h["physical_min"]), False, path),
                 _high=header_number(float(h["physical_max"]), True, path))
        if float(h["_low"]) == float(h["_high"]):
            raise SignalIOError(path, f"channel {name!r}: physical minimum and maximum are both {h['_low']}")
        out.append(h)
    return out


def _digital(row: np.ndarray, h: dict) -> np.ndarray:
    """Physical (N,) -> digital (N,) int32, by the inverse of the reader's line, rounded, clipped."""
    lo, hi, dmin, dmax = float(h["_low"]), float(h["_high"]), int(h["digital_min"]), int(h["digital_max"])
    return quantise((row - lo) * ((dmax - dmin) / (hi - lo)) + dmin, dmin, dmax, np.int32)


def write(path: Path, rec: Recording) -> None:
    import pyedflib

    kind = "bdf" if path.suffix.lower() == ".bdf" else "edf"
    plus = {"edf": pyedflib.FILETYPE_EDFPLUS, "bdf": pyedflib.FILETYPE_BDFPLUS}[kind]
    file_type = rec.meta.get("file_type", plus)
    if (file_type >= 2) != (kind == "bdf"):
        file_type = plus  # written under the other suffix: that kind's EDF+/BDF+
    rows = rec.rows()
    rates = [check_rate(r, path, kind.upper()) for r in rec.rates()]
    headers = _signal_headers(rec, rows, kind, path)
    digital = [_digital(row, h) for row, h in zip(rows, headers)]
    duration = record_layout([len(r) for r in rows], rates, 2 if kind == "edf" else 3)
    annotations = (rec.meta.get("annotations") or []) if file_type in (1, 3) else []
    header = dict(rec.meta.get("header") or {})

    with replacing(path) as tmp, warnings.catch_warnings():
        # pyedflib warns about what we decide on purpose (the record duration, long range texts
        # that _patch_ranges replaces); the library prints nothing of its own
        warnings.simplefilter("ignore")
        with pyedflib.EdfWriter(str(tmp), len(rows), file_type=file_type) as w:
            w.setSignalHeaders([{"label": h["label"], "dimension": h["dimension"], "sample_frequency": fs,
                                 "physical_min": float(h["_low"]), "physical_max": float(h["_high"]),
                                 "digital_min": int(h["digital_min"]), "digital_max": int(h["digital_max"]),
                                 "prefilter": h["prefilter"], "transducer": h["transducer"]}
                                for h, fs in zip(headers, rates)])
            if header:
                w.setHeader({"technician": "", "recording_additional": "", "patientname": "",
                             "patient_additional": "", "patientcode": "", "equipment": "", "admincode": "",
                             "sex": "", "birthdate": "", "startdate": w.recording_start_time, **header})
            if duration is not None:
                w.setDatarecordDuration(duration)
            w.writeSamples(digital, digital=True)
            for onset, length, text in annotations:
                w.writeAnnotation(onset, length, text)
        _patch_ranges(tmp, [h["_low"] for h in headers], [h["_high"] for h in headers])
