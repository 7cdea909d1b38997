"""The SVD projector against numpy, and the metrics against hand-worked values."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from sigdenoise import synthetic
from sigdenoise.evaluate import metrics
from sigdenoise.models.svd import Identity, SVDProjector


@pytest.fixture(scope="module")
def clean():
    return synthetic.generate(3_000, np.random.default_rng(0))[0]


@pytest.mark.parametrize("k", [1, 5, 20])
def test_projector_equals_numpy_and_error_is_discarded_energy(clean, k):
    p = SVDProjector(k).fit(clean)
    # The source's X is 100 x N (one signal per column): X = U S V^T, projector U_k U_k^T.
    u, s, _ = np.linalg.svd(clean.T, full_matrices=False)
    proj = u[:, :k] @ u[:, :k].T
    assert_allclose(p.denoise(clean), clean @ proj, atol=1e-10)
    assert_allclose(p.singular_values_, s, rtol=1e-12, atol=1e-12 * s[0])  # tail at round-off
    # Eckart-Young: the squared error equals the sum of the discarded squared singular values.
    err = np.sum((p.denoise(clean) - clean) ** 2)
    assert_allclose(err, np.sum(s[k:] ** 2), rtol=1e-9)


def test_projector_is_idempotent_and_full_rank_is_identity(clean):
    p = SVDProjector(5).fit(clean)
    once = p.denoise(clean[:10])
    assert_allclose(p.denoise(once), once, atol=1e-12)
    full = SVDProjector(100).fit(clean)
    assert_allclose(full.denoise(clean[:10]), clean[:10], atol=1e-10)


def test_metrics_by_hand():
    clean = np.array([[1.0, 2.0]])
    est = np.array([[1.0, 1.0]])
    assert metrics.mse(est, clean) == 0.5
    assert_allclose(metrics.snr_db(est, clean), 10 * np.log10(5.0), rtol=1e-15)  # 6.9897 dB
    noisy = np.array([[0.0, 2.0]])  # error 1, same as est
    s = metrics.scores(noisy, est, clean)
    assert s["snr_gain_db"] == 0.0
    assert metrics.snr_db(clean, clean) == float("inf")


def test_snr_gain_of_ten_for_tenfold_error_energy():
    clean = np.ones((2, 4))
    noisy = clean + np.sqrt(10) * np.array([[1, -1, 1, -1], [1, 1, -1, -1]]) * 0.1
    den = clean + (noisy - clean) / np.sqrt(10)
    assert_allclose(metrics.scores(noisy, den, clean)["snr_gain_db"], 10.0, rtol=1e-12)


def test_noisy_row_has_zero_gain_exactly(clean):
    noisy = synthetic.add_gaussian(clean[:50], 1.0, np.random.default_rng(1))
    s = metrics.scores(noisy, Identity().denoise(noisy), clean[:50])
    assert s["snr_gain_db"] == 0.0
    assert s["snr_in_db"] == s["snr_out_db"]
