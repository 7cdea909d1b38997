"""The SVD (PCA-without-centering) projector and the identity denoiser.

Both share the denoiser interface with the autoencoders: ``fit(clean) -> self`` and
``denoise(x) -> x_hat`` on arrays of shape (n_signals, n_samples), and are scikit-learn
transformers (``transform`` is ``denoise``): ``clone``, ``Pipeline`` and ``check_estimator`` work.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data


class Identity(TransformerMixin, BaseEstimator):
    """The `noisy` row: returns its input, the reference every other row is measured against."""

    name = "noisy"

    def fit(self, X: np.ndarray, y=None) -> "Identity":
        validate_data(self, X, dtype=np.float64)
        return self

    def denoise(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x, dtype=float).copy()

    def transform(self, X: np.ndarray) -> np.ndarray:
        check_is_fitted(self)
        return validate_data(self, X, dtype=np.float64, reset=False, copy=True)


class SVDProjector(TransformerMixin, BaseEstimator):
    """x_hat = U_k U_k^T x, with X = U S V^T the clean training matrix, one signal per column.

    In our (n_signals, n_samples) layout the training matrix is X^T, so U_k are the top-k right
    singular vectors of the data array: basis_ is (n_samples, k).
    """

    name = "svd"

    def __init__(self, rank: int = 5):
        self.rank = rank

    def fit(self, X: np.ndarray, y=None) -> "SVDProjector":
        """X (n_signals, n_samples): the clean training signals."""
        clean = validate_data(self, X, dtype=np.float64)
        if not (isinstance(self.rank, (int, np.integer)) and self.rank >= 1):
            raise ValueError(f"rank must be a positive integer, got {self.rank!r}")
        # Thin SVD of the (n_signals, n_samples) array: data = W S U^T, U = vt.T.
        _, s, vt = np.linalg.svd(clean, full_matrices=False)
        self.singular_values_ = s
        self.basis_ = vt[: self.rank].T  # (n_samples, k)
        return self

    def denoise(self, x: np.ndarray) -> np.ndarray:
        b = self.basis_
        return (np.asarray(x, dtype=float) @ b) @ b.T

    def transform(self, X: np.ndarray) -> np.ndarray:
        check_is_fitted(self)
        return self.denoise(validate_data(self, X, dtype=np.float64, reset=False))


def gavish_donoho_threshold(s: np.ndarray, shape: tuple[int, int]) -> float:
    """ω(β)·median(s), the optimal hard threshold of singular values s for unknown noise level
    (Gavish & Donoho 2014, eq. (4) approximation), β = the aspect ratio of `shape` (<= 1)."""
    beta = min(shape) / max(shape)
    omega = 0.56 * beta**3 - 0.95 * beta**2 + 1.82 * beta + 1.43
    return float(omega * np.median(s))


def gavish_donoho_rank(s: np.ndarray, shape: tuple[int, int]) -> int:
    """The number of singular values above the Gavish–Donoho threshold; at least 1."""
    return max(1, int(np.sum(s > gavish_donoho_threshold(s, shape))))
