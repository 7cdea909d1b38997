"""The stacked trainer against the plain one-model loop: each member must train exactly as it would
alone (same initial weights, same batches, same Adam), whatever shares its ensemble."""

import time
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from numpy.testing import assert_allclose

from sigdenoise.models.activations import ACTIVATIONS, apply
from sigdenoise.models.autoencoder import Autoencoder
from sigdenoise.train import front
from sigdenoise.train.adam import FlatAdam
from sigdenoise.train.fused import Fused
from sigdenoise.train.kernels import KERNEL_ORDER, emit_activation, kernel_groups
from sigdenoise.train.members import Member
from sigdenoise.train.objectives import VariantSettings
from sigdenoise.train.reference import train_lone
from sigdenoise.train.stack import Ensemble
from sigdenoise.train.stacked import COMPILE_MIN_STEPS, train_ensemble, worth_compiling
from sigdenoise.train.tape import run
from sigdenoise.train.vmapped import train_vmapped

MIXED = ("identity", "relu", "sigmoid", "tanh", "leakyrelu", "prelu", "gelu")


@pytest.fixture(autouse=True)
def float64():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def data(seeds, n=200, d=100):
    g = torch.Generator().manual_seed(12345)
    return {s: torch.randn(n, d, generator=g) for s in seeds}


def _train_by(engine: str, members: list, x: dict, workers: int, epochs: int, batch_size: int, lr: float):
    """Train members with one engine; returns {member: trained model} and the log's columns by member."""
    if engine in ("stacked", "compiled"):
        ens = Ensemble.build(members)
        with warnings.catch_warnings():
            # A compile failure falls back with a warning: fail instead.
            warnings.filterwarnings("error", message="torch.compile of the training step failed")
            log = train_ensemble(ens, x, epochs=epochs, batch_size=batch_size, lr=lr, workers=workers,
                                 compile=engine == "compiled")  # fmt: skip
        return dict(zip(ens.members, ens.to_models())), dict(zip(ens.members, log.losses.T))
    if engine == "vmapped":
        models, log = train_vmapped(members, x, epochs, VariantSettings(), batch_size=batch_size, lr=lr)
        return dict(zip(members, models)), dict(zip(members, log.losses.T))
    trained = front.train(members, x, front.Recipe(epochs, batch_size, lr, engine="reference"))
    return trained.models, dict(zip(trained.models, trained.log.losses.T))


@pytest.mark.parametrize(
    "engine, acts, latents, seeds, workers",
    [
        ("stacked", MIXED, (1, 5), (0, 1), 1),  # the full mix, two seeds: per-member inputs
        ("stacked", MIXED, (1, 5), (3,), 2),  # one seed: the shared first-layer matmul, two workers
        ("stacked", ("prelu", "gelu", "relu"), (1,), (0, 2), 3),  # latent 1 only, odd split
        ("stacked", ("prelu", "tanh"), (5,), (1,), 1),  # latent 5 only
        # torch.compile's form of the step (train/compiled.py) for full batches, the tape for the
        # short last one (200 = 3 x 64 + 8)
        ("compiled", MIXED, (1, 5), (3,), 1),  # one seed: the shared first layer; latent 1's middle on a subset
        ("compiled", ("prelu", "gelu"), (1, 5), (0, 1), 1),  # two seeds: per-member inputs
        ("compiled", ("relu", "prelu", "gelu"), (1, 5), (2,), 2),  # compiled in forked parts, one latent each
        ("vmapped", ("prelu", "gelu", "tanh"), (1, 5), (0,), 1),  # the variants' engine, plain members
        ("reference", ("gelu", "prelu"), (5,), (3,), 1),  # the front door's reference loop
    ],
)
def test_each_engine_trains_each_member_as_the_reference_loop_alone_in_float64(engine, acts, latents, seeds, workers, capfd):
    members = [Member(k, a, s) for k in latents for a in acts for s in seeds]
    x = data(seeds)
    trained, losses = _train_by(engine, members, x, workers, epochs=3, batch_size=64, lr=1e-2)
    assert sorted(trained) == sorted(members) and all(len(v) == 3 for v in losses.values())
    assert "torch.compile of the training step failed" not in capfd.readouterr().err  # forked parts warn there
    for m in members:
        lone = Autoencoder(m.activation, m.latent, m.seed)
        ref = train_lone(lone, x[m.seed], epochs=3, batch_size=64, lr=1e-2)
        assert_allclose(losses[m], ref.losses[:, 0], rtol=1e-12, err_msg=m.name)
        for p, q in zip(trained[m].parameters(), lone.parameters()):
            assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-10, atol=1e-12, err_msg=m.name)
    # The learned prelu slopes did move (so the test exercises their gradient).
    for m, model in trained.items():
        if m.activation == "prelu":
            assert not torch.allclose(model.slopes, torch.full_like(model.slopes, 0.25))


