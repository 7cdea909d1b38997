"""Denoising-autoencoder training: the corruptions, the scaled pairs, and that noise 0 without
scaling is exactly the study's loop."""

import numpy as np
import torch
from numpy.testing import assert_allclose

from sigdenoise.models.autoencoder import Autoencoder
from sigdenoise.recordings import windows
from sigdenoise.train import front
from sigdenoise.train.common import cpu_threads
from sigdenoise.train.members import Member
from sigdenoise.train.reference import UNIT_SCALE, corrupt, scale_pair, train_lone


def test_the_front_doors_lone_training_is_the_reference_loop_on_one_thread():
    """A lone model through the front door (sigdenoise train, denoise's self-fit) is train_lone
    exactly, run on one thread; a noise level draws from the model's own stream."""
    x = torch.tensor(np.random.default_rng(0).standard_normal((700, 100)), dtype=torch.float32)
    for noise in (0.0, 0.3):
        recipe = front.Recipe(2, noise=noise, engine="reference")
        trained = front.train([Member(5, "gelu", 3)], {3: x}, recipe)
        (a,) = trained.models.values()
        b = Autoencoder("gelu", 5, 3)
        with cpu_threads(1, torch.device("cpu")):
            log_b = train_lone(b, x, 2, noise=noise)
        for p, q in zip(a.parameters(), b.parameters()):
            assert torch.equal(p, q)
        assert_allclose(trained.log.losses, log_b.losses, rtol=1e-12)


def test_corruptions_have_their_rates():
    g = torch.Generator().manual_seed(0)
    x = torch.linspace(1, 2, 100).repeat(2000, 1)  # (2000, 100), min 1, max 2, never 0
    gauss = corrupt(x, "gaussian", 0.5, g) - x
    assert abs(gauss.std().item() - 0.5) < 0.005 and abs(gauss.mean().item()) < 0.005
    assert abs((corrupt(x, "masking", 0.3, g) == 0).float().mean().item() - 0.3) < 0.005
    sp = corrupt(x, "salt-pepper", 0.2, g)
    changed = sp != x
    assert abs(changed.float().mean().item() - 0.2) < 0.005
    assert set(sp[changed].unique().tolist()) <= {1.0, 2.0}
    levels = (corrupt(x, "gaussian", (0.0, 1.0), g) - x).std(dim=1)  # per-window level ~ U(0, 1)
    assert abs(levels.mean().item() - 0.5) < 0.03 and levels.min() < 0.05 and levels.max() > 0.95


def test_scale_pair_is_the_denoise_time_map():
    rng = np.random.default_rng(1)
    clean = rng.standard_normal((50, 100)) * 3 + 10
    noisy = clean + rng.standard_normal(clean.shape)
    zin, zt = scale_pair(torch.tensor(noisy), torch.tensor(clean), UNIT_SCALE)
    ref, back = windows.to_model(noisy, UNIT_SCALE)
    assert_allclose(zin.numpy(), ref, rtol=1e-12)
    assert_allclose(zin.numpy().min(axis=1), -1, rtol=1e-12)
    assert_allclose(zin.numpy().max(axis=1), 1, rtol=1e-12)
    # the target goes through the noisy window's map, so mapping back gives the clean window
    c = (noisy.max(1, keepdims=True) + noisy.min(1, keepdims=True)) / 2
    assert_allclose(c + zt.numpy() * back, clean, rtol=1e-12)


def test_denoising_training_beats_clean_training_on_noisy_input():
    rng = np.random.default_rng(2)
    t = np.arange(100) * 0.1
    clean = np.sin(np.outer(rng.uniform(0.5, 2.0, 3000), t))
    x = torch.tensor(clean, dtype=torch.float32)
    dae, plain = Autoencoder("tanh", 5, 0), Autoencoder("tanh", 5, 0)
    train_lone(dae, x, 40, noise=0.5, lr=3e-3)
    train_lone(plain, x, 40, lr=3e-3)
    test = clean[:500] + 0.5 * rng.standard_normal((500, 100))
    err = {name: np.mean((m.denoise(test) - clean[:500]) ** 2) for name, m in [("dae", dae), ("plain", plain)]}
    assert err["dae"] < 0.55 * err["plain"], err  # measured 0.0033 vs 0.0083
