"""The autoencoder variants: corruptions, the cross-entropy scaling, stacked training equal to lone
training, and the denoising AE beating the plain one at high noise."""

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose

from sigdenoise import synthetic
from sigdenoise.errors import SettingsError
from sigdenoise.evaluate import scoring
from sigdenoise.models.autoencoder import Autoencoder
from sigdenoise.study.settings import GridSettings
from sigdenoise.train.members import Member
from sigdenoise.train.objectives import VariantSettings, corrupt, from_unit, reconstruction_loss, to_unit
from sigdenoise.train.reference import train_lone
from sigdenoise.train.vmapped import train_vmapped


def test_masking_rate_and_values():
    x = torch.ones(3, 200, 100)
    level = torch.tensor([0.0, 0.25, 0.5]).view(-1, 1, 1)
    y = corrupt(x, "masking", level, torch.Generator().manual_seed(0))
    zero_rate = (y == 0).float().mean((1, 2))
    assert_allclose(zero_rate.numpy(), [0.0, 0.25, 0.5], atol=0.01)
    assert set(torch.unique(y).tolist()) <= {0.0, 1.0}


def test_salt_pepper_rate_and_values():
    x = torch.sin(torch.linspace(0, 9.9, 100)).expand(1, 400, 100).clone() * torch.linspace(0.5, 2, 400).view(1, -1, 1)
    y = corrupt(x, "salt-pepper", torch.tensor(0.2).view(1, 1, 1), torch.Generator().manual_seed(1))
    changed = y != x
    lo, hi = x.amin(-1, keepdim=True), x.amax(-1, keepdim=True)
    assert abs(changed.float().mean().item() - 0.2) < 0.01
    assert bool(((y == lo) | (y == hi) | ~changed).all())
    assert abs(((y == lo) & changed).float().mean().item() - 0.1) < 0.01


def test_gaussian_corruption_level_per_member():
    x = torch.zeros(2, 500, 100)
    y = corrupt(x, "gaussian", torch.tensor([0.1, 1.0]).view(-1, 1, 1), torch.Generator().manual_seed(2))
    assert_allclose(y.std((1, 2)).numpy(), [0.1, 1.0], rtol=0.02)


def test_bce_scaling_round_trip_and_loss_by_hand():
    x = torch.tensor([-1.5, 0.0, 1.5])
    assert_allclose(to_unit(x).numpy(), [0.0, 0.5, 1.0])
    assert_allclose(from_unit(to_unit(x)).numpy(), x.numpy())
    # Logit 0 against target 0.5: BCE = log 2.
    got = reconstruction_loss(torch.zeros(1, 1, 1), torch.zeros(1, 1, 1), "bce")
    assert_allclose(got.numpy(), [np.log(2)], rtol=1e-6)
    model = Autoencoder("tanh", 5, output="sigmoid")
    with torch.no_grad():
        out = model(torch.randn(4, 100) * 3)
    assert float(out.min()) >= -1.5 and float(out.max()) <= 1.5  # the sigmoid's range, mapped back


def test_a_penalty_changes_its_members_training_alone():
    """Plain members train as alone (every engine: test_training's parametrized test); a sparse
    member beside them trains differently from the plain tanh it would otherwise be."""
    torch.set_default_dtype(torch.float64)
    try:
        x = torch.tensor(synthetic.training_set(0, 200, 2.25))
        members = [Member(5, "prelu", 0), Member(1, "gelu", 0), Member(5, "tanh", 0, "sparse")]
        _, log = train_vmapped(members, {0: x}, 2, VariantSettings(), batch_size=64)
        for i, m in enumerate(members[:2]):
            lone = train_lone(Autoencoder(m.activation, m.latent, m.seed), x, 2, batch_size=64)
            assert_allclose(log.losses[:, i], lone.losses[:, 0], rtol=1e-12)
        plain = train_lone(Autoencoder("tanh", 5, 0), x, 2, batch_size=64).losses[:, 0]
        assert abs(log.losses[-1, 2] - plain[-1]) > 1e-9
    finally:
        torch.set_default_dtype(torch.float32)


