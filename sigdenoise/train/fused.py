"""`Fused`: a whole ensemble in training form (benchmarks/README.md measures why).

One flat parameter tensor (train/layout.py names its entries), both latents in one pass,
activations grouped by kernel (train/kernels.py), and a hand-written backward pass recorded once
as a tape of ~175 kernels on buffers allocated once, whatever the number of members;
`Fused.compile` swaps the tape for train/compiled.py's torch.compile'd form of the same step for
one batch size. Members never mix, so each trains exactly as it would alone (in float64; in float32
its last bits depend on its place in the stack, so on CPU train/stacked.py gives each member its own).
"""

from __future__ import annotations

import warnings

import torch

from sigdenoise.models.activations import LEARNED, REGISTRY
from sigdenoise.models.autoencoder import Autoencoder
from sigdenoise.train import tape
from sigdenoise.train.compiled import compile_options, make_step, plain_values, step_key
from sigdenoise.train.kernels import KERNEL_ORDER, kernel_groups
from sigdenoise.train.layout import N_MID, N_OUTER, Layout, middle, outer
from sigdenoise.train.members import Member
from sigdenoise.train.objectives import VariantObjective
from sigdenoise.train.stack import Ensemble, Stack
from sigdenoise.train.tape import Layer, Tape, run


class Fused:
    """An Ensemble (or a variant group's lone models: `of_models`) in training form.

    Members are re-ordered by KERNEL_ORDER, then latent, then seed. Both latents share the outer
    layers, encoder 100-50-25-10-5 and decoder 5-10-25-50-100 (one bmm for all members); the
    latent-1 members add 5-1-5 in the middle, run on their subset. Parameters live in `flat`
    (1-D) and their gradients at the same offsets in `grad`; every gradient entry is rewritten by
    each `step` except the fixed slopes', which stay 0 so Adam never moves them.
    """

    objective: VariantObjective | None = None  # a variant's loss (`of_models`); None: the study's

    def __init__(self, ensemble: Ensemble, seeds: list[int], subset: list[int] | None = None):
        """seeds: the seeds of the batches given to `step`, in that order; subset: the positions
        in `ensemble.members` to train (default all)."""
        everyone = ensemble.members
        order = sorted(range(len(everyone)) if subset is None else subset, key=lambda i: kernel_key(everyone[i]))
        per = [_unstack(st, j) for st in ensemble.stacks for j in range(len(st))]
        # One seed among these members: they share each batch, and the first layer is one matmul.
        shared = len({everyone[i].seed for i in order}) == 1
        self._setup(order, [everyone[i] for i in order], [per[i] for i in order], seeds, shared)

    @classmethod
    def of_models(cls, models: list[Autoencoder], members: list[Member], objective: VariantObjective) -> "Fused":
        """The training form of lone models of one activation and latent (a variant group of
        train/vmapped.py), kept in their order, trained by `objective` through train/variant_step.py
        (no tape: uncompiled, that pure step runs eagerly). Each member gets its own input batch
        (its own corruption); one member alone reads it through the one-matmul first layer."""
        if len({(m.variant, m.activation, m.latent, m.width, m.loss) for m in members}) != 1:
            raise ValueError("a variant Fused holds members of one variant, activation, body and loss")
        f = cls.__new__(cls)
        f.objective = objective
        f._setup(list(range(len(models))), list(members), [_of_model(m) for m in models], sorted({m.seed for m in members}),
                 shared=len(models) == 1)  # fmt: skip
        return f

    def _setup(self, order: list[int], members: list[Member], per: list, seeds: list[int], shared: bool) -> None:
        """order: the members' positions in what they came from; per: each member's
        ([(W (d_in, d_out), b (1, d_out)) per layer], slopes (n_act,)), in `members` order."""
        self.seeds, self.order, self.members = list(seeds), order, members
        if any(len(layers) not in (N_OUTER, N_OUTER + N_MID) for layers, _ in per):
            raise ValueError("Fused trains the study's autoencoders: 8 layers (latent 5) or 10 (latent 1)")
        M, dev = len(self.members), per[0][1].device
        self.shared = shared
        self.slot = torch.tensor([seeds.index(m.seed) for m in self.members], device=dev)  # batch of each member
        self.seed0 = seeds.index(self.members[0].seed)
        # The members with the 5-1-5 middle (the study's latent 1; a wider body's latent 1 has none).
        mid = self.mid_pos = [p for p, (layers, _) in enumerate(per) if len(layers) == N_OUTER + N_MID]
        self.mid_all, self.mid_idx = len(mid) == M, torch.tensor(mid, device=dev, dtype=torch.long)
        self.layout, tensors = _pack(per, mid, self.shared)
        self.flat = self.layout.flatten(tensors).detach().clone()
        self.grad = torch.zeros_like(self.flat)
        self.sse = torch.zeros(M, dtype=self.flat.dtype, device=dev)  # summed squared errors, by `step`
        self._programs: dict[int, tuple[torch.Tensor, Tape]] = {}
        self._compiled: dict[int, object] = {}  # batch size -> compiled step (see `compile`)
        self._compiled_ok: set[int] = set()  # batch sizes whose compiled step has run
        self.enc, self.dec, self.mid = self._layers(bool(mid))

    def _layers(self, has_mid: bool) -> tuple[list[Layer], list[Layer], list[Layer]]:
        """Views of each layer into `flat` and `grad`: encoder, decoder, and latent 1's middle."""
        pv, gv = self.layout.views(self.flat), self.layout.views(self.grad)
        acts = [m.activation for m in self.members]
        enc, dec, mids = [], [], []
        for t in range(N_OUTER):
            kind = "last" if t == N_OUTER - 1 else ("shared" if self.shared else "first") if t == 0 else "hidden"
            W, b = outer(t)
            layer = Layer(kind, pv[W], pv[b], gv[W], gv[b])
            if t < N_OUTER - 1:
                layer.groups, layer.prelu = kernel_groups(acts)
                layer.slope, layer.gslope = pv["slopes"][t].view(-1, 1, 1), gv["slopes"][t]
            (enc if t < N_OUTER // 2 else dec).append(layer)
        for k in range(N_MID if has_mid else 0):
            W, b = middle(k)
            layer = Layer("hidden", pv[W], pv[b], gv[W], gv[b])
            layer.groups, layer.prelu = kernel_groups([acts[p] for p in self.mid_pos])
            layer.slope, layer.gslope = pv["mid_slopes"][k].view(-1, 1, 1), gv["mid_slopes"][k]
            mids.append(layer)
        return enc, dec, mids

    def step(self, x: torch.Tensor) -> torch.Tensor:
        """One forward and backward pass on x (S, B, d), one batch per seed of `seeds`. Returns
        the gradient (P,) in `flat`'s layout: `grad` itself, or the compiled step's own output;
        each member's summed squared error is added to `sse` (M,)."""
        if self.objective is not None:
            raise TypeError("a variant Fused steps through train/variant_step.py, not the plain tape")
        B = x.shape[-2]
        compiled = self._compiled.get(B)
        if compiled is not None:
            # The shared seed's batch goes in as it is, a view: copying it costs more than it saves.
            xin = x[self.seed0] if self.shared else torch.index_select(x, 0, self.slot)
            try:
                grad, sse = compiled(self.flat, xin)
            except Exception as e:  # compiling failed (it happens on the first call): keep the tape
                if B in self._compiled_ok:
                    raise
                first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                warnings.warn(f"torch.compile of the training step failed, training uncompiled: {first}", stacklevel=2)
                del self._compiled[B]
                return self.step(x)
            self._compiled_ok.add(B)
            self.sse.add_(sse)
            return grad
        if B not in self._programs:
            self._programs[B] = tape.build(self, B)
        xbuf, program = self._programs[B]
        if self.shared:
            xbuf.copy_(x[self.seed0])
        else:
            torch.index_select(x, 0, self.slot, out=xbuf)  # (M, B, d): each member its seed's batch
        run(program)
        return self.grad

    @property
    def compiled(self) -> bool:
        """Whether some batch size runs (or will first try) the compiled step."""
        return bool(self._compiled)

    def compile(self, batch_size: int, shared: dict | None = None) -> None:
        """Run steps of this batch size through torch.compile's form of the step (fused_step);
        the other sizes (a short last batch) keep the tape. Compiles on the first such step:
        seconds, which a long training repays (benchmarks/README.md).

        shared: compiled steps by step_key, filled here, for the Fused of one training: those with
        the same step (the same activation kernels and sizes: each seed's member of one activation
        and latent; identity, relu and leakyrelu too, one kernel whose slope is a parameter) then
        call one compiled function, whose graph a process compiles once, not once each."""
        key = (step_key(plain_values(self)), batch_size)
        step = None if shared is None else shared.get(key)
        if step is None:
            step = torch.compile(make_step(self), fullgraph=True, dynamic=False, options=compile_options())
            if shared is not None:
                shared[key] = step
        self._compiled[batch_size] = step

    @torch.no_grad()
    def write_models(self, models: list[Autoencoder]) -> None:
        """Copy the trained parameters into the lone models `of_models` was built from."""
        pv, M = self.layout.views(self.flat), len(self.members)
        mid = {p: q for q, p in enumerate(self.mid_pos)}
        for p, model in enumerate(models):
            for l, layer in enumerate(model.layers):
                (W, b), row = _model_layer(len(model.layers), l, p, mid)
                w, c = pv[W], pv[b]
                if l == 0 and self.shared:  # (d, M*h) and (M*h,)
                    w, c = w.view(w.shape[0], M, -1).transpose(0, 1), c.view(M, 1, -1)
                layer.weight.copy_(w[row].T)
                layer.bias.copy_(c[row, 0])
            if model.slopes is not None:
                for l in range(len(model.layers) - 1):
                    name, row = _model_slope(len(model.layers), l, p, mid)
                    model.slopes[l].copy_(pv[name][row])

    @torch.no_grad()
    def write_back(self, ensemble: Ensemble) -> None:
        """Copy the trained parameters of this Fused's members into the ensemble's stacks."""
        where = {m: p for p, m in enumerate(self.members)}
        mid = {self.members[p]: q for q, p in enumerate(self.mid_pos)}
        dev = self.flat.device
        for st in ensemble.stacks:
            rows = [j for j, m in enumerate(st.members) if m in where]
            if not rows:
                continue
            J = torch.tensor(rows, device=dev)
            P = torch.tensor([where[st.members[j]] for j in rows], device=dev)
            Q = torch.tensor([mid.get(st.members[j], 0) for j in rows], device=dev)
            n_layers = len(st.weights)
            for l in range(n_layers):
                if 4 <= l < n_layers - 4:  # latent 1's middle layers
                    L, I = self.mid[l - 4], Q
                else:
                    L, I = (self.enc + self.dec)[l if l < 4 else l - (n_layers - 8)], P
                if L.kind == "shared":
                    W = L.W.view(L.W.shape[0], len(self.members), -1)[:, I].transpose(0, 1)
                    b = L.b.view(len(self.members), 1, -1)[I]
                else:
                    W, b = L.W[I], L.b[I]
                st.weights[l].index_copy_(0, J, W)
                st.biases[l].index_copy_(0, J, b)
                if l < n_layers - 1 and st.slopes is not None:
                    learned = [i for i, j in enumerate(rows) if st.members[j].activation in LEARNED]
                    if learned:
                        K = torch.tensor([_rank(st, rows[i]) for i in learned], device=dev)
                        st.slopes[l].index_copy_(0, K, L.slope.view(-1)[I[learned]])


def run_epoch(f: Fused, opt, stacked: torch.Tensor, perm: torch.Tensor, slices: list[slice]) -> torch.Tensor:
    """One epoch of one part, each batch a step of `f` and one of the optimizer `opt`; returns its members' mean squared errors (M_part,) on the CPU."""
    f.sse.zero_()
    if stacked.shape[0] == 1:  # one seed: gather each batch, a pass over 100 kB, not the 8 MB set
        data, order = stacked[0], perm[0]
        for sl in slices:
            # Transposed once here, so that the compiled step, feature-major, reads x without a
            # transpose per member: (1, B, d) as a view of a (d, B) batch.
            opt.step(f.step(data.index_select(0, order[sl]).T.contiguous().T[None]))
    else:  # shuffle once per epoch so that every batch is a slice of all seeds at once
        shuffled = torch.gather(stacked, 1, perm[:, :, None].expand(-1, -1, stacked.shape[2]))  # (S, N, d)
        for sl in slices:
            opt.step(f.step(shuffled[:, sl]))
    return (f.sse / (stacked.shape[1] * stacked.shape[2])).cpu()


def _unstack(st: Stack, j: int) -> tuple[list, torch.Tensor]:
    """Member j of a stack: per layer (W (d_in, d_out), b (1, d_out)); slopes (n_act,), the
    fixed ones for identity, relu and leakyrelu."""
    m = st.members[j]
    ws = [(w[j], b[j]) for w, b in zip(st.weights, st.biases)]
    if m.activation in LEARNED:
        return ws, st.slopes[:, _rank(st, j)]
    return ws, st.weights[0].new_full((len(ws) - 1,), REGISTRY[m.activation].slope)


def _of_model(model: Autoencoder) -> tuple[list, torch.Tensor]:
    """A lone model as _unstack gives a stack's member: [(W (d_in, d_out), b (1, d_out))], slopes."""
    ws = [(layer.weight.detach().T, layer.bias.detach()[None]) for layer in model.layers]
    if model.slopes is not None:
        return ws, model.slopes.detach()
    return ws, ws[0][0].new_full((len(ws) - 1,), REGISTRY[model.activation].slope)


def _model_layer(n_layers: int, l: int, p: int, mid: dict[int, int]) -> tuple[tuple[str, str], int]:
    """Layer l of a lone model of n_layers: its names in the layout and its member row."""
    if n_layers == N_OUTER or l < N_OUTER // 2:
        return outer(l), p
    if l < N_OUTER // 2 + N_MID:
        return middle(l - N_OUTER // 2), mid[p]
    return outer(l - N_MID), p


def _model_slope(n_layers: int, l: int, p: int, mid: dict[int, int]) -> tuple[str, tuple[int, int]]:
    """Where the slope of a lone model's activation layer l lives: (entry, (layer row, member))."""
    (W, _), row = _model_layer(n_layers, l, p, mid)
    if W.startswith("Wmid"):
        return "mid_slopes", (int(W[4:]), row)
    return "slopes", (int(W[1:]), row)


def _stacked(wb: list, shared: bool) -> list[torch.Tensor]:
    """[W (M, d_in, d_out), b (M, 1, d_out)]; shared: [W (d, M*d_out), b (M*d_out,)], so that
    x (B, d) @ W is the first layer of every member in one matmul."""
    W, b = torch.stack([w for w, _ in wb]), torch.stack([b for _, b in wb])
    if shared:
        return [W.transpose(0, 1).reshape(W.shape[1], -1), b.reshape(-1)]
    return [W, b]


def kernel_key(m: Member) -> tuple:
    """Members sorted so that each activation kernel's members are one slice (KERNEL_ORDER)."""
    return KERNEL_ORDER.index(m.activation), m.latent, m.seed


def _rank(st, j: int) -> int:
    """Column of stack member j in st.slopes (members with learned slopes, in stack order)."""
    return sum(m.activation in LEARNED for m in st.members[:j])


def _lmap(member: tuple, t: int) -> int:
    """Outer layer t (0-7) -> the member's own layer index (latent 1 has two more in the middle)."""
    return t if t < 4 else t + len(member[0]) - 8


def _pack(per: list, mid: list[int], shared: bool) -> tuple[Layout, dict[str, torch.Tensor]]:
    """The named flat layout of members' parameters `per` (in fused order) and its tensors."""
    entries, tensors = [], {}

    def put(names: tuple[str, ...], values: list[torch.Tensor]) -> None:
        for name, value in zip(names, values):
            entries.append((name, tuple(value.shape)))
            tensors[name] = value

    M, half, n_act = len(per), N_OUTER // 2, N_OUTER - 1
    for t in range(N_OUTER):
        put(outer(t), _stacked([per[p][0][_lmap(per[p], t)] for p in range(M)], shared=t == 0 and shared))
    for k in range(N_MID if mid else 0):
        put(middle(k), _stacked([per[p][0][half + k] for p in mid], shared=False))
    put(("slopes",), [torch.stack([torch.stack([per[p][1][_lmap(per[p], t)] for t in range(n_act)]) for p in range(M)], 1)])
    if mid:
        put(("mid_slopes",), [torch.stack([per[p][1][half : half + N_MID] for p in mid], 1)])  # (2, M1)
    return Layout(entries), tensors
