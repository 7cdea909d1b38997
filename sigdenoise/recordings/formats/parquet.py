"""Parquet tables through pyarrow: the 'parquet' extra. One numeric column is one channel.

Channels are the integer and floating-point columns, in the table's order, except a time column
(named time, t, timestamp … see TIME_NAMES) and pandas' index columns; every other column (times,
labels, dates) is kept as it is and written back in its place. A table with no channel column is an
error. The rate is the schema metadata's `fs` (or `sampling_rate`) key, as text; else None.

Columns keep their own types, so `dtype` is a list when they differ. Floats are written back exactly;
integers rounded and clipped to their type's range, and a NaN in an integer column becomes a null
(as a null in one reads as NaN).

meta: columns (the table's column names, in order), others (name -> pyarrow array of each
non-channel column), schema (the pyarrow schema: field types and metadata), fs_key (the metadata
key that held the rate), compression (the first column's codec, e.g. "snappy").
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from sigdenoise.atomic import replacing
from sigdenoise.errors import SignalIOError
from sigdenoise.recordings.formats.recording import (
    FS_KEYS,
    TIME_NAMES,
    Recording,
    int_limits,
    one_rate,
    pack,
    parse_rate,
    quantise,
)


def _index_columns(schema) -> set[str]:
    """The columns pandas stored its index in (named in the b'pandas' metadata)."""
    raw = (schema.metadata or {}).get(b"pandas")
    try:
        cols = json.loads(raw)["index_columns"] if raw else []
    except (ValueError, KeyError, TypeError):
        return set()
    return {c for c in cols if isinstance(c, str)}


def read(path: Path) -> Recording:
    import pyarrow.parquet as pq
    import pyarrow.types as pt

    pf = pq.ParquetFile(str(path))
    table = pf.read()
    schema = table.schema
    skip = _index_columns(schema)
    channels = [f.name for f in schema if (pt.is_integer(f.type) or pt.is_floating(f.type))
                and f.name.lower() not in TIME_NAMES and f.name not in skip]
    if not channels:
        kinds = ", ".join(f"{f.name} ({f.type})" for f in schema) or "none"
        raise SignalIOError(path, f"no numeric column to read as a channel (columns: {kinds})")
    rows = [table.column(c).to_numpy().astype(np.float64) for c in channels]  # nulls read as NaN
    dtypes = [np.dtype(schema.field(c).type.to_pandas_dtype()) for c in channels]
    fs, fs_key = None, None
    for key in FS_KEYS:
        value = (schema.metadata or {}).get(key.encode())
        if value is not None:
            fs, fs_key = parse_rate(value, path, f"metadata {key}"), key
            break
    compression = None
    if pf.metadata.num_row_groups and pf.metadata.num_columns:
        codec = pf.metadata.row_group(0).column(0).compression.lower()
        compression = {"uncompressed": "none", "lz4_raw": "lz4"}.get(codec, codec)  # as write_table names them
    meta = {"columns": list(schema.names), "schema": schema, "fs_key": fs_key, "compression": compression,
            "others": {c: table.column(c) for c in schema.names if c not in channels}}
    data, _ = pack(rows, [fs] * len(rows))
    return Recording(data, fs, channels, dtypes[0] if len(set(dtypes)) == 1 else dtypes, meta)


def _column(pa, x: np.ndarray, dtype: np.dtype, type_):
    """(N,) float64 -> a pyarrow array of `type_` (dtype's own type when None): integers rounded,
    clipped, NaN as null; floats exact."""
    if dtype.kind in "iu":
        nan = np.isnan(x)
        v = quantise(np.where(nan, 0.0, x), *int_limits(dtype), dtype)
        return pa.array(v, type=type_, mask=nan if nan.any() else None)
    return pa.array(x.astype(dtype), type=type_)


def write(path: Path, rec: Recording) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = rec.rows()
    lengths = {len(r) for r in rows}
    if len(lengths) != 1:
        raise SignalIOError(path, f"a Parquet table's columns have one length; the channels have {sorted(lengths)}")
    n = lengths.pop()
    fs = one_rate(rec, path, "Parquet") if any(r is not None for r in rec.rates()) else None
    m = rec.meta
    schema = m.get("schema")
    others = {k: v for k, v in (m.get("others") or {}).items() if k not in rec.channels}
    for name, col in others.items():
        if len(col) != n:
            raise SignalIOError(path, f"column {name!r} has {len(col)} rows but the channels have {n} samples")
    order = [c for c in m.get("columns") or [] if c in others or c in rec.channels]
    order += [c for c in list(others) + rec.channels if c not in order]

    arrays, fields = [], []
    dtypes = dict(zip(rec.channels, rec.dtypes()))
    for name in order:
        own = schema.field(name) if schema is not None and name in schema.names else None
        if name in dtypes:
            same = own is not None and np.dtype(own.type.to_pandas_dtype()) == dtypes[name]
            arr = _column(pa, rows[rec.channels.index(name)], dtypes[name], own.type if same else None)
            field = own.with_type(arr.type) if own is not None else pa.field(name, arr.type)
        else:
            arr = others[name]
            field = own if own is not None else pa.field(name, arr.type)
        arrays.append(arr)
        fields.append(field)

    metadata = dict((schema.metadata or {}) if schema is not None else {})
    key = (m.get("fs_key") or FS_KEYS[0]).encode()
    if fs is not None:
        metadata[key] = repr(fs).encode()
    else:
        metadata.pop(key, None)
    table = pa.Table.from_arrays(arrays, schema=pa.schema(fields, metadata=metadata or None))
    with replacing(path) as tmp:
        pq.write_table(table, str(tmp), compression=m.get("compression") or "snappy")
