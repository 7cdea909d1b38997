"""benchmarks/real_signals.py: its numbers (the gain, the noise cases, the tuned-peer search), its
subset of the UCR recordings, and its contract with the CLI. Skipped without the bench extra."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.signal import savgol_filter

from sigdenoise.evaluate import metrics

pytest.importorskip("sktime")
pytest.importorskip("skimage")

PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "real_signals.py"
spec = importlib.util.spec_from_file_location("real_signals", PATH)
rs = importlib.util.module_from_spec(spec)
sys.modules["real_signals"] = rs  # dataclasses look their module up while the class is built
spec.loader.exec_module(rs)


def test_gain_is_snr_out_minus_snr_in_by_hand():
    clean = np.array([[3.0, 4.0], [1.0, 0.0]])
    noisy = np.array([[3.0, 5.0], [2.0, 0.0]])  # errors 1 and 1: SNR 10 log10(25) and 0 dB
    out = np.array([[3.0, 4.5], [1.1, 0.0]])  # errors 0.25 and 0.01: SNR 20 and 20 dB
    assert_allclose(rs.snr_db_rows(noisy, clean), [10 * np.log10(25), 0.0])
    assert_allclose(rs.mean_gain(out, noisy, clean), ((20 - 10 * np.log10(25)) + 20) / 2)
    assert_allclose(rs.snr_db_rows(out, clean), [metrics.snr_db(o, c) for o, c in zip(out, clean)])


def long_series(n=40_000):
    t = np.arange(n)
    return 3.0 * np.sin(2 * np.pi * t / 500) + 0.5 * np.cos(2 * np.pi * t / 37) + 1.0


@pytest.mark.parametrize("case", rs.WHITE_CASES, ids=lambda c: c.label)
def test_white_noise_is_k_times_the_series_std(case):
    x = long_series()
    noise = rs.add_noise(x[None], "test", case)[0] - x
    assert abs(noise.std() / (case.white * x.std()) - 1) < 0.05
    assert abs(noise.mean()) < 0.05 * noise.std()


def test_structured_noise_components_have_their_documented_sizes():
    x, rng = long_series(), np.random.default_rng(0)
    hum = rs.case_noise(x, rs.Case("hum", 0.0, hum=0.5), rng)
    drift = rs.case_noise(x, rs.Case("drift", 0.0, drift=1.0), rng)
    assert_allclose(hum.std(), 0.5 * x.std() / np.sqrt(2), rtol=0.01)  # a sinusoid's std: amplitude / sqrt 2
    assert_allclose(drift.std(), 1.0 * x.std() / np.sqrt(2), rtol=0.01)
    assert_allclose(np.abs(np.fft.rfft(hum)).argmax() / x.size, rs.HUM_CYCLES_PER_SAMPLE, atol=1 / x.size)
    assert np.abs(np.fft.rfft(drift)).argmax() == 1  # one period over the series
    total = rs.add_noise(x[None], "test", rs.STRUCTURED_CASE)[0] - x
    assert abs(total.std() / (np.sqrt(0.3**2 + 0.5**2 / 2 + 1.0**2 / 2) * x.std()) - 1) < 0.05


def test_noise_is_reproducible_and_series_i_gets_the_same_noise_whatever_n():
    clean = np.random.default_rng(1).normal(size=(5, 200))
    a = rs.add_noise(clean, "ACSF1", rs.WHITE_CASES[1])
    assert_allclose(a, rs.add_noise(clean, "ACSF1", rs.WHITE_CASES[1]), rtol=0, atol=0)
    assert_allclose(a[:2], rs.add_noise(clean[:2], "ACSF1", rs.WHITE_CASES[1]), rtol=0, atol=0)
    assert not np.allclose(a, rs.add_noise(clean, "OSULeaf", rs.WHITE_CASES[1]))


def tiny_row():
    rng = np.random.default_rng(2)
    t = np.arange(64)
    clean = np.stack([np.sin(2 * np.pi * t / p) for p in (16, 23, 40)]) * [[1.0], [2.0], [0.5]]
    return clean + 0.3 * clean.std(axis=1, keepdims=True) * rng.standard_normal(clean.shape), clean


def test_tuned_savgol_is_what_a_brute_force_loop_finds():
    noisy, clean = tiny_row()
    gains = {}
    for w in range(5, 52, 2):
        for p in range(1, 5):
            per_series = [
                metrics.snr_db(savgol_filter(n, w, p), c) - metrics.snr_db(n, c) for n, c in zip(noisy, clean)
            ]
            gains[(w, p)] = np.mean(per_series)
    setting, gain = rs.tune(rs.FAMILIES["savgol"], noisy, clean)
    assert setting == max(gains, key=gains.get)
    assert_allclose(gain, max(gains.values()))


def test_tuned_search_is_per_row_not_per_series():
    noisy, clean = tiny_row()
    family = rs.FAMILIES["tv"]
    per_setting = {w: [rs.mean_gain(family.apply(n[None], w), n[None], c[None]) for n, c in zip(noisy, clean)]
                   for w in family.grid(noisy.shape[-1])}  # fmt: skip
    setting, gain = rs.tune(family, noisy, clean)
    assert setting == max(per_setting, key=lambda w: np.mean(per_setting[w]))
    assert_allclose(gain, np.mean(per_setting[setting]))


def test_tv_peer_is_scale_free_and_wavelet_grid_respects_the_length():
    noisy, _ = tiny_row()
    assert_allclose(rs.apply_tv(1000.0 * noisy, 0.1), 1000.0 * rs.apply_tv(noisy, 0.1), rtol=1e-9)
    assert max(level for w, level, _ in rs.wavelet_grid(100) if w == "coif3") == 2
    assert len(rs.wavelet_grid(1460)) == 3 * 6 * 2


def test_class_round_robin_covers_every_class_first():
    assert rs.class_round_robin(np.array(["b", "b", "a", "a", "c"])) == [0, 2, 4, 1, 3]


def test_subsets_load_offline():
    arrow, line = rs.load_series("ArrowHead", 3)
    assert arrow.shape == (3, 251) and "ArrowHead" in line
    motions, _ = rs.load_series("BasicMotions", 2)
    assert motions.shape == (12, 100)  # 2 cases (standing, running) x 6 channels


def test_method_selection():
    assert "ae fit" not in rs.parse_args(["--quick"]).method_flags
    assert list(rs.parse_args(["--quick", "--methods", "ae fit"]).method_flags) == ["ae fit"]
    args = rs.parse_args(["--add", "auto=--method auto --hop 25", "--methods", "default", "auto"])
    assert args.method_flags == {"default": [], "auto": ["--method", "auto", "--hop", "25"]}
    with pytest.raises(SystemExit):
        rs.parse_args(["--methods", "no such method"])


def test_cli_round_trip_and_loud_failure(tmp_path):
    noisy, _ = tiny_row()
    noisy = np.tile(noisy, 4)  # 256 samples: windows enough to fit on
    out, seconds, said = rs.run_cli(noisy, ["--fit", "--method", "svd"], tmp_path)
    assert out.shape == noisy.shape and np.isfinite(out).all() and seconds > 0
    assert rs.what_ran(said).startswith("svd rank") and rs.short_ran(said).startswith("svd rank")
    with pytest.raises(RuntimeError, match="exited 2"):
        rs.run_cli(noisy, ["--rank", "0"], tmp_path)


def test_what_the_cli_ran_is_read_from_its_messages():
    packaged = ("Denoised 3 signals (300 samples) with default model (default-ae.safetensors): ae gelu latent 5, "
                "train noise [0.0, 1.2] in 0.0 s (364 signals/s) -> <tmp>/out.csv")  # fmt: skip
    auto = ("Denoised 5 signals (1,255 samples) with auto (least estimated error) in 0.2 s (25 "
            "signals/s) -> <tmp>/out.csv estimated noise σ 1 (median); "
            "methods: wavelet sym8 1σ ×3, tv 1σ ×2; report")  # fmt: skip
    assert rs.short_ran(packaged) == "packaged ae"
    assert rs.short_ran(auto) == "auto: wavelet sym8 1σ ×3, tv 1σ ×2"
    svd = ("Denoised 5 signals with svd rank 10 fitted on 6805 windows in 0.1 s (46 signals/s) -> <tmp>/out.csv "
           "estimated noise σ 0.104; methods: svd rank 10 fitted on 6805 windows ×5; report")  # fmt: skip
    assert rs.short_ran(svd) == "svd rank 10"
    assert rs.short_ran("something else entirely") == "?"