def test_two_compiled_ensembles_of_the_same_shapes_keep_their_own_steps():
    """dynamo caches graphs per code object and Fused.compile keeps only tensor guards: a second
    ensemble with the same shapes but another activation must not run the first one's graph."""
    x = data((0,), n=64)[0][None]

    def gradient(act, compiled):
        f = Fused(Ensemble.build([Member(5, act, 0)]), [0])
        if compiled:
            f.compile(64)
        return f.step(x).clone()

    first = gradient("relu", True)
    for act in ("tanh", "gelu"):
        assert_allclose(gradient(act, True).numpy(), gradient(act, False).numpy(), rtol=1e-10, atol=1e-13)
    assert_allclose(first.numpy(), gradient("relu", False).numpy(), rtol=1e-10, atol=1e-13)


def test_lone_members_of_one_shape_share_one_compiled_step():
    """With a shared dict (one training's), lone members with the same step call one compiled
    function (a process compiles its graph once, not once a member): relu of three seeds and
    identity (one kernel, its slope a parameter) at latent 5; prelu (learned slopes), tanh and a
    latent-1 relu each their own. Every member runs compiled (no fallback to the tape), and its
    gradient is still its own, the tape's."""
    members = [Member(5, "relu", s) for s in (0, 1, 2)] + [Member(5, "identity", 1), Member(5, "prelu", 0),
                                                           Member(5, "tanh", 0), Member(1, "relu", 2)]  # fmt: skip
    ens = Ensemble.build(members)
    x = torch.stack(list(data((0, 1, 2), n=64).values()))  # (S, B, d)
    shared: dict = {}
    compiled = {m: Fused(ens, [m.seed], [ens.members.index(m)]) for m in members}
    for f in compiled.values():
        f.compile(64, shared)
    steps = [f._compiled[64] for f in compiled.values()]
    assert all(s is steps[0] for s in steps[:4]) and len({id(s) for s in steps}) == 4 == len(shared)
    with warnings.catch_warnings(record=True) as caught:  # a failed compile warns and takes the tape
        warnings.simplefilter("always")
        for m, f in compiled.items():
            tape = Fused(ens, [m.seed], [ens.members.index(m)])
            got = f.step(x[m.seed][None]).numpy()
            assert 64 in f._compiled_ok
            assert_allclose(got, tape.step(x[m.seed][None]).numpy(), rtol=1e-10, atol=1e-13, err_msg=m.name)
    assert not [w for w in caught if "training uncompiled" in str(w.message)]


def test_workers_report_every_epoch_while_running_ahead_of_a_slow_parent():
    """Forked parts copy each epoch into one of two snapshots and wait only before reusing one the
    parent has not read: with a slow on_epoch, every epoch's weights must still be that epoch's."""
    members = [Member(k, a, 0) for k in (1, 5) for a in ("prelu", "sigmoid")]
    x = data((0,))

    def run(workers, slow):
        ens, seen = Ensemble.build(members), []

        def on_epoch(e, losses):
            time.sleep(slow)
            seen.append([p.detach().clone() for p in ens.parameters()])

        log = train_ensemble(ens, x, 5, batch_size=64, lr=1e-2, on_epoch=on_epoch, workers=workers, compile=False)
        return log, seen

    log1, seen1 = run(1, 0.0)
    log2, seen2 = run(2, 0.2)
    assert_allclose(log2.losses, log1.losses, rtol=1e-12)
    assert len(seen2) == 5
    for a, b in zip(seen1, seen2):
        for p, q in zip(a, b):
            assert_allclose(q.numpy(), p.numpy(), rtol=1e-10, atol=1e-12)


