"""Each variant's penalty against a hand-computed value, autograd, or a Monte-Carlo estimate."""

import math

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose

from sigdenoise.models import activations
from sigdenoise.models.activations import ACTIVATIONS, apply
from sigdenoise.train import penalties


def test_l1_by_hand():
    code = torch.tensor([[[1.0, -2.0], [0.5, 0.0]]])  # (M=1, B=2, k=2)
    assert_allclose(penalties.l1_code(code).numpy(), [(3.0 + 0.5) / 2])


def test_kl_sparsity_by_hand():
    z = torch.zeros(1, 4, 3)  # sigmoid(0) = 0.5 for every unit
    want = 3 * (0.05 * math.log(0.05 / 0.5) + 0.95 * math.log(0.95 / 0.5))
    assert_allclose(penalties.kl_sparsity(z, 0.05).numpy(), [want], rtol=1e-6)
    # Zero when every unit's mean activation is rho.
    z = torch.full((1, 4, 3), math.log(0.05 / 0.95))
    assert_allclose(penalties.kl_sparsity(z, 0.05).numpy(), [0.0], atol=1e-6)


def test_vae_kl_closed_form_and_monte_carlo():
    torch.manual_seed(0)
    mu = torch.tensor([[[0.3, -1.2]]], dtype=torch.float64)
    logvar = torch.tensor([[[-0.5, 0.4]]], dtype=torch.float64)
    got = penalties.vae_kl(mu, logvar).item()
    var = logvar.exp()
    by_hand = 0.5 * float((mu**2 + var - logvar - 1).sum())
    assert_allclose(got, by_hand, rtol=1e-12)
    # Monte-Carlo: E_q[log q(z) - log p(z)] with 400k samples (standard error ~2e-3).
    q = torch.distributions.Normal(mu[0, 0], (0.5 * logvar[0, 0]).exp())
    p = torch.distributions.Normal(torch.zeros(2, dtype=torch.float64), torch.ones(2, dtype=torch.float64))
    z = q.sample((400_000,))
    mc = float((q.log_prob(z) - p.log_prob(z)).sum(-1).mean())
    assert abs(mc - got) < 0.01


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_derivative_matches_autograd(name):
    z = torch.linspace(-3, 3, 41, dtype=torch.float64).reshape(1, 1, -1) + 0.013  # avoid the kink at 0
    slope = torch.tensor(0.3, dtype=torch.float64)
    z.requires_grad_(True)
    y = apply(name, z, slope)
    (grad,) = torch.autograd.grad(y.sum(), z)
    assert_allclose(activations.derivative(name, z.detach(), slope).numpy(), grad.numpy(), rtol=1e-10, atol=1e-12)


def test_jacobian_frobenius_matches_autograd():
    torch.manual_seed(1)
    dt = torch.float64
    sizes = [6, 4, 3, 2]
    ws = [torch.randn(2, a, b, dtype=dt) for a, b in zip(sizes[:-1], sizes[1:])]  # M = 2 members
    x = torch.randn(2, 5, 6, dtype=dt)  # (M, B, d)
    acts = ["tanh", "sigmoid", "gelu"]

    def encode(xm, m):
        h = xm
        for w, a in zip(ws, acts):
            h = apply(a, h @ w[m])
        return h

    derivs, h = [], x
    for w, a in zip(ws, acts):
        pre = torch.matmul(h, w)
        derivs.append(activations.derivative(a, pre))
        h = apply(a, pre)
    got = penalties.jacobian_frobenius(ws, derivs).numpy()
    want = []
    for m in range(2):
        total = 0.0
        for b in range(5):
            jac = torch.autograd.functional.jacobian(lambda v: encode(v, m), x[m, b])
            total += float(jac.pow(2).sum())
        want.append(total / 5)
    assert_allclose(got, np.array(want), rtol=1e-10)
