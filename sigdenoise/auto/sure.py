"""Stein's unbiased risk estimate of a denoiser's squared error, from the noisy signal alone.

For x = s + σ·e, e white Gaussian, and an estimate y = f(x) of n samples,

    SURE = ‖y − x‖² − n σ² + 2 σ² div f(x),        E[SURE] = E‖y − s‖²  (Stein 1981),

div f = Σ ∂y_i/∂x_i: the trace of the matrix of a linear f; for any other f, Monte-Carlo
(Ramani, Blu & Unser 2008): div f ≈ bᵀ(f(x + εb) − f(x)) / ε with b ~ N(0, I), one more call.
"""

from __future__ import annotations

import numpy as np

from sigdenoise.auto.candidates import Candidate

EPSILON = 0.01  # the Monte-Carlo step, in units of σ


def sure(x: np.ndarray, y: np.ndarray, sigma: np.ndarray, divergence: np.ndarray) -> np.ndarray:
    """SURE of each row of the estimate y of x (k, n) at noise levels sigma (k,): (k,)."""
    return np.sum((y - x) ** 2, axis=-1) - x.shape[-1] * sigma**2 + 2 * sigma**2 * divergence


def divergence(c: Candidate, x: np.ndarray, y: np.ndarray, sigma: np.ndarray, b: np.ndarray) -> np.ndarray:
    """div c at each row of x (k, n), y = c(x) already computed: exact for a linear candidate,
    else one Monte-Carlo probe b (k, n) (the same b for every candidate, so that their scores
    differ by what they do, not by the draw). Rows with σ = 0 get n (nothing to estimate)."""
    n = x.shape[-1]
    if c.trace is not None:
        return np.full(len(x), c.trace(n))
    eps = (EPSILON * np.where(sigma > 0, sigma, 0.0))[:, None]  # a silent row is not probed (pooled candidates)
    with np.errstate(invalid="ignore", divide="ignore"):
        div = np.sum(b * (c.apply(x + eps * b, sigma) - y), axis=-1) / eps[:, 0]
    return np.where(sigma > 0, div, float(n))
