"""Generator shapes, family values, the statistics of r, and the corruptions."""

import numpy as np
from numpy.testing import assert_allclose

from sigdenoise import synthetic


def test_time_axis_is_the_studys():
    t = synthetic.time_axis()
    assert t.shape == (100,)
    assert_allclose(t[[0, 1, 99]], [0.0, 0.1, 9.9], rtol=0, atol=1e-12)


def test_family_values_by_hand():
    t = np.array([0.0, 0.5, 1.0])
    r = np.full(5, 2.0)
    got = synthetic.family_values(np.arange(5), r, t)
    s, c = np.sin(2 * t), np.cos(2 * t)
    assert_allclose(got, np.stack([s, c, s + c, s - c, s * c]), rtol=1e-15)


def test_generate_shapes_families_and_r_statistics():
    x, fam, r = synthetic.generate(20_000, np.random.default_rng(1))
    assert x.shape == (20_000, 100) and fam.shape == r.shape == (20_000,)
    # Families uniform: each about 4,000 (binomial sd ~57, allow 5 sd).
    assert np.all(np.abs(np.bincount(fam, minlength=5) - 4_000) < 5 * 57)
    # r ~ N(0, 2.25): standard error of the mean 0.016, of the sd 0.011.
    assert abs(r.mean()) < 0.07
    assert abs(r.std() - 2.25) < 0.05
    # Each row is its family at its r.
    assert_allclose(x, synthetic.family_values(fam, r, synthetic.time_axis()), rtol=1e-15)


def test_sd_is_settable_and_seed_reproducible():
    _, _, r = synthetic.generate(20_000, np.random.default_rng(2), sd=1.5)
    assert abs(r.std() - 1.5) < 0.04
    a = synthetic.generate(50, np.random.default_rng(7))[0]
    b = synthetic.generate(50, np.random.default_rng(7))[0]
    assert np.array_equal(a, b)


def test_gaussian_noise_level():
    x = np.zeros((400, 100))
    noisy = synthetic.add_gaussian(x, 0.1, np.random.default_rng(3))
    assert abs(noisy.std() - 0.1) < 0.002
    assert abs(noisy.mean()) < 0.002


def test_probe_is_ten_copies_of_sin():
    clean, noisy = synthetic.probe(1.0, np.random.default_rng(4))
    assert clean.shape == noisy.shape == (10, 100)
    assert_allclose(clean, np.tile(np.sin(synthetic.time_axis()), (10, 1)))
    assert 0.8 < (noisy - clean).std() < 1.2


def test_mask_rate_and_values():
    x = np.ones((500, 100))
    m = synthetic.mask(x, 0.3, np.random.default_rng(5))
    assert set(np.unique(m)) == {0.0, 1.0}
    assert abs((m == 0).mean() - 0.3) < 0.01


def test_salt_pepper_rate_and_values():
    x = synthetic.generate(500, np.random.default_rng(6))[0]
    y = synthetic.salt_pepper(x, 0.2, np.random.default_rng(7))
    changed = y != x
    assert abs(changed.mean() - 0.2) < 0.01
    lo, hi = x.min(axis=1, keepdims=True), x.max(axis=1, keepdims=True)
    at_lo = (y == lo) & changed
    at_hi = (y == hi) & changed
    assert np.all(at_lo | at_hi | ~changed)
    assert abs(at_lo.mean() - 0.1) < 0.01 and abs(at_hi.mean() - 0.1) < 0.01
