"""Long signals in blocks (recordings/longsig.py, npystream.py): the streamed .npy path equals the
in-memory one to the last bit, blocks leave no seams, and a signal's Verdicts merge by hand."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from typer.testing import CliRunner

import sigdenoise
from sigdenoise.auto.select import Verdict, merge
from sigdenoise.cli import app
from sigdenoise.recordings import longsig


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 4,096 samples with 512 of context: a 20,000-sample signal is 5 blocks."""
    monkeypatch.setattr(longsig, "BLOCK", 4096)
    monkeypatch.setattr(longsig, "MARGIN", 512)
    monkeypatch.setattr(longsig, "LONG", 4096 + 1024)


@pytest.mark.parametrize("n, block, margin", [(10, 4, 1), (1_000, 100, 20), (1_037, 100, 20), (1_019, 100, 20),
                                              (250, 100, 20), (100, 100, 20)])  # fmt: skip
def test_blocks_tile_the_signal_and_agreeing_blocks_blend_exactly(n, block, margin):
    """Cores tile [0, n); identity and doubling come back exactly (a blend of equal values is them)."""
    parts = longsig.spans(n, block, margin)
    assert parts[0][2] == 0 and parts[-1][3] == n
    assert all(a[3] == b[2] for a, b in zip(parts, parts[1:]))
    x = np.random.default_rng(0).standard_normal((2, n))
    assert_array_equal(longsig.in_memory(x, lambda z: z.copy(), block, margin), x)
    assert_array_equal(longsig.in_memory(x, lambda z: 2 * z, block, margin), 2 * x)


def test_the_fade_is_linear_between_two_blocks():
    """Block 0 outputs 0 and block 1 outputs 1 (each its own constant): over the margin samples
    centred on their boundary the output rises (j + 0.5)/margin, j = 0 … margin − 1, and outside
    it each block's own value."""
    calls = iter([0.0, 1.0])
    y = longsig.in_memory(np.zeros((1, 200)), lambda z: np.full_like(z, next(calls)), 100, 10)
    assert_array_equal(y[0, :95], 0.0)
    np.testing.assert_allclose(y[0, 95:105], (np.arange(10) + 0.5) / 10, rtol=0, atol=1e-15)
    assert_array_equal(y[0, 105:], 1.0)


def _long(n=20_000, k=1, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    clean = np.stack([np.sin(2 * np.pi * t / (300 + 50 * r)) + 0.3 * np.sin(2 * np.pi * t / 37) for r in range(k)])
    return clean, clean + 0.3 * rng.standard_normal(clean.shape)


@pytest.mark.parametrize("method, dtype, fortran", [("auto", "float64", False), ("savgol", "float32", False),
                                                    ("auto", "float64", True)])  # fmt: skip
def test_streamed_npy_equals_the_in_memory_api(tmp_path, small_blocks, method, dtype, fortran):
    """`denoise big.npy -o out.npy` streams the file in blocks; its output equals
    sigdenoise.denoise on the array in memory, bit for bit (float32 stays float32; a Fortran-order
    2-row array reads the same); the report holds one Verdict per row."""
    import json

    _, x = _long(k=1 if not fortran else 2)
    x = x.astype(dtype)
    arr = np.asfortranarray(x) if fortran else (x[0] if len(x) == 1 else x)
    np.save(tmp_path / "big.npy", arr)
    res = CliRunner().invoke(app, ["denoise", str(tmp_path / "big.npy"), "-o", str(tmp_path / "out.npy"),
                                   "--method", method])  # fmt: skip
    assert res.exit_code == 0, res.output
    got = np.load(tmp_path / "out.npy")
    assert got.shape == arr.shape and got.dtype == np.dtype(dtype)
    assert_array_equal(got, sigdenoise.denoise(arr, method=method))
    doc = json.loads((tmp_path / "out.npy.json").read_text())
    assert doc["signals"] == len(x) and len(doc["per_signal"]) == len(x)


def test_blocks_leave_no_seam_and_gain(small_blocks):
    """auto on a 20,000-sample noisy signal in 5 blocks: the output's SNR gains over 10 dB
    (measured 14.7), and the squared error within 512 samples of a block boundary is no more than
    1.5× the error elsewhere (measured 0.95×)."""
    clean, x = _long()
    y = sigdenoise.denoise(x)
    err = (y - clean)[0] ** 2
    gain = 10 * np.log10(np.sum((x - clean) ** 2) / np.sum(err * 1.0))
    assert gain > 10, gain
    near = np.zeros(x.shape[-1], bool)
    for b in range(4096, x.shape[-1], 4096):
        near[b - 512 : b + 512] = True
    assert err[near].mean() <= 1.5 * err[~near].mean(), (err[near].mean(), err[~near].mean())


def test_merge_verdicts_by_hand():
    """Two blocks of 100 and 300 samples: σ̂² 0.01 and 0.04 -> mean 0.0325; signal power 1 and 2
    (SNR in 20 dB and 10·log10(50)) -> 1.75; error 0.001 and 0.004 -> 0.00325. Method: the one of
    most samples; lines: both blocks'; drift: the larger."""
    a = Verdict("tv 2σ", 0.1, 20.0, 30.0, lines=(0.1,), drift=0.2)
    b = Verdict("savgol 21,2", 0.2, 10 * np.log10(50), 10 * np.log10(2 / 0.004), lines=(0.3,), drift=0.5)
    (v,) = merge([(a, b)], [100, 300])
    assert v.method == "savgol 21,2" and v.lines == (0.1, 0.3) and v.drift == 0.5
    assert v.sigma == pytest.approx(np.sqrt(0.0325), rel=1e-12)
    assert v.snr_in_db == pytest.approx(10 * np.log10(1.75 / 0.0325), rel=1e-12)
    assert v.snr_out_db == pytest.approx(10 * np.log10(1.75 / 0.00325), rel=1e-12)
