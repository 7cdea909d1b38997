"""The Python API (issue 14): sigdenoise.denoise, the scikit-learn estimators, the pre-filters.

Numbers are pinned to independent references: auto/select.py called directly, the command line's
output for the same signals, scipy's own filters, and MSEs computed here."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import signal
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from typer.testing import CliRunner

import sigdenoise
from sigdenoise.auto import select
from sigdenoise.cli import app
from sigdenoise.device import one_blas_thread
from sigdenoise.errors import SettingsError

README = Path(__file__).resolve().parents[1] / "README.md"



def one_thread(fn, *args):
    """fn(*args) on one BLAS thread, as sigdenoise.denoise and the command compute (device.one_blas_thread)."""
    with one_blas_thread():
        return fn(*args)

def _clean(n=1_500, fs=250.0):
    t = np.arange(n) / fs
    return np.sin(2 * np.pi * 1.5 * t) + 0.5 * np.sin(2 * np.pi * 7 * t + 1)


def _noisy(k=3, n=1_500, level=0.3, seed=0):
    rng = np.random.default_rng(seed)
    clean = np.stack([_clean(n) * (1 + 0.2 * i) for i in range(k)])
    return clean, clean + level * rng.standard_normal(clean.shape)


def snr(y, c):
    return 10 * np.log10(np.sum(c**2) / np.sum((y - c) ** 2))


def test_public_names_and_lazy_import():
    """__all__ lists every public name and each resolves; importing the package loads no torch."""
    import subprocess
    import sys

    for name in sigdenoise.__all__:
        assert getattr(sigdenoise, name) is not None
    code = "import sys, sigdenoise; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"


def test_readme_python_example_runs():
    """The README's 'From Python' block runs as written, and its asserts hold."""
    text = README.read_text()
    section = text[text.index("## From Python") :]
    block = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    exec(compile(block, "README.md", "exec"), {})


def test_denoise_equals_auto_select_and_keeps_shape_and_dtype():
    """auto on a (3, n) array is select.denoise's output bit for bit (both on one BLAS thread, as the
    API and the command compute); 1-D, float32, (2, 3, n) and int16 inputs come back in their shape
    and dtype (float32: the float64 result rounded once; int16: rounded and clipped to its range)."""
    clean, x = _noisy()
    y = sigdenoise.denoise(x)
    ref, _ = one_thread(select.denoise, x)
    assert_array_equal(y, ref)
    assert all(snr(a, c) > snr(b, c) + 5 for a, b, c in zip(y, x, clean))  # measured +8-9 dB each
    one = sigdenoise.denoise(x[0])
    assert one.shape == x[0].shape and one.dtype == np.float64
    assert_array_equal(one, one_thread(select.denoise, x[:1])[0][0])
    f32 = sigdenoise.denoise(x.astype(np.float32))
    assert f32.dtype == np.float32
    assert_array_equal(f32, one_thread(select.denoise, x.astype(np.float32).astype(float))[0].astype(np.float32))
    cube = np.stack([x[:2], x[1:]])  # (2, 2, n)
    out = sigdenoise.denoise(cube)
    assert out.shape == cube.shape
    assert_array_equal(out.reshape(4, -1), one_thread(select.denoise, cube.reshape(4, -1))[0])
    big = np.round(x * 20_000).astype(np.int16)  # peaks near 32,767: the output clips, never wraps
    yi = sigdenoise.denoise(big)
    assert yi.dtype == np.int16
    ref_i = np.clip(np.rint(one_thread(select.denoise, big.astype(float))[0]), -32768, 32767)
    assert_array_equal(yi, ref_i.astype(np.int16))


def test_ragged_list_is_grouped_by_length():
    """A list of signals of two lengths: each group is what select.denoise makes of it (one BLAS thread)."""
    _, x = _noisy(k=4)
    rows = [x[0], x[1][:900], x[2], x[3][:900]]
    out = sigdenoise.denoise(rows)
    assert [len(r) for r in out] == [1_500, 900, 1_500, 900]
    long, _ = one_thread(select.denoise, np.stack([x[0], x[2]]))
    short, _ = one_thread(select.denoise, np.stack([x[1][:900], x[3][:900]]))
    for a, b in zip(out, [long[0], short[0], long[1], short[1]]):
        assert_array_equal(a, b)


