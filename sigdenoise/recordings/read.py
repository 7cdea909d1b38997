"""Reading users' signals: CSV (one signal per row or per column) and .npy, streamed in chunks.

Rows layout (default): each line is one signal; lines may differ in length, and trailing empty
cells (how spreadsheets pad ragged rows) end a signal. Columns layout: each column is one
signal (the study's 100 × N matrix); a column ends at its last non-empty cell. A header row is
set, or detected: no non-id cell a number, or pandas' column numbers 0 … n−1 (a first line of
numbers with some text among them is an error, not a guess). Id columns are kept as text, untouched.

Rows-layout CSV and .npy are read in chunks of about `block_bytes`, so memory stays bounded
whatever the file's size; columns layout is read whole (every signal spans the whole file).

Every problem raises SignalIOError naming the file, line and column (1-based, as editors count;
for .npy, row and column of the array).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sigdenoise.errors import SignalIOError
from sigdenoise.recordings.csvtext import DELIMITERS, Dialect, detect, is_time_name

BLOCK_BYTES = 8 << 20



@dataclass
class Chunk:
    """Consecutive signals of a file.

    values: (n, L) when all n signals share a length, else a list of n 1-D arrays.
    ids: per signal, the texts of its id cells (rows layout; columns layout keeps them on Source).
    lines: per signal, its line (CSV) or row (.npy) number, for messages.
    """

    values: np.ndarray | list[np.ndarray]
    ids: list[list[str]] | None
    lines: list[int]
    unit: str = "line"  # what `lines` count: line (CSV rows), row (.npy rows), column (columns layout)

    def __len__(self) -> int:
        return len(self.lines)


@dataclass
class Source:
    """An opened input: what the writer needs to reproduce its shape, and its chunks."""

    path: Path
    kind: str  # "csv" or "npy"
    layout: str  # "rows" or "columns"
    header: str | None = None  # the header line, verbatim
    names: list[str] = field(default_factory=list)  # header cells
    id_cols: list[int] = field(default_factory=list)  # 0-based positions of the id columns
    column_ids: list[list[str]] | None = None  # columns layout: per line, its id cells
    n_fields: int = 0  # columns layout: cells per line
    ndim: int = 2  # a 1-D .npy holds one signal and is written back 1-D
    dtype: str = "<f8"  # what a .npy output stores: float32 input stays float32, anything else float64
    dialect: Dialect = field(default_factory=Dialect)  # CSV: delimiter and decimal mark, written back as read
    time_cols: list[int] = field(default_factory=list)  # columns layout: time columns found by name, kept as ids
    size: int = 0  # bytes, for progress
    read: int = 0  # bytes read so far
    _chunks: Iterator[Chunk] | None = None

    def chunks(self) -> Iterator[Chunk]:
        return self._chunks


def is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


COMMA = Dialect()


def resolve_ids(path, spec: list[str], names: list[str]) -> list[int]:
    """--id-col values (header names, or 1-based column numbers) -> 0-based positions."""
    out = []
    for s in spec:
        if s in names:
            out.append(names.index(s))
        elif s.isdigit() and int(s) >= 1:
            out.append(int(s) - 1)
        else:
            raise SignalIOError(path, f"--id-col {s!r} is neither a header name nor a column number (1, 2, …)")
    return sorted(set(out))


def check_finite(path, v: np.ndarray, lines, cols, what: str = "line") -> None:
    """v (n, m) or (m,): the first NaN/inf raises, naming its line and column."""
    bad = ~np.isfinite(v)
    if bad.any():
        r, c = np.argwhere(bad.reshape(len(lines), -1))[0]
        value = v.reshape(len(lines), -1)[r, c]
        raise SignalIOError(path, f"{value} is not a finite number", lines[r], cols[c] + 1, what)


def parse_row(path, text: str, line: int, id_cols: list[int], d: Dialect = COMMA) -> tuple[np.ndarray, list[str]]:
    """One rows-layout line -> (values (L,), id texts), or a SignalIOError at its exact cell."""
    cells = d.cells(text)
    if id_cols and id_cols[-1] >= len(cells):
        raise SignalIOError(path, f"no id column {id_cols[-1] + 1} (the line has {len(cells)} cells)", line)
    ids = [cells[i] for i in id_cols]
    pos = [j for j in range(len(cells)) if j not in id_cols]
    while pos and not cells[pos[-1]].strip():
        pos.pop()  # trailing empty cells end the signal
    out = np.empty(len(pos))
    for k, j in enumerate(pos):
        try:
            out[k] = float(d.number_text(cells[j]))
        except ValueError:
            what = "an empty cell inside the signal" if not cells[j].strip() else f"{cells[j]!r} is not a number"
            if cells[j].strip() and not ids and k == 0:  # a label in the first column, most likely
                what += f" (if column {j + 1} holds ids, pass --id-col {j + 1})"
            raise SignalIOError(path, what, line, j + 1) from None
    check_finite(path, out, [line], pos)
    return out, ids


def parse_rows(path, texts: list[str], lines: list[int], id_cols: list[int], d: Dialect = COMMA) -> Chunk:
    """Rows-layout lines -> Chunk. Fast path: one C parse when the lines are plain and equally wide."""
    seps = {t.count(d.delimiter) for t in texts}
    if len(seps) == 1 and not any('"' in t for t in texts):
        width = seps.pop() + 1
        use = [j for j in range(width) if j not in id_cols]
        try:
            plain = texts if d.decimal == "." else [d.numbers_line(t) for t in texts]
            v = np.loadtxt(plain, delimiter=d.delimiter, usecols=use, ndmin=2, comments=None)
        except ValueError:
            v = None  # an empty or bad cell: the slow path finds and names it
        if v is not None and all(i < width for i in id_cols):
            check_finite(path, v, lines, use)
            ids = [[c[i] for i in id_cols] for c in (t.split(d.delimiter) for t in texts)] if id_cols else None
            return Chunk(v, ids, list(lines))
    rows = [parse_row(path, t, n, id_cols, d) for t, n in zip(texts, lines)]
    values = [r[0] for r in rows]
    if len({len(r) for r in values}) == 1:
        values = np.stack(values)
    return Chunk(values, [r[1] for r in rows] if id_cols else None, list(lines))


def _decode(path, block: bytes, first_line: int, first: bool) -> str:
    try:
        return block.decode("utf-8-sig" if first else "utf-8")
    except UnicodeDecodeError as e:
        line = first_line + block[: e.start].count(b"\n")
        raise SignalIOError(path, "not a text CSV file (bytes that are not UTF-8)", line) from None


def _blocks(path: Path, src: Source, block_bytes: int) -> Iterator[tuple[list[str], list[int]]]:
    """Non-blank lines of the file in blocks, with their 1-based line numbers."""
    line = 1
    with open(path, "rb") as f:
        while block := f.read(block_bytes):
            if not block.endswith(b"\n"):
                block += f.readline()
            texts = _decode(path, block, line, line == 1).splitlines()
            keep = [i for i, t in enumerate(texts) if t.strip()]
            yield [texts[i] for i in keep], [line + i for i in keep]
            line += len(texts)
            src.read = f.tell()


def _header(path, first: str, header: bool | None, id_spec: list[str], line: int = 1,
            d: Dialect = COMMA) -> tuple[bool, list[str], list[int]]:  # fmt: skip
    """Decide whether the first line is a header; resolve the id columns against it."""
    cells = [d.number_text(c) if is_number(d.number_text(c)) else c for c in d.cells(first)]
    named = [s for s in id_spec if not (s.isdigit() and int(s) >= 1)]
    if named and header is False:
        raise SignalIOError(path, f"--id-col {named[0]!r} is a name, but --no-header says there is no header", 1)
    if header is None:
        ids = resolve_ids(path, [s for s in id_spec if s not in named], [])
        named_ids = any(c.strip() and not is_number(c) for j, c in enumerate(cells) if j in ids)
        header = bool(named) or _looks_like_header(path, [(j, c) for j, c in enumerate(cells) if j not in ids], line,
                                                   named_ids)  # fmt: skip
    # A numbered header (0, 1, … or id,1,2,…) names its columns by number: --id-col 1 is column 1.
    words = [c for c in cells if c.strip() and not is_number(c)]
    numbered = len(cells) - len(words) >= 2 and len(words) <= len(id_spec)
    names = cells if header and not numbered else []
    return header, cells if header else [], resolve_ids(path, id_spec, names)


def _looks_like_header(path, cells: list[tuple[int, str]], line: int = 1, named_ids: bool = False) -> bool:
    """Whether a first line's non-id cells (position, text) are a header: none of them a number, or
    exactly the column numbers pandas' to_csv(index=False) writes, 0, 1, …, n−1; or 1 … n beside
    an id column named in text (`id,1,2,…`; without one, a signal may well start 1, 2, 3).
    A line of numbers with some text among them is neither a header nor a signal: a corrupt first
    line, refused at its first non-number rather than guessed either way."""
    given = [(j, c.strip()) for j, c in cells if c.strip()]
    texts = [c for _, c in given]
    words = [(j, c) for j, c in given if not is_number(c)]
    n = len(given)
    if len(words) == n:
        return n > 0
    if not words:  # pandas' header of an unnamed frame's columns, else a signal
        numbered = texts == [str(k) for k in range(n)] or named_ids and texts == [str(k) for k in range(1, n + 1)]
        return n >= 2 and numbered
    j, text = words[0]
    hint = f"pass --header if line {line} is a header"
    if j == 0:
        hint = f"pass --id-col 1 if column 1 holds ids, or --header if line {line} is a header"
    raise SignalIOError(path, f"{text!r} is not a number, among numbers ({hint})", line, j + 1)


def open_csv(path, layout="rows", header: bool | None = None, id_spec=(), block_bytes=BLOCK_BYTES,
             delimiter: str | None = None, decimal: str | None = None) -> Source:  # fmt: skip
    """A CSV file of signals. layout "auto": columns when the header names a time column (an
    export of a recording: time_s,voltage_V), else rows. In the columns layout a column whose
    header names time is kept as it is, as an id column. The dialect is detected unless given."""
    path = Path(path)
    _exists(path)
    src = Source(path, "csv", layout, size=path.stat().st_size)
    blocks = _blocks(path, src, block_bytes)
    texts, lines = next(((t, n) for t, n in blocks if t), ([], []))
    if not texts:
        raise SignalIOError(path, "the file is empty: no signals")
    src.dialect = d = detect(texts[:6], DELIMITERS.get(delimiter, delimiter), decimal)
    has_header, src.names, src.id_cols = _header(path, texts[0], header, list(id_spec), lines[0], d)
    if has_header:
        src.header = texts[0]
        texts, lines = texts[1:], lines[1:]
    timed = [j for j, name in enumerate(src.names) if is_time_name(name)]
    values = [j for j in range(len(src.names)) if j not in timed and j not in src.id_cols]
    if layout == "auto":
        # An export of a recording: a time column beside fewer value columns than it has lines (a
        # header of 300 signal names over 20 lines, dated in an id column, is one signal a line).
        export = bool(timed) and bool(values) and len(values) <= len(texts)
        layout = src.layout = "columns" if export else "rows"
    if layout == "columns":
        src.time_cols = [j for j in timed if values]
        src.id_cols = sorted(set(src.id_cols) | set(src.time_cols))
        for t, n in blocks:  # the whole file: each signal spans every line
            texts += t
            lines += n
        src._chunks = iter([_parse_columns(src, texts, lines)])
        return src

    def chunks() -> Iterator[Chunk]:
        seen = False
        for t, n in itertools.chain([(texts, lines)], blocks):
            if t:
                seen = True
                yield parse_rows(path, t, n, src.id_cols, d)
        if not seen:
            raise SignalIOError(path, "no signals after the header", 1)

    src._chunks = chunks()
    return src


def _parse_columns(src: Source, texts: list[str], lines: list[int]) -> Chunk:
    """Columns layout: line t holds sample t of every signal. Signals end at their last non-empty cell."""
    path = src.path
    if not texts:
        raise SignalIOError(path, "no signals after the header", 1)
    d = src.dialect
    cells = [d.cells(t) for t in texts]
    width = max(len(src.names), max(len(c) for c in cells))
    src.n_fields = width
    src.column_ids = [[c[i] if i < len(c) else "" for i in src.id_cols] for c in cells]
    cols = [j for j in range(width) if j not in src.id_cols]
    v = np.full((len(texts), len(cols)), np.nan)
    given = np.zeros(v.shape, dtype=bool)
    for r, c in enumerate(cells):
        for k, j in enumerate(cols):
            if j < len(c) and c[j].strip():
                try:
                    v[r, k] = float(d.number_text(c[j]))
                except ValueError:
                    raise SignalIOError(path, f"{c[j]!r} is not a number", lines[r], j + 1) from None
                given[r, k] = True
    check_finite(path, np.where(given, v, 0.0), lines, cols)
    length = np.where(given.any(axis=0), given.shape[0] - np.argmax(given[::-1], axis=0), 0)
    for k in range(len(cols)):
        gap = np.flatnonzero(~given[: length[k], k])
        if len(gap):
            raise SignalIOError(path, "an empty cell inside the signal", lines[gap[0]], cols[k] + 1)
    values = [v[: length[k], k] for k in range(len(cols))]
    if len(set(length.tolist())) == 1:
        values = v.T.copy()
    return Chunk(values, None, [c + 1 for c in cols], "column")


def _exists(path: Path) -> None:
    if not path.exists():
        raise SignalIOError(path, "no such file")
    if not path.is_file():
        raise SignalIOError(path, "not a file")


def open_npy(path, layout: str = "rows", id_spec=(), block_rows: int = 0) -> Source:
    """A 2-D (signals × samples, or samples × signals for columns) or 1-D numeric .npy, memory-mapped."""
    path = Path(path)
    _exists(path)
    try:
        a = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise SignalIOError(path, f"not a readable .npy array ({e})") from None
    if not isinstance(a, np.ndarray) or a.dtype.kind not in "iuf" or a.ndim not in (1, 2):
        found = f"{getattr(a, 'dtype', type(a))} {getattr(a, 'shape', '')}"
        raise SignalIOError(path, f"expected a 1-D or 2-D numeric array, found {found}")
    if a.size == 0:
        raise SignalIOError(path, "the array is empty: no signals")
    a2 = a if a.ndim == 2 else a[None] if layout == "rows" else a[:, None]
    src = Source(path, "npy", layout, ndim=a.ndim, size=path.stat().st_size,
                 dtype="<f4" if a.dtype == np.float32 else "<f8")  # fmt: skip
    src.id_cols = resolve_ids(path, [s for s in id_spec], [])
    width = a2.shape[1]
    if src.id_cols and src.id_cols[-1] >= width:
        raise SignalIOError(path, f"no column {src.id_cols[-1] + 1} for --id-col (the array has {width})")
    cols = [j for j in range(width) if j not in src.id_cols]
    if layout == "columns":
        src.n_fields = width
        src.column_ids = [[repr(float(x)) for x in row] for row in np.asarray(a2[:, src.id_cols])]
        v = np.asarray(a2[:, cols], dtype=np.float64)
        check_finite(path, v, list(range(1, v.shape[0] + 1)), cols, "row")
        src._chunks = iter([Chunk(v.T.copy(), None, [c + 1 for c in cols], "column")])
        return src
    step = block_rows or max(1, BLOCK_BYTES // (8 * width))

    def chunks() -> Iterator[Chunk]:
        for i in range(0, a2.shape[0], step):
            block = np.asarray(a2[i : i + step], dtype=np.float64)
            rows = list(range(i + 1, i + 1 + len(block)))
            v = block[:, cols]
            check_finite(path, v, rows, cols, "row")
            ids = [[repr(float(x)) for x in r] for r in block[:, src.id_cols]] if src.id_cols else None
            src.read = int(src.size * (i + len(block)) / a2.shape[0])
            yield Chunk(v, ids, rows, "row")

    src._chunks = chunks()
    return src


def open_signals(path, layout="rows", header: bool | None = None, id_spec=(), block_bytes=BLOCK_BYTES,
                 delimiter: str | None = None, decimal: str | None = None) -> Source:  # fmt: skip
    """Open a .npy (by suffix) or CSV file of signals (layout rows, columns, or auto: see open_csv)."""
    if str(path).lower().endswith(".npy"):
        return open_npy(path, "rows" if layout == "auto" else layout, id_spec)
    return open_csv(path, layout, header, id_spec, block_bytes, delimiter, decimal)
