"""Comparing subspaces: principal angles, and the subspace a linear autoencoder's decoder spans.

A linear (identity-activation) autoencoder trained to reconstruct its input learns the span of
the top singular vectors (the SVD projector's basis_), though not the vectors themselves; the
principal angles between the two column spaces measure how far it got.
"""

from __future__ import annotations

import numpy as np


def _orthonormal_basis(a: np.ndarray, name: str) -> np.ndarray:
    """Q (n, k) of the thin QR of a (n, k); a must have full column rank."""
    a = np.asarray(a, dtype=float)
    if a.ndim != 2 or a.shape[1] == 0 or a.shape[1] > a.shape[0]:
        raise ValueError(f"{name} must be (n, k) with 1 <= k <= n, got shape {a.shape}")
    q, r = np.linalg.qr(a)
    d = np.abs(np.diag(r))
    if d.min() <= a.shape[0] * np.finfo(float).eps * d.max():
        raise ValueError(f"{name} is rank deficient; pass a basis of its column space (scipy.linalg.orth)")
    return q


def principal_angles(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Principal angles in radians between the column spaces of a (n, k) and b (n, m), ascending.

    Returns min(k, m) angles. Cosines are the singular values of Q_a^T Q_b (Bjorck & Golub 1973);
    arccos loses accuracy near 0 (an angle of 1e-8 has cosine 1 - 5e-17, which rounds to 1), so
    angles whose cosine^2 >= 1/2 (angle <= pi/4) come instead from the sines, the singular values
    of Q_b - Q_a (Q_a^T Q_b) (taking the space with fewer columns as b), as in Knyazev & Argentati
    2002 and scipy.linalg.subspace_angles (which returns them in descending order). Each angle is
    paired with its own cosine: scipy 1.17 applies the switch in the wrong order when small and
    large angles mix, and returns (1.2, 0.0) for angles (1e-9, 1.2) where this gives (1e-9, 1.2).
    Both inputs must have full column rank.
    """
    qa, qb = _orthonormal_basis(a, "a"), _orthonormal_basis(b, "b")
    if qa.shape[1] < qb.shape[1]:
        qa, qb = qb, qa  # angles are symmetric; keep b the smaller space
    cross = qa.T @ qb  # (k, m), k >= m
    cos = np.linalg.svd(cross, compute_uv=False)  # (m,) descending -> angles ascending
    sin = np.linalg.svd(qb - qa @ cross, compute_uv=False)[::-1]  # (m,) ascending -> angles ascending
    from_cos = np.arccos(np.clip(cos, -1.0, 1.0))
    from_sin = np.arcsin(np.clip(sin, -1.0, 1.0))
    return np.where(cos**2 >= 0.5, from_sin, from_cos)


def linear_decoder_basis(model) -> np.ndarray:
    """Columns spanning the output directions of an identity-activation Autoencoder's decoder.

    model.layers is an nn.ModuleList of nn.Linear; the decoder is the last len(layers) // 2 of
    them. With the identity activation the decoder is affine, z -> W_L ... W_1 z + c, so its
    outputs minus the constant c lie in the column space of the weight product (biases only move
    c). Returns W_L ... W_1 as float64, (n_samples, latent), e.g. (100, 5).
    """
    activation = getattr(model, "activation", "identity")
    if activation != "identity":
        raise ValueError(f"the decoder is linear only with the identity activation, got {activation!r}")
    layers = list(model.layers)
    decoder = layers[len(layers) - len(layers) // 2 :]
    basis = None
    for layer in decoder:
        w = layer.weight.detach().cpu().double().numpy()  # (out, in)
        basis = w if basis is None else w @ basis
    return basis