def test_each_variant_trains_and_reconstructs():
    x = torch.tensor(synthetic.training_set(1, 256, 2.25), dtype=torch.float32)
    vs = VariantSettings(train_noise_kind="masking")
    members = [Member(5, "tanh", 1, v, 0.25 if v == "denoising" else 0.0) for v in
               ("denoising", "sparse", "contractive", "vae")] + [Member(5, "tanh", 1, "plain", 0.0, None, "bce")]  # fmt: skip
    models, log = train_vmapped(members, {1: x}, 3, vs, batch_size=64)
    assert log.losses.shape == (3, 5) and np.all(np.isfinite(log.losses))
    assert np.all(log.losses[-1, :4] < log.losses[0, :4])  # every reconstruction loss falls
    for m in models:
        assert m.denoise(x[:3].numpy()).shape == (3, 100)


def test_denoising_ae_beats_plain_at_high_noise():
    x = torch.tensor(synthetic.training_set(0, 1_000, 2.25), dtype=torch.float32)
    members = [Member(5, "tanh", 0), Member(5, "tanh", 0, "denoising", 1.0)]
    models, _ = train_vmapped(members, {0: x}, 20, VariantSettings(), batch_size=64, lr=3e-3)
    sets = scoring.eval_sets(0, 300, 2.25)
    test = {m.variant: scoring.evaluate(model, sets, 1.0)[0][1]["mse"] for m, model in zip(members, models)}
    assert test["denoising"] < 0.95 * test["plain"], test


def test_variant_options_are_validated():
    with pytest.raises(SettingsError, match="--variant"):
        GridSettings(variants=("dropout",))
    with pytest.raises(SettingsError, match="--rho"):
        GridSettings(rho=1.5)
    with pytest.raises(SettingsError, match="--train-noise-kind"):
        GridSettings(train_noise_kind="poisson")


def test_compiled_variant_step_equals_the_eager_one_in_float64():
    """The compiled fused step (inductor's loops around the matmuls; the default of a long
    training) trains as autograd's eager step does: a VAE member (its reparameterised code and KL
    inside the compiled code), a latent-1 prelu contractive one (the 5-1-5 middle, the Jacobian's
    gradient, slopes) and a cross-entropy sigmoid one with L1 sparsity: in float64 losses and
    weights agree to 1e-10 after 2 epochs, and differ from a plain member's. (Three members, in
    two workers: each compile costs 10-40 s on a core.)"""
    torch.set_default_dtype(torch.float64)
    try:
        x = torch.tensor(synthetic.training_set(0, 256, 2.25))
        members = [Member(5, "gelu", 0, "vae"), Member(1, "prelu", 0, "contractive"),
                   Member(5, "sigmoid", 0, "sparse", 0.0, None, "bce")]  # fmt: skip
        vs = VariantSettings(contractive_weight=0.3, sparse_kind="l1", sparse_weight=0.1)
        runs = {c: train_vmapped(members, {0: x}, 2, vs, batch_size=64, compile=c) for c in (False, True)}
        (eager, log_e), (comp, log_c) = runs[False], runs[True]
        assert_allclose(log_c.losses, log_e.losses, rtol=1e-10)
        for a, b in zip(eager, comp):
            for (name, p), q in zip(a.state_dict().items(), b.state_dict().values()):
                assert_allclose(q.numpy(), p.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)
        plain = train_lone(Autoencoder("gelu", 5, 0), x, 2, batch_size=64).losses[:, 0]
        assert abs(log_c.losses[-1, 0] - plain[-1]) > 1e-6
    finally:
        torch.set_default_dtype(torch.float32)


@pytest.mark.parametrize("vs", [VariantSettings(),
                                VariantSettings(sparse_kind="l1", train_noise_kind="masking", sparse_weight=0.1, beta=0.5,
                                                contractive_weight=0.3),
                                VariantSettings(train_noise_kind="salt-pepper", sparse_weight=0.5, rho=0.3)])  # fmt: skip
