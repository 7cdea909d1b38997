"""Windowing, weighted overlap-add and per-window scaling, against hand values and a direct reference."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from sigdenoise.models.svd import SVDProjector
from sigdenoise.recordings import windows

SCALE = {"center": 0.25, "half_range": 1.5}


def test_hann_by_hand_positive_and_symmetric():
    w = windows.hann(100)
    assert_allclose(w[[0, 49, 50, 99]], np.sin(np.pi * np.array([0.5, 49.5, 50.5, 99.5]) / 100) ** 2, rtol=1e-15)
    assert w.min() > 2.4e-4 and w.max() <= 1.0
    assert_allclose(w, w[::-1], rtol=1e-12)


@pytest.mark.parametrize(
    "length, hop, expected",
    [(100, 50, [0]), (250, 50, [0, 50, 100, 150]), (260, 50, [0, 50, 100, 150, 160]), (103, 100, [0, 3]), (102, 1, [0, 1, 2])],
)
def test_starts_cover_the_end(length, hop, expected):
    assert windows.starts(length, 100, hop).tolist() == expected


def test_starts_reject_a_short_signal():
    with pytest.raises(ValueError, match="99 samples is shorter than the 100-sample window"):
        windows.starts(99, 100, 50)


@pytest.mark.parametrize("length", [100, 101, 173, 5000])
@pytest.mark.parametrize("hop", [1, 7, 50, 100])
@pytest.mark.parametrize("scale", [None, SCALE])
def test_identity_model_returns_the_input_exactly(length, hop, scale):
    x = np.random.default_rng(length + hop).standard_normal((3, length)) * 40 + 7
    out = windows.denoise_signals(x, lambda z: z.copy(), 100, hop, scale)
    assert_array_equal(out, x)  # bit for bit, ends included


def _reference(x, fn, width, hop):
    """Σ_k w·y_k / Σ_k w written out window by window (no scaling)."""
    w = windows.hann(width)
    num, den = np.zeros_like(x), np.zeros(x.shape[1])
    for s in windows.starts(x.shape[1], width, hop):
        num[:, s : s + width] += w * fn(x[:, s : s + width])
        den[s : s + width] += w
    return num / den


@pytest.mark.parametrize("length, hop", [(100, 50), (250, 50), (333, 30), (1000, 100)])
def test_overlap_add_matches_the_direct_weighted_average(length, hop):
    x = np.random.default_rng(0).standard_normal((4, length))
    fn = lambda z: np.tanh(2 * z) + 0.1 * z**2  # noqa: E731  (any nonlinear map)
    assert_allclose(windows.denoise_signals(x, fn, 100, hop), _reference(x, fn, 100, hop), rtol=1e-12, atol=1e-13)


def test_a_constant_correction_comes_back_constant():
    # Every window adds 1: the weights normalise, so the whole signal, ends included, gains exactly 1.
    x = np.random.default_rng(1).standard_normal((2, 777))
    assert_allclose(windows.denoise_signals(x, lambda z: z + 1.0, 100, 50) - x, 1.0, rtol=0, atol=1e-13)


def test_no_seams_where_windows_meet():
    # Windows that each shift by their own start index: Hann weighting blends the shifts, so the
    # output's steps stay small (at most 1/hop-ish per sample), unlike rectangular stitching's jump of 50.
    x = np.zeros((1, 1000))
    fn = lambda z: z + np.arange(len(z))[:, None] * 50.0  # noqa: E731  window k shifted by 50k
    out = windows.denoise_signals(x, fn, 100, 50)
    assert np.abs(np.diff(out[0])).max() < 3.2  # smooth ramp from 0 to 50*18 over 1000 samples
    assert_allclose(out[0, [0, -1]], [0.0, 50.0 * (len(windows.starts(1000, 100, 50)) - 1)], atol=1e-9)


def test_window_scale_maps_into_the_model_range_and_back():
    f = np.array([[2.0, 4.0, 6.0], [-1.0, -1.0, -1.0]])
    z, back = windows.to_model(f, {"center": 0.0, "half_range": 1.0})
    assert_allclose(z, [[-1.0, 0.0, 1.0], [0.0, 0.0, 0.0]])
    assert_allclose(back[:, 0], [2.0, 0.0])  # a constant window is left as it is


@pytest.mark.parametrize("hop", [50, 13])
def test_scaling_keeps_amplitude_and_offset(hop):
    # Per-window scaling makes any denoiser affine-equivariant: f(a + b·x) = a + b·f(x) for b > 0,
    # so a recording at offset 1000 and amplitude 0.003 is treated as its unit-range shape.
    rng = np.random.default_rng(2)
    t = np.arange(600) * 0.1
    x = np.sin(1.3 * t) + 0.2 * rng.standard_normal((3, 600))
    proj = SVDProjector(5).fit(np.sin(np.outer(rng.normal(0, 2.25, 2000), t[:100])))
    fn = proj.denoise
    base = windows.denoise_signals(x, fn, 100, hop, SCALE)
    for a, b in [(1000.0, 0.003), (-5.0, 250.0)]:
        assert_allclose(windows.denoise_signals(a + b * x, fn, 100, hop, SCALE), a + b * base, rtol=1e-9, atol=1e-9 * b)
    # Without scaling the same map is not equivariant: the offset swamps the unit-range basis.
    raw = windows.denoise_signals(1000 + 0.003 * x, fn, 100, hop, None)
    assert np.abs(raw - (1000 + 0.003 * base)).max() > 1.0
