"""The identity-activation autoencoder reaches the rank-k optimum that the SVD gives.

With biases, a linear AE is an affine rank-k map, whose least-squares optimum is known in closed
form: the centred rank-k PCA error, sum of the discarded squared singular values of the centred
data (Eckart-Young; Baldi & Hornik 1989). The uncentred SVD projector's error can only be larger.
"""

import numpy as np
import torch

from sigdenoise.models.svd import SVDProjector
from sigdenoise.synthetic import generate
from sigdenoise.train.members import Member
from sigdenoise.train.stack import Ensemble
from sigdenoise.train.stacked import train_ensemble


def optimum(x: np.ndarray, k: int) -> float:
    s = np.linalg.svd(x - x.mean(axis=0), compute_uv=False)
    return float(np.sum(s[k:] ** 2) / x.size)


def test_linear_ae_reaches_rank_k_optimum():
    x = generate(256, np.random.default_rng(0))[0]
    ens = Ensemble.build([Member(1, "identity", 0), Member(5, "identity", 0)]).double()
    train_ensemble(ens, {0: torch.tensor(x)}, epochs=100, batch_size=64, lr=3e-3)
    for model in ens.to_models():
        k = model.latent
        err = float(np.mean((model.denoise(x) - x) ** 2))
        best = optimum(x, k)
        svd_err = float(np.mean((SVDProjector(k).fit(x).denoise(x) - x) ** 2))
        assert best <= svd_err  # centring can only help
        assert err >= best * (1 - 1e-9), "no rank-k affine map beats the optimum"
        assert err <= best * 1.01, f"latent {k}: AE {err:.5f} vs optimum {best:.5f}"
        # And the AE is within 1 % of the SVD projector it is said to learn.
        assert abs(err / svd_err - 1) < 0.01