def test_fused_variant_step_trains_as_autograd_in_float64(vs):
    """The fused engine's hand-written variant step (train/variant_step.py: corrupted input,
    BCE on logits, the sparsity penalties at the code, the VAE's reparameterised code and KL, the
    contractive penalty's Jacobian)
    trains every member as autograd's gradient of the lone loss does: in float64, losses to
    1e-13 and weights to 1e-11 after 2 epochs, for both latents, each kernel family and wider
    bodies. A bce
    member trains by its own loss, not the run's `loss` setting."""
    torch.set_default_dtype(torch.float64)
    try:
        x = torch.tensor(synthetic.training_set(0, 160, 2.25))
        kernels = (("prelu", 1), ("gelu", 5), ("tanh", 1), ("relu", 5), ("sigmoid", 5))
        members = [Member(latent, act, 0, v, level, None, loss) for act, latent in kernels
                   for v, level, loss in (("denoising", 0.5, "mse"), ("sparse", 0, "mse"), ("vae", 0, "mse"),
                                          ("plain", 0, "bce"), ("sparse", 0, "bce"), ("denoising", 0.3, "bce"))]  # fmt: skip
        # The contractive penalty (its gradient through each activation's second derivative), on
        # every activation; wider bodies (100-W-W/2-W/4-latent, no 5-1-5 middle at latent 1).
        members += [Member(latent, act, 0, "contractive") for act, latent in kernels + (("identity", 5), ("leakyrelu", 1))]
        members += [Member(5, "gelu", 0, "denoising", 0.5, 32), Member(1, "prelu", 0, "vae", 0, 16),
                    Member(1, "tanh", 0, "contractive", 0, 16, "bce")]  # fmt: skip
        ref, log_ref = train_vmapped(members, {0: x}, 2, vs, batch_size=64, compile=False, fused=False)
        got, log_got = train_vmapped(members, {0: x}, 2, vs, batch_size=64, compile=False, fused=True)
        assert_allclose(log_got.losses, log_ref.losses, rtol=1e-13)
        for m, a, b in zip(members, ref, got):
            for (name, p), q in zip(a.state_dict().items(), b.state_dict().values()):
                assert_allclose(q.numpy(), p.numpy(), rtol=1e-11, atol=1e-13, err_msg=f"{m.name} {name}")
        bce = [i for i, m in enumerate(members) if m.variant == "plain"]
        _, log_bce = train_vmapped([members[i] for i in bce], {0: x}, 1, VariantSettings(loss="bce"), batch_size=64, compile=False, fused=False)
        assert_allclose(log_ref.losses[0, bce], log_bce.losses[0], rtol=1e-14)  # BCE, whatever vs.loss says
    finally:
        torch.set_default_dtype(torch.float32)


@pytest.mark.parametrize("fused", [True, False])
def test_variants_in_forked_workers_equal_one_process_to_the_bit(fused):
    """Dealing the variant groups to forked processes (one core each) changes no member's float32
    bits: each group is its own step (the fused engine's, or autograd's) with its own noise stream."""
    x = torch.tensor(synthetic.training_set(2, 300, 2.25), dtype=torch.float32)
    members = [Member(5, "gelu", 2, "denoising", 1.0), Member(1, "prelu", 2, "sparse"), Member(5, "tanh", 2, "vae"),
               Member(5, "relu", 2, "plain", 0.0, None, "bce"), Member(5, "sigmoid", 2, "contractive")]  # fmt: skip
    runs = [train_vmapped(members, {2: x}, 2, VariantSettings(), batch_size=64, compile=False, fused=fused, workers=w)
            for w in (1, 2)]  # fmt: skip
    (one, log_one), (two, log_two) = runs
    assert np.array_equal(log_one.losses, log_two.losses)
    for a, b in zip(one, two):
        for p, q in zip(a.state_dict().values(), b.state_dict().values()):
            assert torch.equal(p, q)
    assert np.all(np.isfinite(log_one.losses)) and log_one.losses.shape == (2, 5)


def test_wide_denoisers_on_fresh_data_in_forked_workers_equal_one_process_to_the_bit():
    """The wide denoiser's fresh signals each epoch (a function of seed and epoch) are drawn in
    each worker, so forked training is one process's to the bit, epoch by epoch."""
    x = torch.tensor(synthetic.training_set(3, 256, 2.25), dtype=torch.float32)

    def fresh(seed, epoch):
        return torch.tensor(synthetic.training_set(100 * seed + epoch, 256, 2.25), dtype=torch.float32)

    members = [Member(5, "gelu", 3, "denoising", level, 16) for level in (0.1, 1.0)]
    runs = [train_vmapped(members, {3: x}, 3, VariantSettings(), batch_size=64, fresh=fresh, workers=w) for w in (1, 2)]
    (one, log_one), (two, log_two) = runs
    assert np.array_equal(log_one.losses, log_two.losses) and np.all(np.isfinite(log_one.losses))
    for a, b in zip(one, two):
        for p, q in zip(a.state_dict().values(), b.state_dict().values()):
            assert torch.equal(p, q)
    stale, _ = train_vmapped(members, {3: x}, 3, VariantSettings(), batch_size=64, workers=1)  # the data itself each epoch
    assert not torch.equal(stale[0].layers[0].weight, one[0].layers[0].weight)
