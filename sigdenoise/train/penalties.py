"""Regularisers of the autoencoder variants (issue 6), on stacked tensors.

Every function takes tensors with a leading member axis, (M, B, ...), and returns one value per
member, (M,), so that a stacked ensemble adds to each member's loss its own penalty only.
"""

from __future__ import annotations

import torch

EPS = 1e-6


def l1_code(code: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of sum_j |h_j| (sparse AE, L1 form). code (M, B, k) -> (M,)."""
    return code.abs().sum(-1).mean(-1)


def kl_sparsity(pre_code: torch.Tensor, rho: float = 0.05) -> torch.Tensor:
    """sum_j KL(rho || rho_hat_j), rho_hat_j = mean over the batch of sigmoid(z_j) (Ng's sparse AE).

    z is the code layer's pre-activation, so for sigmoid codes this is the textbook penalty and for
    other activations it measures how often each unit is "on" through the same squashing.
    pre_code (M, B, k) -> (M,).
    """
    rho_hat = torch.sigmoid(pre_code).mean(-2).clamp(EPS, 1 - EPS)  # (M, k)
    return (rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))).sum(-1)


def vae_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag exp(logvar)) || N(0, I)) in closed form, mean over the batch (Kingma & Welling
    2014, appendix B): 0.5 sum_j (mu^2 + sigma^2 - log sigma^2 - 1). (M, B, k) each -> (M,)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum(-1).mean(-1)


def jacobian_frobenius(weights: list[torch.Tensor], derivatives: list[torch.Tensor]) -> torch.Tensor:
    """Squared Frobenius norm of the encoder's Jacobian d code / d x, mean over the batch
    (contractive AE, Rifai et al. 2011), for a deep encoder code = a_L(W_L ... a_1(W_1 x)).

    weights[l]: (M, d_l, d_{l+1}) as stored in the stack (h @ W); derivatives[l]: (M, B, d_{l+1}),
    the activation's derivative at layer l's pre-activation. J = D_L W_L^T ... D_1 W_1^T is built
    layer by layer as (M, B, d_{l+1}, d_in). Returns (M,).
    """
    jac = None
    for w, d in zip(weights, derivatives):
        wt = w.transpose(-1, -2)  # (M, d_{l+1}, d_l)
        step = wt.unsqueeze(1) if jac is None else torch.matmul(wt.unsqueeze(1), jac)  # (M, B|1, d_{l+1}, d_in)
        jac = d.unsqueeze(-1) * step  # rows scaled by the activation's derivative
    return jac.pow(2).sum((-1, -2)).mean(-1)
