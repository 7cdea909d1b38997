"""Principal angles against scipy and hand-built subspaces; the linear decoder's basis against the
decoder itself."""

import numpy as np
import pytest
import scipy.linalg
import torch
from numpy.testing import assert_allclose

from sigdenoise.evaluate.subspace import linear_decoder_basis, principal_angles
from sigdenoise.models.autoencoder import Autoencoder


@pytest.mark.parametrize("k,m", [(5, 5), (5, 3), (2, 7), (1, 1)])
def test_angles_equal_scipys_in_ascending_order(k, m):
    rng = np.random.default_rng(k * 10 + m)
    a, b = rng.standard_normal((100, k)), rng.standard_normal((100, m))
    got = principal_angles(a, b)
    assert got.shape == (min(k, m),)
    assert np.all(np.diff(got) >= 0)
    assert_allclose(got, scipy.linalg.subspace_angles(a, b)[::-1], rtol=1e-12, atol=1e-14)
    assert_allclose(principal_angles(b, a), got, rtol=1e-12, atol=1e-14)  # symmetric


def test_small_angles_of_a_perturbed_basis_equal_scipys():
    # All angles ~1e-4: both implementations use the sine formula for every one.
    rng = np.random.default_rng(1)
    a = rng.standard_normal((100, 5))
    b = a + 1e-4 * rng.standard_normal((100, 5))
    got = principal_angles(a, b)
    assert np.all(got < 1e-3) and np.all(got > 1e-6)
    assert_allclose(got, scipy.linalg.subspace_angles(a, b)[::-1], rtol=1e-9)


def test_quarter_pi_by_hand():
    e = np.eye(4)
    assert_allclose(principal_angles(e[:, :1], (e[:, 0] + e[:, 1])[:, None]), [np.pi / 4], rtol=1e-15)
    assert_allclose(principal_angles(e[:, :2], e[:, 2:]), [np.pi / 2, np.pi / 2], rtol=1e-15)
    assert_allclose(principal_angles(e[:, :2], e[:, [1, 0]] * [3.0, -2.0]), [0.0, 0.0], atol=1e-15)


def test_constructed_angles_including_tiny_ones_mixed_with_large():
    # span(e0, e1, e2) against span(cos th_i e_i + sin th_i e_{3+i}), columns mixed by an
    # invertible matrix: the angles are exactly th, sorted.
    theta = np.array([1.2, 1e-9, 0.3])
    e = np.eye(10)
    b = np.cos(theta) * e[:, :3] + np.sin(theta) * e[:, 3:6]
    mix = np.array([[2.0, 1.0, 0.0], [0.5, 1.0, 1.0], [0.0, -1.0, 3.0]])
    got = principal_angles(e[:, :3] @ mix.T, b @ mix)
    assert_allclose(got, np.sort(theta), rtol=1e-7, atol=1e-15)
    assert got[0] > 0.9e-9  # arccos alone would give 0 here (cos(1e-9) rounds to 1)


def test_rank_deficient_input_is_refused():
    a = np.ones((10, 2))
    with pytest.raises(ValueError, match="rank deficient"):
        principal_angles(a, np.eye(10)[:, :2])


def _run(layers, z):
    for layer in layers:
        z = layer(z)
    return z


@pytest.mark.parametrize("latent", [1, 5])
def test_decoder_basis_is_the_decoders_affine_part(latent):
    model = Autoencoder("identity", latent, seed=3).double()
    basis = linear_decoder_basis(model)
    assert basis.shape == (100, latent)
    decoder = model.layers[len(model.layers) // 2 :]
    with torch.no_grad():
        z = torch.eye(latent, dtype=torch.float64)
        zero = _run(decoder, torch.zeros(1, latent, dtype=torch.float64))
        columns = (_run(decoder, z) - zero).numpy().T  # (100, latent): decoder(e_i) - decoder(0)
    assert_allclose(basis, columns, rtol=1e-10, atol=1e-14)


def test_whole_linear_autoencoder_outputs_lie_in_the_decoder_span():
    model = Autoencoder("identity", 5, seed=0)  # float32, as trained
    basis = linear_decoder_basis(model)
    x = np.random.default_rng(2).standard_normal((40, 100))
    out = model.denoise(x) - model.denoise(np.zeros((1, 100)))  # (40, 100)
    u = np.linalg.svd(out.T, full_matrices=False)[0][:, :5]  # the outputs' 5-dim span
    assert principal_angles(basis, u).max() < 1e-4  # float32 round-off
    assert principal_angles(basis, np.random.default_rng(3).standard_normal((100, 5))).min() > 0.1


def test_decoder_basis_refuses_nonlinear_models():
    with pytest.raises(ValueError, match="identity"):
        linear_decoder_basis(Autoencoder("relu", 5))
