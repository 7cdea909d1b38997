"""Error metrics against the clean signal (DESIGN.md §1, Evaluations). Pure numpy.

All take arrays of shape (n_signals, n_samples); sums and means run over the whole set.
"""

from __future__ import annotations

import numpy as np


def mse(estimate: np.ndarray, clean: np.ndarray) -> float:
    """Mean squared error over samples and signals."""
    return float(np.mean((np.asarray(estimate) - np.asarray(clean)) ** 2))


def snr_db(estimate: np.ndarray, clean: np.ndarray) -> float:
    """10 log10(sum x^2 / sum (x_hat - x)^2); +inf when the estimate is exact."""
    clean = np.asarray(clean)
    err = float(np.sum((np.asarray(estimate) - clean) ** 2))
    power = float(np.sum(clean**2))
    if err == 0.0:
        return float("inf")
    return 10.0 * np.log10(power / err)


def scores(noisy: np.ndarray, denoised: np.ndarray, clean: np.ndarray) -> dict[str, float]:
    """The metric columns of one results row.

    mse of the output, SNR of input and output, and the gain (output - input) in dB.
    """
    snr_in = snr_db(noisy, clean)
    snr_out = snr_db(denoised, clean)
    return {
        "mse": mse(denoised, clean),
        "snr_in_db": snr_in,
        "snr_out_db": snr_out,
        "snr_gain_db": snr_out - snr_in,
    }
