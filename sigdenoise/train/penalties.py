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
    from the code's side, (M, B, k, d_l) at each layer: k rows (the code's few units) rather than
    d_{l+1}, five times fewer products and a tenth of the memory of starting at the input. Returns (M,).
    """
    w, d = weights[-1], derivatives[-1]
    M, B, k = d.shape
    jac = d.unsqueeze(-1) * w.transpose(-1, -2).unsqueeze(1)  # (M, B, k, d_L)
    for w, d in zip(reversed(weights[:-1]), reversed(derivatives[:-1])):
        rows = (jac * d.unsqueeze(-2)).reshape(M, B * k, -1)  # J's columns scaled by the derivative
        jac = torch.bmm(rows, w.transpose(-1, -2)).view(M, B, k, -1)  # (M, B, k, d_l)
    return jac.pow(2).sum((-1, -2)).mean(-1)
