"""Reading CSV and .npy signals (layouts, headers, ids, ragged rows, chunks), writing them back
atomically, and the exact file/line/column of every kind of bad input."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from sigdenoise.errors import SignalIOError
from sigdenoise.recordings.read import open_signals
from sigdenoise.recordings.write import Writer


def read_all(path, **kw):
    src = open_signals(path, **kw)
    chunks = list(src.chunks())
    values = [np.asarray(v) for c in chunks for v in c.values]
    ids = [i for c in chunks for i in (c.ids or [])]
    lines = [n for c in chunks for n in c.lines]
    return src, values, ids, lines


def write(tmp_path, text, name="s.csv"):
    p = tmp_path / name
    p.write_bytes(text.encode() if isinstance(text, str) else text)
    return p


def test_rows_with_detected_header_named_id_ragged_rows_and_blank_lines(tmp_path):
    p = write(tmp_path, 'name,a,b,c,d\n"x, 1",1,2,3,4\n\nz,5,6,,\nw,7,8,9\n')
    src, values, ids, lines = read_all(p, id_spec=["name"])
    assert src.header == "name,a,b,c,d" and src.id_cols == [0]
    assert [v.tolist() for v in values] == [[1, 2, 3, 4], [5, 6], [7, 8, 9]]
    assert ids == [["x, 1"], ["z"], ["w"]] and lines == [2, 4, 5]


def test_no_header_when_every_cell_is_a_number_and_ids_by_number(tmp_path):
    p = write(tmp_path, "1,0.5,-2e-3\n2,1.5,7\n")
    src, values, ids, lines = read_all(p, id_spec=["1"])
    assert src.header is None and ids == [["1"], ["2"]]
    assert_array_equal(np.stack(values), [[0.5, -2e-3], [1.5, 7]])


def test_header_forced_and_refused(tmp_path):
    p = write(tmp_path, "1,2,3\n4,5,6\n")
    assert read_all(p, header=True)[0].header == "1,2,3"
    with pytest.raises(SignalIOError, match="--no-header says there is no header"):
        open_signals(p, header=False, id_spec=["id"])


def test_chunks_agree_with_one_read_and_count_lines_across_blocks(tmp_path):
    x = np.random.default_rng(0).standard_normal((500, 120))
    p = tmp_path / "big.csv"
    np.savetxt(p, x, delimiter=",", fmt="%.17g", header="h" + ",h" * 119, comments="")
    src = open_signals(p, block_bytes=10_000)
    chunks = list(src.chunks())
    assert len(chunks) > 10 and src.read == p.stat().st_size
    assert_array_equal(np.concatenate([c.values for c in chunks]), x)
    assert [n for c in chunks for n in c.lines] == list(range(2, 502))


def test_columns_layout_ragged_with_time_column(tmp_path):
    p = write(tmp_path, "t,s1,s2\n0,1,4\n0.1,2,5\n0.2,3,\n")
    src, values, _, lines = read_all(p, layout="columns", id_spec=["t"])
    assert [v.tolist() for v in values] == [[1, 2, 3], [4, 5]] and lines == [2, 3]
    assert src.column_ids == [["0"], ["0.1"], ["0.2"]]


def test_npy_rows_columns_and_1d(tmp_path):
    a = np.arange(12.0).reshape(3, 4)
    np.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "v.npy", a[0])
    assert_array_equal(np.stack(read_all(tmp_path / "a.npy")[1]), a)
    assert_array_equal(np.stack(read_all(tmp_path / "a.npy", layout="columns")[1]), a.T)
    src, values, _, _ = read_all(tmp_path / "v.npy")
    assert src.ndim == 1 and len(values) == 1 and values[0].tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize(
    "text, kw, message",
    [
        ("1,2,3\n4,abc,6\n", {}, r"s.csv, line 2, column 2: 'abc' is not a number"),
        ("1,2,3\n4,5,6\n7,nan,9\n", {}, r"s.csv, line 3, column 2: nan is not a finite number"),
        ("h1,h2\n1,2\n\n3,inf\n", {}, r"s.csv, line 4, column 2: inf is not a finite number"),
        ("1,2,3\n4,,6\n", {}, r"s.csv, line 2, column 2: an empty cell inside the signal"),
        ("", {}, r"s.csv: the file is empty: no signals"),
        ("\n  \n", {}, r"s.csv: the file is empty: no signals"),
        ("a,b,c\n", {}, r"s.csv, line 1: no signals after the header"),
        ("a,b,id\n1,2,x\n3\n", {"id_spec": ["id"]}, r"s.csv, line 3: no id column 3 \(the line has 1 cells\)"),
        ("t,a,b\n0,1,2\n1,,3\n2,4,5\n", {"layout": "columns"}, r"s.csv, line 3, column 2: an empty cell inside the signal"),
        ("a,b\n1,x\n", {"layout": "columns"}, r"s.csv, line 2, column 2: 'x' is not a number"),
        (b"1,2\n3,\xff\n", {}, r"s.csv, line 2: not a text CSV file"),
        ("1,2\n", {"id_spec": ["nope"]}, r"--id-col 'nope'"),
    ],
)
def test_bad_csv_names_file_line_and_column(tmp_path, text, kw, message):
    p = write(tmp_path, text)
    with pytest.raises(SignalIOError, match=message):
        read_all(p, **kw)


def test_bad_cell_found_in_a_later_chunk(tmp_path):
    lines = ["1,2,3"] * 3000 + ["1,2,x"] + ["1,2,3"] * 10
    p = write(tmp_path, "\n".join(lines) + "\n")
    with pytest.raises(SignalIOError, match=r"line 3001, column 3: 'x'"):
        read_all(p, block_bytes=1000)


def test_bad_npy(tmp_path):
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(SignalIOError, match="obj.npy: not a readable .npy array"):
        open_signals(tmp_path / "obj.npy")
    a = np.ones((3, 5))
    a[2, 4] = np.nan
    np.save(tmp_path / "nan.npy", a)
    with pytest.raises(SignalIOError, match=r"nan.npy, row 3, column 5: nan is not a finite number"):
        read_all(tmp_path / "nan.npy")
    (tmp_path / "junk.npy").write_bytes(b"not an array")
    with pytest.raises(SignalIOError, match="junk.npy: not a readable .npy array"):
        open_signals(tmp_path / "junk.npy")
    with pytest.raises(SignalIOError, match="missing.npy: no such file"):
        open_signals(tmp_path / "missing.npy")


def roundtrip(tmp_path, text, out_name="o.csv", **kw):
    p = write(tmp_path, text)
    src = open_signals(p, **kw)
    out = tmp_path / out_name
    with Writer(out, src) as w:
        for c in src.chunks():
            w.write(c, c.values)
    return out


def test_writer_keeps_header_ids_ragged_rows_and_layouts(tmp_path):
    text = 'name,a,b,c\n"x, 1",1,2,3\nz,0.25,6\n'
    assert roundtrip(tmp_path, text, id_spec=["name"]).read_text() == text
    text = "t,s1,s2\n0,1,4\n0.1,2,5\n0.2,3,\n"
    assert roundtrip(tmp_path, text, layout="columns", id_spec=["t"]).read_text() == text
    text = "a,id,b\n1,k,2\n3,m,4\n"  # an id column in the middle
    assert roundtrip(tmp_path, text, id_spec=["id"]).read_text() == text


def test_writer_streams_npy_with_its_final_shape(tmp_path):
    x = np.random.default_rng(0).standard_normal((700, 30))
    np.savetxt(tmp_path / "in.csv", x, delimiter=",", fmt="%.17g")
    src = open_signals(tmp_path / "in.csv", block_bytes=5000)
    with Writer(tmp_path / "o.npy", src) as w:
        for c in src.chunks():
            w.write(c, c.values)
    assert_array_equal(np.load(tmp_path / "o.npy"), x)
    out = roundtrip(tmp_path, "1,2,3\n4,5,6\n", "c.npy", layout="columns")
    assert_array_equal(np.load(out), [[1, 2, 3], [4, 5, 6]])


def test_a_failure_leaves_no_file_and_an_old_output_untouched(tmp_path):
    p = write(tmp_path, "1,2\n3,4\n")
    out = tmp_path / "o.csv"
    out.write_text("old\n")
    src = open_signals(p)
    with pytest.raises(RuntimeError):
        with Writer(out, src) as w:
            w.write(next(src.chunks()), np.zeros((2, 2)))
            raise RuntimeError("boom")
    assert out.read_text() == "old\n"
    assert sorted(f.name for f in tmp_path.iterdir()) == ["o.csv", "s.csv"]


def test_ragged_rows_cannot_go_to_npy(tmp_path):
    with pytest.raises(SignalIOError, match=r"o.npy: signals of different lengths \(3 and 2 samples, line 2"):
        roundtrip(tmp_path, "1,2,3\n4,5\n", "o.npy")
    assert not (tmp_path / "o.npy").exists()