def test_a_failing_worker_stops_the_training_with_its_error(monkeypatch):
    import sigdenoise.train.fused as fused

    real, calls = fused.run_epoch, [0]

    def flaky(*args, **kw):  # counts in each forked worker separately
        calls[0] += 1
        if calls[0] == 3:
            raise ValueError("boom in epoch 3")
        return real(*args, **kw)

    monkeypatch.setattr(fused, "run_epoch", flaky)
    ens = Ensemble.build([Member(k, "tanh", 0) for k in (1, 5)])
    with pytest.raises(RuntimeError, match="boom in epoch 3"):
        train_ensemble(ens, data((0,)), 6, batch_size=64, workers=2, compile=False)


def test_a_failed_compile_falls_back_to_the_tape_with_a_warning(monkeypatch):
    def broken(fn, **kw):
        def call(*a):
            raise RuntimeError("no C++ compiler")

        return call

    members = [Member(k, a, 0) for k in (1, 5) for a in ("relu", "tanh")]
    x = data((0,))
    plain = Ensemble.build(members)
    ref = train_ensemble(plain, x, epochs=2, batch_size=64, workers=1, compile=False)
    monkeypatch.setattr(torch, "compile", broken)
    ens = Ensemble.build(members)
    with pytest.warns(UserWarning, match="no C\\+\\+ compiler"):
        log = train_ensemble(ens, x, epochs=2, batch_size=64, workers=1, compile=True)
    assert np.array_equal(log.losses, ref.losses)
    for p, q in zip(ens.parameters(), plain.parameters()):
        assert torch.equal(p, q)


def test_compiling_is_chosen_for_long_cpu_trainings_only():
    cpu = torch.device("cpu")
    assert worth_compiling(cpu, COMPILE_MIN_STEPS) and not worth_compiling(cpu, COMPILE_MIN_STEPS - 1)
    assert not worth_compiling(torch.device("meta"), 10**9)  # only CPU is measured (benchmarks/README.md)
    # The default grid, 300 epochs of 20,000 signals in batches of 256, compiles; tests' trainings do not.
    assert worth_compiling(cpu, 300 * 79) and not worth_compiling(cpu, 3 * 4)


def test_losses_follow_ensemble_members_and_on_epoch_sees_trained_weights():
    members = [Member(k, a, 0) for k in (1, 5) for a in ("gelu", "identity", "prelu")]
    ens = Ensemble.build(members)
    seen = []
    log = train_ensemble(
        ens, data((0,)), 2, batch_size=100, on_epoch=lambda e, l: seen.append((e, l.copy(), ens.to_models()))
    )
    assert [e for e, _, _ in seen] == [0, 1]
    assert_allclose(seen[-1][1], log.losses[-1])
    # The models handed to on_epoch after the last epoch are the final ones.
    for a, b in zip(seen[-1][2], ens.to_models()):
        for p, q in zip(a.parameters(), b.parameters()):
            assert torch.equal(p, q)


def test_to_models_round_trip_gives_identical_outputs():
    members = [Member(k, a, s) for k in (1, 5) for a in MIXED for s in (0, 4)]
    ens = Ensemble.build(members)
    train_ensemble(ens, data((0, 4)), 1, batch_size=128)
    x = torch.randn(7, 100, generator=torch.Generator().manual_seed(1))
    models = ens.to_models()
    again = Ensemble(models).to_models()
    for m, a, b in zip(ens.members, models, again):
        assert (a.activation, a.latent, a.seed) == (m.activation, m.latent, m.seed)
        assert torch.equal(a(x), b(x))
    # The stacked forward pass gives each member its lone model's output.
    for st in ens.stacks:
        out = st(x)  # (M, 7, 100)
        lone = st.to_models()
        for j in range(len(st)):
            assert_allclose(out[j].detach().numpy(), lone[j](x).detach().numpy(), rtol=1e-12, atol=1e-14)


def test_fused_write_back_is_an_exact_round_trip():
    two = Ensemble.build([Member(k, a, s) for k in (1, 5) for a in MIXED for s in (0, 1)])
    one = Ensemble.build([Member(k, a, 0) for k in (1, 5) for a in MIXED])
    for ens, seeds, subset in ((two, [0, 1], None), (two, [0, 1], [3, 0, 7, 20]), (one, [0], [1, 5, 9])):
        before = [p.detach().clone() for p in ens.parameters()]
        Fused(ens, seeds, subset).write_back(ens)
        for p, q in zip(ens.parameters(), before):
            assert torch.equal(p, q)


