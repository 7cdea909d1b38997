"""The Bayes posterior mean against explicit loops on a tiny prior, its grid convergence, and the
ceiling it sets: lower MSE than the SVD projector and every tuned baseline."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from sigdenoise import synthetic
from sigdenoise.evaluate import metrics, scoring
from sigdenoise.models.baselines import SavitzkyGolay, Wavelet, Wiener
from sigdenoise.models.bayes import (
    BayesPosteriorMean,
    posterior_mean,
    posterior_mean_bruteforce,
    posterior_mean_refined,
)
from sigdenoise.models.svd import SVDProjector


@pytest.fixture(scope="module")
def test_set():
    return scoring.eval_sets(seed=0, n_test=150, sd=2.25)[1]


@pytest.fixture(scope="module")
def svd():
    return SVDProjector(5).fit(synthetic.training_set(0, 2000, 2.25))


@pytest.fixture(scope="module")
def bayes():
    """Fitted denoisers (fit builds the grid and templates once) by noise level."""
    return {noise: BayesPosteriorMean(noise).fit() for noise in (0.1, 1.0)}


@pytest.fixture(scope="module")
def posterior(bayes, test_set):
    """(mean (150, 100), family probabilities (150, 5)) on the test set, by noise level."""
    return {noise: b.posterior(test_set.noisy(noise)) for noise, b in bayes.items()}


@pytest.mark.parametrize("noise", [0.3, 1.0])
def test_matches_explicit_loops_on_a_coarse_discrete_prior(noise):
    rng = np.random.default_rng(7)
    r = np.linspace(-3.0, 3.0, 13)  # both signs; r and -r give mirrored templates
    prior = rng.random(13) + 0.1
    prior /= prior.sum()
    fam = rng.integers(5, size=6)
    clean = synthetic.family_values(fam, rng.choice(r, size=6), synthetic.time_axis())
    noisy = clean + noise * rng.standard_normal(clean.shape)
    ref_mean, ref_fam = posterior_mean_bruteforce(noisy, noise, r, prior)
    for memory in (1, 1e9):  # one signal per chunk, and all at once
        mean, fam_p = posterior_mean(noisy, noise, r, np.log(prior), memory_bytes=memory)
        assert_allclose(mean, ref_mean, rtol=1e-10, atol=1e-10)
        assert_allclose(fam_p, ref_fam, rtol=1e-10, atol=1e-12)
    assert_allclose(fam_p.sum(axis=1), 1.0, rtol=1e-14)
    assert 0.01 < ref_fam.max(axis=1).min()  # not all point masses: the weights really mix


@pytest.mark.parametrize("noise", [0.1, 1.0])
def test_refined_sum_equals_the_sum_over_every_grid_point(test_set, posterior, bayes, noise):
    # Test signals, then inputs with a broad posterior: pure noise, and r near 0 where the
    # families coincide.
    rng = np.random.default_rng(3)
    near_zero = synthetic.family_values(np.arange(5), np.full(5, 0.02), synthetic.time_axis())
    extra = np.concatenate([rng.standard_normal((5, 100)), near_zero + rng.standard_normal((5, 100))]) * noise
    prepared = bayes[noise].prepared_
    full = posterior_mean(test_set.noisy(noise)[:40], noise, None, None, prepared=prepared)
    assert_allclose(posterior[noise][0][:40], full[0], atol=1e-12)
    assert_allclose(posterior[noise][1][:40], full[1], atol=1e-12)
    full = posterior_mean(extra, noise, None, None, prepared=prepared)
    for got, want in zip(posterior_mean_refined(extra, prepared), full):
        assert_allclose(got, want, atol=1e-12)


def test_noiseless_limit_and_odd_symmetry(bayes):
    # y = -sin(rt) is sin at -r: the answer to -y is minus the answer to y for the odd families,
    # and a noiseless input comes back nearly unchanged when its family is unambiguous.
    y = np.sin(1.7 * synthetic.time_axis())[None]
    b = bayes[0.1]
    assert_allclose(b.denoise(-y), -b.denoise(y), atol=1e-12)
    assert_allclose(b.denoise(y), y, atol=1e-3)
    assert b.family_posterior(y)[0, 0] > 0.999


@pytest.mark.parametrize("noise", [0.1, 1.0])
def test_converged_in_the_grid(test_set, posterior, noise):
    # Half the step everywhere; twice the prior's tail only where it matters (the likelihood
    # reaches far into it only at high noise).
    noisy = test_set.noisy(noise)[:30]
    width = 9.0 if noise == 1.0 else 7.0
    finer = BayesPosteriorMean(noise, step=noise / 200, width=width).fit(test_set.clean).denoise(noisy)
    assert_allclose(posterior[noise][0][:30], finer, atol=1e-9)
    # A grid four times coarser is visibly off, so the comparison has teeth.
    coarse = BayesPosteriorMean(noise, step=noise / 25).denoise(noisy)
    assert np.abs(coarse - finer).max() > 1e-4


def test_family_posterior_names_the_family_at_low_noise(test_set, posterior):
    p = posterior[0.1][1]
    assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)
    # Families coincide only near r = 0 (sin and sin*cos both vanish), so nearly all are named.
    assert np.mean(p.argmax(axis=1) == test_set.family) > 0.95


@pytest.mark.parametrize("noise", [0.1, 1.0])
def test_bayes_beats_svd_and_every_tuned_baseline(test_set, posterior, svd, noise):
    rng = np.random.default_rng([0, 9])
    val_clean = synthetic.generate(200, rng)[0]
    val_noisy = val_clean + noise * rng.standard_normal(val_clean.shape)
    noisy = test_set.noisy(noise)
    bayes = metrics.mse(posterior[noise][0], test_set.clean)
    others = {
        "svd": svd,
        "savgol": SavitzkyGolay().fit(val_noisy, val_clean),
        "wiener": Wiener().fit(val_noisy, val_clean),
        "visushrink": Wavelet(rule="universal").fit(val_noisy, val_clean),
        "bayesshrink": Wavelet(rule="bayes").fit(val_noisy, val_clean),
    }
    for name, d in others.items():
        assert bayes < metrics.mse(d.denoise(noisy), test_set.clean), name
    # The ceiling is far below the input noise: about noise^2 / 100 per sample at 0.1 (one free
    # parameter among 100 samples), with family confusion adding at 1.0.
    assert bayes < 0.05 * noise**2