def test_denoise_svd_equals_the_command_line(tmp_path):
    """method='svd' (fitted on the signals' windows) gives the output of `denoise --fit --method
    svd` on the same signals in a .npy file, to the last bit."""
    _, x = _noisy(k=3, n=600)
    np.save(tmp_path / "in.npy", x)
    res = CliRunner().invoke(app, ["denoise", str(tmp_path / "in.npy"), "-o", str(tmp_path / "out.npy"),
                                   "--fit", "--method", "svd"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert_array_equal(sigdenoise.denoise(x, method="svd"), np.load(tmp_path / "out.npy"))


def test_summary_reports_the_estimate():
    """return_summary: the estimated noise near the true 0.3 (within 10 %), the estimated gain
    at most the true mean gain and within 3 dB of it (measured 13.2 against 15.4 dB: the estimate
    errs low, tests/test_auto.py), and the settings."""
    clean, x = _noisy()
    y, s = sigdenoise.denoise(x, fs=250, return_summary=True)
    assert s["signals"] == 3 and s["samples"] == x.size
    assert s["sigma_median"] == pytest.approx(0.3, rel=0.1)
    true_gain = np.mean([snr(a, c) - snr(b, c) for a, b, c in zip(y, x, clean)])
    assert true_gain - 3.0 < s["gain_db"] <= true_gain, (s["gain_db"], true_gain)
    assert s["settings"]["fs"] == 250 and s["settings"]["method"] == "auto"


def test_notch_and_highpass_are_scipys_filters():
    """notch=50 at fs=500 is scipy's iirnotch (Q 30) run by filtfilt, highpass=0.5 a 4th-order
    Butterworth run by sosfiltfilt, both before denoising (method 'none' shows them alone): equal
    to scipy's own calls to 1e-12, and a 50 Hz hum loses more than 30 dB while a 3 Hz tone keeps
    its amplitude within 1 %."""
    fs, n = 500.0, 5_000
    t = np.arange(n) / fs
    tone, hum, drift = np.sin(2 * np.pi * 3 * t), 0.5 * np.sin(2 * np.pi * 50 * t), 0.8 * t / t[-1]
    x = tone + hum + drift
    y = sigdenoise.denoise(x, fs=fs, method="none", notch=50, highpass=0.5)
    b, a = signal.iirnotch(50, 30.0, fs=fs)
    sos = signal.butter(4, 0.5, "highpass", fs=fs, output="sos")
    assert_allclose(y, signal.sosfiltfilt(sos, signal.filtfilt(b, a, x)), rtol=0, atol=1e-12)
    mid = slice(1_000, 4_000)  # away from the ends' transients; 3,000 samples: 50 and 3 Hz on bins

    def amplitude(z, f):
        return 2 * np.abs(np.fft.rfft(z[mid]))[round(f * 3_000 / fs)] / 3_000

    assert amplitude(x, 50) == pytest.approx(0.5, rel=0.01)  # the ramp leaks a little into the bin
    assert 20 * np.log10(0.5 / amplitude(y, 50)) > 30
    assert amplitude(y, 3) == pytest.approx(amplitude(tone, 3), rel=0.01)


@pytest.mark.parametrize("kw, message", [
    ({"notch": 50}, "notch: needs the sampling rate: give fs"),
    ({"fs": 100, "notch": 50}, "notch: must be between 0 and the Nyquist frequency (50 Hz), got 50"),
    ({"fs": 100, "highpass": -1}, "highpass: must be between 0 and the Nyquist frequency (50 Hz), got -1"),
    ({"method": "fancy"}, "method: must be one of auto, savgol, wiener, wavelet, tv, dae, none, ae, svd, got 'fancy'"),
    ({"model": "m.safetensors"}, "model: is a trained autoencoder; method must be 'ae', got 'auto'"),
])  # fmt: skip
def test_bad_settings_are_typed_errors_naming_the_parameter(kw, message):
    with pytest.raises(SettingsError) as e:
        sigdenoise.denoise(np.zeros(100), **kw)
    assert str(e.value) == message
    assert isinstance(e.value, ValueError)


def test_bad_input_is_an_error_naming_the_sample():
    x = np.sin(np.arange(200.0))
    x[17] = np.nan
    with pytest.raises(SettingsError, match=r"x: holds nan at flat index 17"):
        sigdenoise.denoise(x)
    with pytest.raises(SettingsError, match="x: must hold real numbers"):
        sigdenoise.denoise(np.array(["a", "b"]))


# --- scikit-learn ----------------------------------------------------------------------------


def test_denoiser_clone_pipeline_and_pickle():
    """clone keeps every parameter; a Pipeline's transform is denoise's output; a fitted svd
    Denoiser pickles and gives the same output after loading."""
    _, x = _noisy(k=3, n=600)
    est = sigdenoise.Denoiser(method="savgol", fs=250.0, seed=3)
    twin = clone(est)
    assert twin.get_params() == est.get_params() and twin is not est
    assert_array_equal(make_pipeline(est).fit_transform(x), sigdenoise.denoise(x, method="savgol", fs=250.0, seed=3))
    svd = sigdenoise.Denoiser(method="svd").fit(x)
    back = pickle.loads(pickle.dumps(svd))
    assert_array_equal(back.transform(x), svd.transform(x))
    assert_array_equal(svd.transform(x), sigdenoise.denoise(x, method="svd"))


def test_grid_search_over_denoiser_chooses_by_the_estimate_or_the_truth():
    """GridSearchCV over methods: unsupervised (score = estimated output SNR) and supervised
    (score(X, y) = true SNR against the clean rows). The supervised best is the method of best
    mean true SNR on the validation folds, computed here by hand."""
    clean, x = _noisy(k=6, n=600, seed=5)
    grid = {"method": ["none", "savgol", "tv"]}
    blind = GridSearchCV(sigdenoise.Denoiser(), grid, cv=2).fit(x)
    assert blind.best_params_["method"] in ("savgol", "tv")  # not 'none': the estimate sees the gain
    told = GridSearchCV(sigdenoise.Denoiser(), grid, cv=2).fit(x, clean)
    by_hand = {}
    for m in grid["method"]:
        folds = [(slice(3, 6), slice(0, 3)), (slice(0, 3), slice(3, 6))]
        by_hand[m] = np.mean([np.mean([snr(a, c) for a, c in zip(sigdenoise.denoise(x[te], method=m), clean[te])])
                              for _, te in folds])  # fmt: skip
    assert told.best_params_["method"] == max(by_hand, key=by_hand.get)
    assert told.best_score_ == pytest.approx(by_hand[told.best_params_["method"]], rel=1e-9)


def test_baselines_grid_search_matches_their_own_tuning():
    """GridSearchCV(SavitzkyGolay(polyorder=2), windows).fit(noisy, clean) with one fold that tests
    on everything picks the window of least MSE against the clean signals, computed by hand."""
    from sklearn.model_selection import PredefinedSplit

    clean, x = _noisy(k=4, n=300, level=0.5, seed=2)
    split = PredefinedSplit(np.zeros(len(x)))  # one fold that tests on everything
    windows = [5, 11, 21, 31]
    gs = GridSearchCV(sigdenoise.SavitzkyGolay(polyorder=2), {"window": windows}, cv=split).fit(x, clean)
    mses = {w: np.mean((signal.savgol_filter(x, w, 2, axis=-1) - clean) ** 2) for w in windows}
    assert gs.best_params_["window"] == min(mses, key=mses.get)
    assert -gs.best_score_ == pytest.approx(min(mses.values()), rel=1e-9)
    assert clone(sigdenoise.Wiener(size=5)).get_params() == {"size": 5}
    assert clone(sigdenoise.Wavelet(rule="bayes")).get_params()["rule"] == "bayes"


def test_svd_projector_is_the_svd():
    """SVDProjector(3).fit(X).transform(X) is U_3 U_3ᵀ from numpy's SVD of X (rows = signals), and
    clone/get_params work."""
    rng = np.random.default_rng(4)
    X = rng.standard_normal((40, 12))
    basis = np.linalg.svd(X, full_matrices=False)[2][:3].T
    assert_allclose(sigdenoise.SVDProjector(3).fit(X).transform(X), X @ basis @ basis.T, rtol=1e-12, atol=1e-12)
    assert clone(sigdenoise.SVDProjector(3)).get_params() == {"rank": 3}


@pytest.mark.parametrize("make, fails", [
    (lambda: sigdenoise.Denoiser(), {
        **dict.fromkeys(["check_fit_score_takes_y", "check_pipeline_consistency"],
                        "score's y is the clean signals, shaped like X, not one target per row"),
        "check_methods_subset_invariance": "auto chooses one candidate for the signals transformed together "
                                           "(their summed SURE is far less noisy than one's): a subset may choose another",
    }),
    (lambda: sigdenoise.SVDProjector(1), {}),
], ids=["Denoiser", "SVDProjector"])  # fmt: skip
def test_scikit_learn_estimator_checks(make, fails):
    """scikit-learn's own estimator checks pass, but the one that does not apply (named)."""
    from sklearn.utils.estimator_checks import check_estimator

    check_estimator(make(), expected_failed_checks=fails)


def test_run_grid_from_python_equals_the_command(tmp_path):
    """run_grid(GridSettings(...), out) writes the run folder the command writes: the same
    results.csv numbers as `sigdenoise grid` with the same settings (all but the timing column)."""
    import pandas as pd

    settings = sigdenoise.GridSettings(activations=("identity", "gelu"), latents=(5,), noises=(1.0,), epochs=2,
                                       n_train=200, n_test=50, device="cpu")  # fmt: skip
    table = sigdenoise.run_grid(settings, tmp_path / "py")
    res = CliRunner().invoke(app, ["grid", "--activation", "identity", "--activation", "gelu", "--latent", "5",
                                   "--noise", "1.0", "--epochs", "2", "--n-train", "200", "--n-test", "50",
                                   "--device", "cpu", "--out", str(tmp_path / "cli")])  # fmt: skip
    assert res.exit_code == 0, res.output
    a = pd.read_csv(tmp_path / "py" / "results.csv").drop(columns=["train_seconds"])
    b = pd.read_csv(tmp_path / "cli" / "results.csv").drop(columns=["train_seconds"])
    pd.testing.assert_frame_equal(a, b)
    assert len(table) == len(a)
