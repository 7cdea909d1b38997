"""A .npy file of long signals, read and written in blocks: memory stays bounded whatever its size.

`denoise` takes this path for a 1-D array (one signal) or a 2-D one in the rows layout whose
signals are longer than longsig.LONG samples: it reads each block's samples by seeking (not a
memory map, whose pages would count against the process as they are touched), denoises the block
(Plan.run_long, the same calls as in memory) and writes the output block by block into a
temporary file renamed into place at the end. The output has the input's shape; a float32 input
stays float32, any other dtype is written as float64.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sigdenoise.atomic import replacing
from sigdenoise.errors import SignalIOError
from sigdenoise.recordings import longsig
from sigdenoise.recordings.read import check_finite


@dataclass(frozen=True)
class NpyLayout:
    """Where a .npy file's samples are: shape, dtype, Fortran order and the data's byte offset."""

    shape: tuple[int, ...]
    dtype: np.dtype
    fortran: bool
    offset: int

    @property
    def rows(self) -> int:
        return 1 if len(self.shape) == 1 else self.shape[0]

    @property
    def length(self) -> int:
        return self.shape[-1]


def layout(path: Path) -> NpyLayout | None:
    """The layout of a readable numeric .npy of 1 or 2 dimensions; None for anything else (the
    in-memory reader then says what is wrong)."""
    try:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = read(f)
            offset = f.tell()
    except (OSError, ValueError):
        return None
    if dtype.kind not in "iuf" or len(shape) not in (1, 2) or 0 in shape or dtype.hasobject:
        return None
    return NpyLayout(tuple(shape), dtype, bool(fortran), offset)


def is_long(path: Path, layout_name: str, id_cols) -> bool:
    """Whether `denoise` streams this input: a .npy of rows longer than longsig.LONG samples."""
    lay = layout(path) if str(path).lower().endswith(".npy") else None
    return lay is not None and layout_name in ("rows", "auto") and not id_cols and lay.length > longsig.LONG


def reader(f, lay: NpyLayout, path: Path) -> Callable[[int, int], np.ndarray]:
    """read(a, b): samples a … b−1 of every row, (k, b − a) float64; non-finite values raise."""
    k, n, size = lay.rows, lay.length, lay.dtype.itemsize

    def read(a: int, b: int) -> np.ndarray:
        if lay.fortran:  # column-major: samples a … b−1 of all rows are one run of bytes
            f.seek(lay.offset + a * k * size)
            block = np.frombuffer(f.read((b - a) * k * size), dtype=lay.dtype).reshape(b - a, k).T
        else:
            block = np.empty((k, b - a), dtype=lay.dtype)
            for r in range(k):
                f.seek(lay.offset + (r * n + a) * size)
                block[r] = np.frombuffer(f.read((b - a) * size), dtype=lay.dtype)
        block = block.astype(np.float64)
        check_finite(path, block, range(1, k + 1), range(a, b), "row")  # as the in-memory .npy reader says it
        return block

    return read


def denoise_npy(inp: Path, out: Path, run_long, on_read: Callable[[int], None] | None = None) -> list[int]:
    """Denoise every row of the .npy `inp` block by block into `out` (atomically): run_long is
    Plan.run_long. Returns each row's length."""
    lay = layout(inp)
    k, n = lay.rows, lay.length
    dtype = np.dtype(np.float32) if lay.dtype == np.float32 else np.dtype(np.float64)
    with open(inp, "rb") as f, replacing(out, make_parents=False) as tmp, open(tmp, "wb") as g:
        np.lib.format.write_array_header_1_0(g, {"descr": np.lib.format.dtype_to_descr(dtype),
                                                 "fortran_order": False, "shape": lay.shape})  # fmt: skip
        start = g.tell()
        read = reader(f, lay, inp)

        def emit(a: int, y: np.ndarray) -> None:
            bad = ~np.isfinite(y)
            if bad.any():
                r, j = np.argwhere(bad)[0]
                raise SignalIOError(inp, f"denoising gave {y[r, j]} at sample {a + j + 1}; nothing was written",
                                    int(r) + 1, what="row")  # fmt: skip
            z = y.astype(dtype)
            for r in range(k):
                g.seek(start + (r * n + a) * dtype.itemsize)
                g.write(z[r].tobytes())
            if on_read is not None:
                on_read(int(lay.offset + (a + y.shape[1]) * k * lay.dtype.itemsize))

        run_long(n, read, emit)
    return [n] * k