def test_member_initial_weights_do_not_depend_on_the_rest_of_the_ensemble():
    alone = Ensemble.build([Member(1, "prelu", 2)]).to_models()[0]
    crowd = Ensemble.build([Member(k, a, s) for k in (1, 5) for a in ACTIVATIONS for s in (0, 2)])
    inside = dict(zip(crowd.members, crowd.to_models()))[Member(1, "prelu", 2)]
    direct = Autoencoder("prelu", 1, 2)
    for p, q, r in zip(alone.parameters(), inside.parameters(), direct.parameters()):
        assert torch.equal(p, q) and torch.equal(p, r)


@pytest.mark.parametrize("shared_layout", [False, True])
def test_grouped_activation_kernels_match_the_registry_and_autograd(shared_layout):
    """Values equal `activations.apply` to the bit; derivatives equal autograd's."""
    acts = sorted(ACTIVATIONS, key=KERNEL_ORDER.index)
    groups, prelu = kernel_groups(acts)
    assert [k for k, _, _ in groups] == ["pwl", "sigmoid", "tanh", "gelu"] and prelu == (3, 4)
    M = len(acts)
    g = torch.Generator().manual_seed(0)
    z = torch.randn(6, M, 9, generator=g).transpose(0, 1) if shared_layout else torch.randn(M, 6, 9, generator=g)
    slope = torch.tensor([1.0, 0.0, 0.01, -0.3, 0, 0, 0]).view(-1, 1, 1)
    y, d, tape = torch.empty(M, 6, 9), torch.empty_like(z), []
    emit_activation(tape, z, y, d, torch.empty_like(z), groups, slope)
    run(tape)
    for i, a in enumerate(acts):
        zi = z[i].clone().requires_grad_(True)
        ref = apply(a, zi, torch.tensor(-0.3) if a == "prelu" else None)
        if a in ("sigmoid", "tanh", "gelu"):  # vectorised and strided loops may differ in the last bit
            assert_allclose(y[i].numpy(), ref.detach().numpy(), rtol=2e-16, atol=1e-300, err_msg=a)
        else:
            assert torch.equal(y[i], ref.detach()), a
        (grad,) = torch.autograd.grad(ref.sum(), zi)
        assert_allclose(d[i].numpy(), grad.numpy(), rtol=1e-15, atol=1e-16, err_msg=a)
    assert torch.equal(y[2], F.leaky_relu(z[2], 0.01))


def test_float32_training_runs_and_decreases_loss():
    torch.set_default_dtype(torch.float32)
    ens = Ensemble.build([Member(k, a, 0) for k in (1, 5) for a in ACTIVATIONS])
    x = {0: torch.sin(torch.linspace(0, 6, 100))[None] * torch.rand(400, 1, generator=torch.Generator().manual_seed(0))}
    log = train_ensemble(ens, x, 4, batch_size=50, lr=3e-3)
    assert log.losses.dtype == np.float64 and np.all(np.isfinite(log.losses))
    assert np.all(log.losses[-1] < log.losses[0])


@pytest.mark.parametrize("fused", [False, True])
def test_flat_adam_is_torch_adam(fused):
    """The unfused path is torch.optim.Adam's single-tensor arithmetic to the bit; aten's fused
    kernel agrees to round-off."""
    g = torch.Generator().manual_seed(3)
    p0, grads = torch.randn(50, generator=g), [torch.randn(50, generator=g) for _ in range(20)]
    ref = p0.clone().requires_grad_(True)
    opt = torch.optim.Adam([ref], lr=1e-2, foreach=False)
    p, grad = p0.clone(), torch.empty(50)
    flat = FlatAdam(p, grad, lr=1e-2, fused=fused)
    for i, gr in enumerate(grads):
        ref.grad = gr.clone()
        opt.step()
        if i % 2:  # the gradient tensor given at construction, or one passed to the step
            grad.copy_(gr)
            flat.step()
        else:
            flat.step(gr.clone())
    if fused:
        assert_allclose(p.numpy(), ref.detach().numpy(), rtol=1e-14, atol=1e-15)
    else:
        assert torch.equal(p, ref.detach())
