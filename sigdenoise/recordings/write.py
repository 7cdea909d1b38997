"""Writing denoised signals back in the shape of their input, atomically.

The output keeps the input's layout, header, id cells, number of signals and their lengths; its
format follows the output's suffix (.npy, else CSV). Everything goes to a temporary file beside the
output, renamed over it only when the whole input has been written, so a failure at any point
leaves no partial file (and an existing output untouched).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from sigdenoise.atomic import replacing, unwritable_reason
from sigdenoise.errors import SettingsError, SignalIOError
from sigdenoise.recordings.read import Chunk, Source

NPY_HEADER = 128  # bytes reserved for a streamed .npy header, rewritten with the final shape


def _npy_header(shape: tuple[int, ...], descr: str = "<f8") -> bytes:
    d = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape)
    body = d.ljust(NPY_HEADER - 10 - 1) + "\n"
    return b"\x93NUMPY\x01\x00" + len(body).to_bytes(2, "little") + body.encode("latin1")


def same_file(a, b) -> bool:
    """Whether paths a and b name one file: the same existing file (samefile: through ./, symlinks
    and hard links), or, where one does not exist yet, the same resolved path."""
    a, b = Path(a), Path(b)
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
        return a.resolve() == b.resolve()
    except (OSError, RuntimeError):  # a symlink loop: not a file we read
        return False


def refuse_same(option: str, path: Path | None, others: dict[str, Path | None]) -> None:
    """SettingsError(option) if `path` names the same file as one of `others` ({"the input": path,
    "--model": path}): denoise never replaces a file it reads, nor writes two outputs into one."""
    for what, other in others.items():
        if path is not None and other is not None and same_file(path, other):
            raise SettingsError(option, f"{path} is the same file as {what} {other}; name another file")


class Writer:
    """`with Writer(out, source) as w: w.write(chunk, denoised)`; renamed into place on success."""

    def __init__(self, out, src: Source, digits: int = 9):
        self.out, self.src = Path(out), src
        self.npy = self.out.suffix.lower() == ".npy"
        self.fmt = f"%.{digits}g"
        self.rows = 0
        self.length: int | None = None  # .npy rows: the one signal length allowed
        self.f = None

    @staticmethod
    def check(out) -> None:
        """Raise SignalIOError if `out` cannot be an output file: callers check it before slow
        work (a fit), and __enter__ again."""
        why = unwritable_reason(out, "an output file", make_parents=False)
        if why is not None:
            raise SignalIOError(out, why)

    def __enter__(self) -> "Writer":
        self.check(self.out)
        self._replacing = replacing(self.out, make_parents=False)
        tmp = self._replacing.__enter__()
        try:
            self.f = open(tmp, "wb")
            if self.npy and self.src.layout == "rows":
                self.f.write(_npy_header((0, 0), self.src.dtype))
            elif not self.npy and self.src.header is not None:
                self.f.write((self.src.header + "\n").encode())
        except BaseException as e:
            if self.f is not None:
                self.f.close()
            self._replacing.__exit__(type(e), e, e.__traceback__)  # removes tmp; an OSError -> OutputError
            raise
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None and self.npy and self.src.layout == "rows":
                shape = (self.length,) if self.src.ndim == 1 else (self.rows, self.length + len(self.src.id_cols))
                self.f.seek(0)
                self.f.write(_npy_header(shape, self.src.dtype))
            self.f.close()  # flushes: a full disk may show only now
        except OSError as e:
            if exc_type is None:
                exc_type, exc, tb = type(e), e, e.__traceback__
        finally:
            self.f.close()
        # Renamed into place, or removed; an OSError becomes an OutputError naming the output.
        self._replacing.__exit__(exc_type, exc, tb)

    def write(self, chunk: Chunk, out: np.ndarray | list[np.ndarray]) -> None:
        """Append the denoised signals of a chunk; a non-finite value is refused (SignalIOError naming
        the input's line or row), so that no output holds NaN or inf."""
        _check_finite_output(self.src.path, chunk, out)
        if self.src.layout == "columns":
            self._columns(out)
        elif self.npy:
            self._npy_rows(chunk, out)
        else:
            self._csv_rows(chunk, out)
        self.rows += len(chunk)

    # rows layout ------------------------------------------------------------------------------
    def _csv_rows(self, chunk: Chunk, out) -> None:
        ids, pos, d = chunk.ids, self.src.id_cols, self.src.dialect
        sep = d.delimiter
        leading = pos == list(range(len(pos)))
        if isinstance(out, np.ndarray) and not pos:
            line = sep.join([self.fmt] * out.shape[1]) + "\n"
            text = d.write_numbers("".join([line % tuple(r) for r in out.tolist()]))
        else:
            parts = []
            for k, r in enumerate(out):
                cells = d.write_numbers(sep.join([self.fmt] * len(r)) % tuple(r.tolist()))
                if pos and leading:
                    cells = sep.join(d.quote(t) for t in ids[k]) + sep + cells
                elif pos:
                    cells = cells.split(sep)
                    for i, t in zip(pos, ids[k]):
                        cells.insert(i, d.quote(t))
                    cells = sep.join(cells)
                parts.append(cells + "\n")
            text = "".join(parts)
        self.f.write(text.encode())

    def _npy_rows(self, chunk: Chunk, out) -> None:
        lengths = {len(r) for r in out}
        if self.length is None:
            self.length = len(out[0])
        if lengths != {self.length}:
            bad = next(i for i, r in enumerate(out) if len(r) != self.length)
            lengths = f"{self.length} and {len(out[bad])} samples, {chunk.unit} {chunk.lines[bad]} of the input"
            raise SignalIOError(self.out, f"signals of different lengths ({lengths}) cannot be stored in .npy; write a .csv")
        block = np.asarray(out, dtype="<f8")
        if self.src.id_cols:
            block = _insert_ids(self.out, block, chunk.ids, self.src.id_cols, chunk.lines)
        stored = _stored(self.src.path, block, self.src.dtype, chunk)
        self.f.write(np.ascontiguousarray(stored).tobytes())

    # columns layout: one call with every signal -------------------------------------------------
    def _columns(self, out) -> None:
        src = self.src
        n_lines = len(src.column_ids)
        cols = [j for j in range(src.n_fields) if j not in src.id_cols]
        grid = np.full((n_lines, len(cols)), np.nan)
        for k, r in enumerate(out):
            grid[: len(r), k] = r
        if self.npy:
            if np.isnan(grid).any():
                raise SignalIOError(self.out, "signals of different lengths cannot be stored in .npy; write a .csv")
            full = np.empty((n_lines, src.n_fields))
            full[:, cols] = grid
            if src.id_cols:
                full[:, src.id_cols] = _floats(self.out, src.column_ids)
            full = _stored(src.path, full, src.dtype)
            np.save(self.f, full[:, 0] if src.ndim == 1 else full, allow_pickle=False)
            return
        fmt, d = self.fmt, src.dialect
        lines = []
        for t in range(n_lines):
            cells = [d.write_numbers(fmt % v) if v == v else "" for v in grid[t].tolist()]
            for i, s in zip(src.id_cols, src.column_ids[t]):
                cells.insert(i, d.quote(s))
            lines.append(d.delimiter.join(cells) + "\n")
        self.f.write("".join(lines).encode())


def _stored(path: Path, block: np.ndarray, descr: str, chunk: Chunk | None = None) -> np.ndarray:
    """block in the output's dtype; a value past float32's range (a float32 input denoised to
    more than 3.4e38) raises, naming its line, rather than being written as inf."""
    with np.errstate(over="ignore"):
        stored = block.astype(descr)
    if not np.isfinite(stored).all():
        i = int(np.argwhere(~np.isfinite(stored))[0][0])
        where = f", {chunk.unit} {chunk.lines[i]}" if chunk is not None else ""
        raise SignalIOError(path, f"denoising gave a value past float32's range{where}; nothing was written")
    return stored


def _check_finite_output(path: Path, chunk: Chunk, out) -> None:
    """The first signal of `out` with a NaN or inf raises, naming its line (row, column) of the input."""
    ok = np.isfinite(out).all(axis=1) if isinstance(out, np.ndarray) else [np.isfinite(r).all() for r in out]
    if all(ok):
        return
    k = next(i for i, good in enumerate(ok) if not good)
    j = int(np.flatnonzero(~np.isfinite(out[k]))[0])
    peak = float(np.abs(chunk.values[k]).max())
    raise SignalIOError(path, f"denoising gave {out[k][j]} at sample {j + 1} (the signal's largest |value| is "
                              f"{peak:.3g}): values this extreme, or a broken model (NaN weights); nothing was written",
                        chunk.lines[k], what=chunk.unit)  # fmt: skip


def _floats(out: Path, texts: list[list[str]]) -> np.ndarray:
    try:
        return np.array(texts, dtype=np.float64)
    except ValueError:
        raise SignalIOError(out, "non-numeric id cells cannot be stored in .npy; write a .csv") from None


def _insert_ids(out: Path, block: np.ndarray, ids, pos: list[int], lines) -> np.ndarray:
    n, length = block.shape
    full = np.empty((n, length + len(pos)))
    vals = [j for j in range(full.shape[1]) if j not in pos]
    full[:, vals] = block
    full[:, pos] = _floats(out, ids)
    return full
