"""The classical baselines against scipy / pywt run one signal at a time, on signals whose answer
is known, and their validation choosers against a brute-force search of the same grid."""

import numpy as np
import pytest
import pywt
import scipy.signal
from numpy.testing import assert_allclose

from sigdenoise import synthetic
from sigdenoise.evaluate import metrics
from sigdenoise.models.baselines import WAVELETS, SavitzkyGolay, Wavelet, Wiener, noise_sigma, wiener_rows

# The reference below calls pywt past dwt_max_level on purpose, as the chooser does.
pytestmark = pytest.mark.filterwarnings("ignore:Level value of:UserWarning")


@pytest.fixture(scope="module")
def validation():
    rng = np.random.default_rng([5, 5])
    clean = synthetic.generate(150, rng)[0]
    return clean, clean + 0.5 * rng.standard_normal(clean.shape)


def test_savgol_reproduces_polynomials_of_its_order():
    t = np.linspace(-1, 1, 100)
    for p in (1, 2, 3, 4):
        x = np.stack([np.polyval(np.arange(1.0, p + 2), t), np.polyval(np.arange(p + 1.0, 0, -1), t)])
        assert_allclose(SavitzkyGolay(11, p).fit().denoise(x), x, atol=1e-12)
    # A centred window of even order 4 also keeps degree 5 away from the ends (odd moments of the
    # symmetric window vanish), but not degree 6.
    err5 = SavitzkyGolay(11, 4).fit().denoise(t[None] ** 5) - t**5
    err6 = SavitzkyGolay(11, 4).fit().denoise(t[None] ** 6) - t**6
    assert np.abs(err5[:, 5:-5]).max() < 1e-12 < 1e-8 < np.abs(err6[:, 5:-5]).max()


def test_savgol_equals_scipy_one_signal_at_a_time(validation):
    noisy = validation[1][:20]
    for window, order in [(5, 1), (13, 4), (51, 2)]:
        ref = np.stack([scipy.signal.savgol_filter(row, window, order) for row in noisy])
        assert_allclose(SavitzkyGolay(window, order).fit().denoise(noisy), ref, rtol=1e-10, atol=1e-12)


def test_savgol_chooser_picks_the_brute_force_best(validation):
    clean, noisy = validation
    scores = {
        (w, p): metrics.mse(scipy.signal.savgol_filter(noisy, w, p), clean)
        for w in range(5, 52, 2)
        for p in range(1, 5)
    }
    best = min(scores, key=scores.get)
    sg = SavitzkyGolay().fit(noisy, clean)
    assert sg.settings_ == {"window": best[0], "polyorder": best[1]}
    assert_allclose(sg.validation_mse_, scores[best], rtol=1e-10)
    # Fixing one setting restricts the search to it.
    assert SavitzkyGolay(polyorder=1).fit(noisy, clean).settings_["polyorder"] == 1


def test_wiener_rows_equal_scipy_one_signal_at_a_time(validation):
    noisy = validation[1][:20]
    for size in (3, 9, 31):
        ref = np.stack([scipy.signal.wiener(row, size) for row in noisy])
        assert_allclose(wiener_rows(noisy, size), ref, rtol=1e-11, atol=1e-13)


def test_wiener_returns_a_constant_away_from_the_zero_padded_ends():
    x = np.full((2, 100), 3.0)
    out = Wiener(9).fit().denoise(x)
    assert_allclose(out[:, 4:-4], x[:, 4:-4], rtol=1e-14)


def test_wiener_chooser_picks_the_brute_force_best(validation):
    clean, noisy = validation[0][:40], validation[1][:40]
    scores = {
        s: metrics.mse(np.stack([scipy.signal.wiener(row, s) for row in noisy]), clean) for s in range(3, 52, 2)
    }
    best = min(scores, key=scores.get)
    w = Wiener().fit(noisy, clean)
    assert w.settings_ == {"size": best}
    assert_allclose(w.validation_mse_, scores[best], rtol=1e-10)


def _shrink_one(x, wavelet, level, rule):
    """Reference: one signal, pywt's own soft threshold, thresholds written out."""
    coeffs = pywt.wavedec(x, wavelet, mode="symmetric", level=level)
    sigma = np.median(np.abs(coeffs[-1])) / 0.6745
    out = [coeffs[0]]
    for d in coeffs[1:]:
        if rule == "universal":
            th = sigma * np.sqrt(2 * np.log(len(x)))
        else:
            sx2 = max(np.mean(d**2) - sigma**2, 0.0)
            th = sigma**2 / np.sqrt(sx2) if sx2 > 0 else np.abs(d).max()
        out.append(pywt.threshold(d, th, mode="soft"))
    return pywt.waverec(out, wavelet, mode="symmetric")[: len(x)]


@pytest.mark.parametrize("rule", ["universal", "bayes"])
@pytest.mark.parametrize("wavelet,level", [("db4", 3), ("sym8", 2), ("coif2", 4)])
def test_wavelet_equals_pywt_one_signal_at_a_time(validation, rule, wavelet, level):
    noisy = validation[1][:15]
    got = Wavelet(wavelet, rule, level).fit().denoise(noisy)
    ref = np.stack([_shrink_one(row, wavelet, level, rule) for row in noisy])
    assert_allclose(got, ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("rule", ["universal", "bayes"])
def test_wavelet_keeps_a_noiseless_piecewise_cubic(rule):
    # db4 has 4 vanishing moments: the finest details vanish except near the break and the ends,
    # so their median, hence sigma and every threshold, is ~0 and the signal comes back whole.
    t = synthetic.time_axis()
    x = np.where(t < 4.3, 0.01 * t**3 - 0.1 * t, 2.0 - 0.2 * (t - 4.3) ** 2)[None]
    assert noise_sigma(pywt.wavedec(x, "db4", mode="symmetric", level=2, axis=-1)[-1])[0, 0] < 1e-12
    assert_allclose(Wavelet("db4", rule, 2).fit().denoise(x), x, atol=1e-10)


@pytest.mark.parametrize("rule", ["universal", "bayes"])
def test_wavelet_on_pure_noise_estimates_sigma_and_shrinks_toward_zero(rule):
    noise = 2.0 * np.random.default_rng(4).standard_normal((400, 100))
    sigma = noise_sigma(pywt.wavedec(noise, "sym4", mode="symmetric", level=3, axis=-1)[-1])
    assert abs(sigma.mean() - 2.0) < 0.05  # MAD / 0.6745 is consistent for Gaussian noise
    out = Wavelet("sym4", rule, 3).fit().denoise(noise)
    # Only the level-3 approximation (about 1/8 of the energy) and rare details survive.
    assert np.sum(out**2) < 0.2 * np.sum(noise**2)


def test_wavelet_chooser_picks_the_brute_force_best(validation):
    clean, noisy = validation
    for rule in ("universal", "bayes"):
        scores = {
            (w, lev): metrics.mse(np.stack([_shrink_one(row, w, lev, rule) for row in noisy[:30]]), clean[:30])
            for w in WAVELETS
            for lev in range(1, 7)
        }
        best = min(scores, key=scores.get)
        wv = Wavelet(rule=rule).fit(noisy[:30], clean[:30])
        assert (wv.settings_["wavelet"], wv.settings_["level"]) == best
        assert_allclose(wv.validation_mse_, scores[best], rtol=1e-10)


def test_unset_settings_need_validation_pairs():
    with pytest.raises(ValueError, match="validation"):
        SavitzkyGolay().fit(np.zeros((2, 100)))
    with pytest.raises(ValueError, match="shape"):
        Wiener().fit(np.zeros((2, 100)), np.zeros((3, 100)))
