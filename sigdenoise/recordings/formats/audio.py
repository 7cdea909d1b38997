"""WAV, FLAC and OGG through soundfile (libsndfile): the 'audio' extra.

Samples are read as soundfile gives them, float64 at full scale: an integer PCM value v of b bits
reads as v / 2^(b-1), so int16 -32768 … 32767 is -1 … 0.99997. Writing inverts that ourselves:
rounded, clipped into the b-bit range and handed to libsndfile as integers, because libsndfile's own
float-to-integer path scales by 2^(b-1) - 1 (not the 2^(b-1) it reads with) and, with clipping off
by default, wraps out-of-range values. A PCM round trip is thus exact for values read from a file
and within half a step, 2^-b, for any other value in range. Float subtypes (FLOAT, DOUBLE) store
the values as they are, past ±1 included; lossy and companded subtypes (VORBIS, OPUS, ULAW, ALAW,
ADPCM) are handed floats clipped to ±1, the only range they encode.

Audio files do not name channels: the names ride in the file's comment, as a last line
`sigdenoise channels=["sine", "chirp"]`, so that they survive a round trip; a file without that line
gets ch1 … chN. Any comment of the file's own is kept, above it.

meta: format ("WAV"), subtype ("PCM_16"), strings (the file's title/artist/comment/… texts).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from sigdenoise.atomic import replacing
from sigdenoise.errors import SignalIOError
from sigdenoise.recordings.formats.recording import Recording, default_names, one_rate, quantise, require_finite

NAMES_TAG = "sigdenoise channels="

# PCM subtypes: bits per sample and the numpy dtype that holds them (no int24: 24 bits in int32).
PCM = {"PCM_S8": (8, "int8"), "PCM_U8": (8, "uint8"), "PCM_16": (16, "int16"),
       "PCM_24": (24, "int32"), "PCM_32": (32, "int32")}
FLOATS = {"FLOAT": "float32", "DOUBLE": "float64"}
BY_SUFFIX = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG"}
# A dtype's subtype when the recording has none of its own (written from another format, or new).
FOR_DTYPE = {"int8": "PCM_S8", "uint8": "PCM_U8", "int16": "PCM_16", "int32": "PCM_32",
             "float32": "FLOAT", "float64": "DOUBLE"}


def stored_dtype(subtype: str) -> np.dtype:
    """The dtype a subtype stores: PCM's integers, FLOAT/DOUBLE, else float32 (decoded lossy or
    companded samples are floats)."""
    if subtype in PCM:
        return np.dtype(PCM[subtype][1])
    return np.dtype(FLOATS.get(subtype, "float32"))


def _split_names(comment: str | None, n: int) -> tuple[list[str] | None, str | None]:
    """(names, the rest of the comment) from a comment whose last line carries NAMES_TAG."""
    if not comment:
        return None, comment
    head, _, last = comment.rpartition("\n")
    if not last.startswith(NAMES_TAG):
        return None, comment
    try:
        names = json.loads(last[len(NAMES_TAG):])
    except ValueError:
        return None, comment
    if not (isinstance(names, list) and len(names) == n and all(isinstance(s, str) for s in names)):
        return None, comment
    return names, head or None


def read(path: Path) -> Recording:
    import soundfile as sf

    with sf.SoundFile(str(path)) as f:
        data = f.read(dtype="float64", always_2d=True).T.copy()  # (N, C) -> (C, N)
        strings = f.copy_metadata()
        fmt, subtype, fs = f.format, f.subtype, float(f.samplerate)
    names, comment = _split_names(strings.pop("comment", None), data.shape[0])
    if comment:
        strings["comment"] = comment
    meta = {"format": fmt, "subtype": subtype, "strings": strings}
    return Recording(data, fs, names or default_names(data.shape[0]), stored_dtype(subtype), meta)


def _subtype(sf, fmt: str, rec: Recording) -> str:
    """The recording's own subtype when this format takes it, else its dtype's, else the format's
    default (FLAC has no float subtypes: a float32 recording goes to FLAC as PCM_16)."""
    dtypes = {d.name for d in rec.dtypes()}
    candidates = [rec.meta.get("subtype"), FOR_DTYPE.get(dtypes.pop()) if len(dtypes) == 1 else None]
    for subtype in candidates:
        if subtype and sf.check_format(fmt, subtype):
            return subtype
    return sf.default_subtype(fmt)


def _encode(x: np.ndarray, subtype: str) -> np.ndarray:
    """(N, C) float64 at full scale -> what soundfile writes unchanged: PCM as int16/int32 whose
    top bits hold the b-bit value (libsndfile keeps the top bits), floats as themselves."""
    if subtype in PCM:
        bits = PCM[subtype][0]
        v = quantise(x * 2.0 ** (bits - 1), -(2 ** (bits - 1)), 2 ** (bits - 1) - 1, np.int64)
        width = 16 if bits <= 16 else 32
        return (v << (width - bits)).astype(np.int16 if width == 16 else np.int32)
    if subtype in FLOATS:
        return x.astype(FLOATS[subtype])
    return np.clip(x, -1.0, 1.0)


def write(path: Path, rec: Recording) -> None:
    import soundfile as sf

    fmt = BY_SUFFIX[path.suffix.lower()]
    fs = one_rate(rec, path, fmt)
    if fs != round(fs):
        raise SignalIOError(path, f"{fmt} stores a whole number of Hz; the rate is {fs}")
    rows = rec.rows()
    if len({len(r) for r in rows}) != 1:
        raise SignalIOError(path, f"{fmt} stores channels of one length; they have {sorted({len(r) for r in rows})}")
    subtype = _subtype(sf, fmt, rec)
    for name, row in zip(rec.channels, rows):
        require_finite(path, row, name, f"{fmt} {subtype}")
    frames = _encode(np.stack(rows, axis=1), subtype)  # (N, C)

    strings = dict(rec.meta.get("strings") or {}) if rec.meta.get("format") in (None, fmt) else {}
    if rec.channels != default_names(len(rows)):
        tag = NAMES_TAG + json.dumps(rec.channels, ensure_ascii=True)
        strings["comment"] = f"{strings['comment']}\n{tag}" if strings.get("comment") else tag
    with replacing(path) as tmp:
        # format= given: the temporary file's name (.x.wav.abc.tmp) says nothing to soundfile
        with sf.SoundFile(str(tmp), "w", samplerate=int(fs), channels=len(rows), subtype=subtype, format=fmt) as f:
            for key, text in strings.items():
                setattr(f, key, text)  # before the samples: FLAC and OGG write their tags first
            f.write(frames)
