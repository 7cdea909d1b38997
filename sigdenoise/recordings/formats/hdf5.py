"""HDF5 files through h5py: the 'hdf5' extra. One numeric dataset holds the signals.

The signals are the file's one integer or floating-point dataset of 1 or 2 dimensions, wherever it
sits, time datasets (named time, t, timestamp … see TIME_NAMES) aside; none, or several, is an error
that lists what the file holds. A 2-D dataset is (channels, samples), or (samples, channels) when
its `channels` attribute (or `channel_names`, `labels`) names the second axis, or, without names,
when the second axis is the shorter: recordings have more samples than channels. The rate is an
`fs` (or `sampling_rate`) attribute of the dataset or of a group above it; else None.

The writer gives back the dataset: its path, shape and orientation, dtype (integers rounded and
clipped), compression and attributes, the names and the rate where they were. Other datasets and
groups' other attributes of the file read are not carried over.

meta: dataset (its path), attrs (its attributes), names_attr, fs_attr ((path of the object, key)),
transposed (stored as (samples, channels)), one_d, compression, compression_opts, shuffle,
fletcher32, chunked.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sigdenoise.atomic import replacing
from sigdenoise.errors import SignalIOError
from sigdenoise.recordings.formats.recording import (
    FS_KEYS,
    TIME_NAMES,
    Recording,
    default_names,
    one_rate,
    parse_rate,
    to_dtype,
)

NAMES_ATTRS = ("channels", "channel_names", "labels")


def _candidates(f, h5py) -> tuple[list[str], list[str]]:
    """(paths of the datasets that could hold the signals, paths of all datasets)."""
    found, every = [], []

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            every.append("/" + name)
            if obj.dtype.kind in "iuf" and obj.ndim in (1, 2) and name.rsplit("/", 1)[-1].lower() not in TIME_NAMES:
                found.append("/" + name)

    f.visititems(visit)
    return found, every


def _names(ds) -> tuple[list[str] | None, str | None]:
    """(channel names, the attribute that held them) from the dataset's attributes."""
    for key in NAMES_ATTRS:
        if key in ds.attrs:
            value = np.atleast_1d(ds.attrs[key])
            if value.ndim == 1 and value.dtype.kind in "OSU":
                return [v.decode() if isinstance(v, bytes) else str(v) for v in value], key
    return None, None


def _rate(ds, path) -> tuple[float | None, tuple[str, str] | None]:
    """(rate, (object path, key)) from the first `fs`/`sampling_rate` attribute of the dataset or a
    group above it, nearest first."""
    obj = ds
    while True:
        for key in FS_KEYS:
            if key in obj.attrs:
                return parse_rate(obj.attrs[key], path, f"attribute {key} of {obj.name}"), (obj.name, key)
        if obj.name == "/":
            return None, None
        obj = obj.parent


def read(path: Path) -> Recording:
    import h5py

    with h5py.File(str(path), "r") as f:
        found, every = _candidates(f, h5py)
        if len(found) != 1:
            listed = ", ".join(every) or "none"
            what = "no numeric 1-D or 2-D dataset" if not found else f"{len(found)} datasets that could be the signals"
            raise SignalIOError(path, f"{what} (datasets: {listed}); the file must hold exactly one")
        ds = f[found[0]]
        values = np.asarray(ds[()], dtype=np.float64)
        names, names_attr = _names(ds)
        transposed = False
        if values.ndim == 2:
            a, b = values.shape
            by_names = names is not None and len(names) in (a, b) and a != b
            transposed = (len(names) == b) if by_names else b < a
        data = values[None, :] if values.ndim == 1 else (values.T if transposed else values)
        fs, fs_attr = _rate(ds, path)
        meta = {"dataset": ds.name, "attrs": dict(ds.attrs), "names_attr": names_attr, "fs_attr": fs_attr,
                "transposed": transposed, "one_d": values.ndim == 1, "compression": ds.compression,
                "compression_opts": ds.compression_opts, "shuffle": ds.shuffle, "fletcher32": ds.fletcher32,
                "chunked": ds.chunks is not None}
        dtype = ds.dtype
    if names is None or len(names) != data.shape[0]:
        names = default_names(data.shape[0])
    return Recording(np.ascontiguousarray(data), fs, names, dtype, meta)


def write(path: Path, rec: Recording) -> None:
    import h5py

    rows = rec.rows()
    if len({len(r) for r in rows}) != 1:
        raise SignalIOError(path, "an HDF5 dataset holds channels of one length; they differ")
    fs = one_rate(rec, path, "HDF5") if any(r is not None for r in rec.rates()) else None
    m = rec.meta
    dtype = np.result_type(*rec.dtypes())
    data = np.stack([to_dtype(x, dtype, path, name, f"an HDF5 {dtype} dataset")
                     for x, name in zip(rows, rec.channels)])  # (C, N)
    if m.get("transposed"):
        data = data.T  # (N, C), as the file had it
    if m.get("one_d") and len(rows) == 1:
        data = data[0]
    fs_obj, fs_key = m.get("fs_attr") or (m.get("dataset") or "/signals", FS_KEYS[0])
    names_attr = m.get("names_attr") or ("channels" if rec.channels != default_names(len(rows)) else None)

    with replacing(path) as tmp:
        with h5py.File(str(tmp), "w") as f:
            chunks = True if m.get("chunked") or m.get("compression") else None
            ds = f.create_dataset(m.get("dataset") or "/signals", data=data, chunks=chunks,
                                  compression=m.get("compression"), compression_opts=m.get("compression_opts"),
                                  shuffle=bool(m.get("shuffle")), fletcher32=bool(m.get("fletcher32")))
            for key, value in (m.get("attrs") or {}).items():
                ds.attrs[key] = value
            if names_attr:
                ds.attrs[names_attr] = np.array(rec.channels, dtype=h5py.string_dtype())
            if fs is not None:
                target = ds if fs_obj == ds.name else f.require_group(fs_obj)  # the root or a group above
                target.attrs[fs_key] = fs
            elif fs_obj == ds.name and fs_key in ds.attrs:
                del ds.attrs[fs_key]  # the recording has no rate: do not write back the file's old one
