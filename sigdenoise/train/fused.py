"""Many autoencoders trained as one: parameters stacked on a leading member axis.

A stack holds members that share layer sizes (one latent). Its forward pass is one batched
matmul per layer for all members, h (M, B, d_in) @ W (M, d_in, d_out), instead of M small
matmuls; the activation runs once per activation group (members are sorted by activation so each
group is a contiguous slice). Members never mix: member m's output depends only on member m's
parameters, so summing the members' losses gives each member exactly its lone gradient.

`Fused` is the training form of a whole ensemble (benchmarks/README.md measures why): one flat
parameter tensor, both latents in one pass, activations grouped by kernel, and a hand-written
backward pass recorded once as a tape of ~175 kernels on buffers allocated once, whatever the
number of members; `Fused.compile` swaps the tape for fused_step's torch.compile'd form of the
same step for one batch size.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch
from torch import nn

from sigdenoise.models.activations import ACTIVATIONS, LEAKY_SLOPE, LEARNED, apply
from sigdenoise.models.autoencoder import Autoencoder, layer_sizes


@dataclass(frozen=True, order=True)
class Member:
    """The key of one grid cell's autoencoder."""

    latent: int
    activation: str
    seed: int

    @property
    def name(self) -> str:
        return f"ae-{self.activation}-latent{self.latent}-seed{self.seed}"


def _sort_key(m: Member) -> tuple:
    return (m.latent, ACTIVATIONS.index(m.activation), m.seed)


class Stack(nn.Module):
    """Members of one latent size. weights[l] (M, d_in, d_out), biases[l] (M, 1, d_out)."""

    def __init__(self, models: list[Autoencoder]):
        super().__init__()
        latents = {m.latent for m in models}
        if len(latents) != 1:
            raise ValueError("a stack holds members of one latent size")
        plain = [getattr(m, "width", None) is None and not getattr(m, "vae", False) and getattr(m, "output", "linear") == "linear"
                 for m in models]  # fmt: skip
        if not all(plain):
            raise ValueError("a stack holds the study's plain autoencoders (no width, vae or sigmoid output)")
        self.members = [Member(m.latent, m.activation, m.seed) for m in models]
        if self.members != sorted(self.members, key=_sort_key):
            raise ValueError("members must be sorted by activation")
        self.sizes = layer_sizes(models[0].latent, models[0].layers[0].in_features)
        n_layers = len(self.sizes) - 1
        self.weights = nn.ParameterList(
            nn.Parameter(torch.stack([m.layers[l].weight.detach().T for m in models])) for l in range(n_layers)
        )
        self.biases = nn.ParameterList(
            nn.Parameter(torch.stack([m.layers[l].bias.detach()[None] for m in models])) for l in range(n_layers)
        )
        # Contiguous activation groups: (name, start, stop).
        self.groups: list[tuple[str, int, int]] = []
        for i, m in enumerate(self.members):
            if self.groups and self.groups[-1][0] == m.activation:
                self.groups[-1] = (m.activation, self.groups[-1][1], i + 1)
            else:
                self.groups.append((m.activation, i, i + 1))
        # Learned slopes (n_act, M_learned): only for members whose activation learns them.
        learned = [m for m in models if m.activation in LEARNED]
        self.slopes = nn.Parameter(torch.stack([m.slopes.detach() for m in learned], dim=1)) if learned else None

    def __len__(self) -> int:
        return len(self.members)

    def _activate(self, h: torch.Tensor, layer: int) -> torch.Tensor:
        parts, k = [], 0
        for name, a, b in self.groups:
            slope = None
            if name in LEARNED:
                slope = self.slopes[layer, k : k + b - a].view(-1, 1, 1)
                k += b - a
            parts.append(apply(name, h[a:b], slope))
        return parts[0] if len(parts) == 1 else torch.cat(parts)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (M, B, d) or (B, d) shared by all members -> (M, B, d)."""
        if x.dim() == 2:
            # Shared input: the first layer is one (B, d) @ (d, M*h) matmul.
            w0 = self.weights[0]
            h = (x @ w0.permute(1, 0, 2).reshape(w0.shape[1], -1)).view(x.shape[0], len(self), -1)
            h = h.transpose(0, 1) + self.biases[0]
        else:
            h = torch.baddbmm(self.biases[0], x, self.weights[0])
        last = len(self.weights) - 1
        for l in range(1, last + 1):
            h = self._activate(h, l - 1)
            h = torch.baddbmm(self.biases[l], h, self.weights[l])
        return h

    def to_models(self) -> list[Autoencoder]:
        """Unstack into lone Autoencoders carrying the current parameters."""
        out, k = [], 0
        for i, mem in enumerate(self.members):
            model = Autoencoder(mem.activation, mem.latent, mem.seed, self.sizes[0])
            with torch.no_grad():
                for l, layer in enumerate(model.layers):
                    layer.weight.copy_(self.weights[l][i].T)
                    layer.bias.copy_(self.biases[l][i, 0])
                if model.slopes is not None:
                    model.slopes.copy_(self.slopes[:, k])
                    k += 1
            out.append(model.to(self.weights[0].device, self.weights[0].dtype))
        return out


class Ensemble(nn.Module):
    """All autoencoders of a grid: one Stack per latent size, one optimizer over all of them."""

    def __init__(self, models: list[Autoencoder]):
        super().__init__()
        models = sorted(models, key=lambda m: _sort_key(Member(m.latent, m.activation, m.seed)))
        by_latent: dict[int, list[Autoencoder]] = {}
        for m in models:
            by_latent.setdefault(m.latent, []).append(m)
        self.stacks = nn.ModuleList(Stack(ms) for ms in by_latent.values())

    @classmethod
    def build(cls, members: list[Member]) -> "Ensemble":
        return cls([Autoencoder(m.activation, m.latent, m.seed) for m in members])

    @property
    def members(self) -> list[Member]:
        return [m for s in self.stacks for m in s.members]

    def to_models(self) -> list[Autoencoder]:
        return [m for s in self.stacks for m in s.to_models()]


# Four activations are one kernel, z > 0 ? z : s*z, with a slope per member: identity (s = 1),
# relu (0), leakyrelu (0.01) and prelu (learned); values equal the lone models' to the bit.
# Sorting members in this order makes each kernel's members one contiguous slice.
KERNEL_ORDER = ("identity", "relu", "leakyrelu", "prelu", "sigmoid", "tanh", "gelu")
FIXED_SLOPE = {"identity": 1.0, "relu": 0.0, "leakyrelu": LEAKY_SLOPE}
_KERNEL = {"sigmoid": "sigmoid", "tanh": "tanh", "gelu": "gelu"}
_aten = torch.ops.aten


def kernel_groups(activations: list[str]) -> tuple[list[tuple[str, int, int]], tuple[int, int]]:
    """Contiguous (kernel, start, stop) slices of members sorted by KERNEL_ORDER, and the prelu
    slice (start, stop), whose slopes are the only learned ones."""
    groups: list[tuple[str, int, int]] = []
    for i, a in enumerate(activations):
        k = _KERNEL.get(a, "pwl")
        if groups and groups[-1][0] == k:
            groups[-1] = (k, groups[-1][1], i + 1)
        else:
            groups.append((k, i, i + 1))
    pre = [i for i, a in enumerate(activations) if a in LEARNED]
    return groups, ((pre[0], pre[-1] + 1) if pre else (0, 0))


Tape = list  # a step's kernels with their buffers bound: (fn, args, kwargs), run in order


def run(tape: Tape) -> None:
    for fn, args, kwargs in tape:
        fn(*args, **kwargs)


def emit_activation(tape: Tape, z, y, d, tmp, groups: list, slope: torch.Tensor) -> None:
    """Append the kernels y <- f(z) and d <- f'(z); z, d, tmp (M, B, h) of any strides, y too;
    slope (M, 1, 1); tmp is scratch.

    The derivative is taken in the forward pass, with vectorised kernels, so that the backward
    pass is one multiply for all members: aten's own prelu and where kernels branch per element
    and cost ~10 ns per element on random signs, 30x a multiply.
    """
    one = torch.ones_like(z)  # dense: aten's backward kernels are 1.5x slower on a broadcast 1
    for k, a, b in groups:
        za, ya, da = z[a:b], y[a:b], d[a:b]
        if k == "pwl":  # d = [z > 0] + [z <= 0] * s, with 0/1 floats: exact; y = z * d
            tape += [(torch.gt, (za, 0), {"out": da}), (torch.le, (za, 0), {"out": tmp[a:b]}),
                     (torch.addcmul, (da, tmp[a:b], slope[a:b]), {"out": da}), (torch.mul, (za, da), {"out": ya})]  # fmt: skip
        elif k == "gelu":
            tape += [(_aten.gelu.out, (za,), {"out": ya}),
                     (_aten.gelu_backward.grad_input, (one[a:b], za), {"grad_input": da})]  # fmt: skip
        else:
            back = _aten.sigmoid_backward if k == "sigmoid" else _aten.tanh_backward
            tape += [(getattr(torch, k), (za,), {"out": ya}), (back.grad_input, (one[a:b], ya), {"grad_input": da})]


def emit_slope_grad(tape: Tape, g, z, tmp, prelu: tuple[int, int], out: torch.Tensor) -> None:
    """Append out[prelu] (P,) <- dL/ds of the prelu members: sum over batch and units of
    g * min(z, 0); g, z, tmp (M, B, h)."""
    a, b = prelu
    if b > a:
        t = tmp[a:b]
        tape += [(torch.clamp_max, (z[a:b], 0), {"out": t}), (torch.mul, (t, g[a:b]), {"out": t}),
                 (torch.sum, (t,), {"dim": (1, 2), "out": out[a:b]})]  # fmt: skip


@dataclass
class _Layer:
    """Views of one fused layer into the flat parameters and gradients."""

    kind: str  # "shared" (input (B, d) for all), "first" (input (M, B, d)), "hidden", "last"
    W: torch.Tensor  # (M, d_in, d_out); "shared": (d, M*d_out)
    b: torch.Tensor  # (M, 1, d_out); "shared": (M*d_out,)
    gW: torch.Tensor
    gb: torch.Tensor
    groups: list | None = None  # kernel groups; None: no activation (the decoder's output)
    prelu: tuple[int, int] = (0, 0)
    slope: torch.Tensor | None = None  # (M, 1, 1)
    gslope: torch.Tensor | None = None  # (M,)


class Fused:
    """An Ensemble in training form.

    Members are re-ordered by KERNEL_ORDER, then latent, then seed. Both latents share the outer
    layers, encoder 100-50-25-10-5 and decoder 5-10-25-50-100 (one bmm for all members); the
    latent-1 members add 5-1-5 in the middle, run on their subset. Parameters live in `flat`
    (1-D) and their gradients at the same offsets in `grad`; every gradient entry is rewritten by
    each `step` except the fixed slopes', which stay 0 so Adam never moves them.
    """

    def __init__(self, ensemble: Ensemble, seeds: list[int], subset: list[int] | None = None):
        """seeds: the seeds of the batches given to `step`, in that order; subset: the positions
        in `ensemble.members` to train (default all)."""
        everyone = ensemble.members
        self.order = sorted(range(len(everyone)) if subset is None else subset, key=lambda i: kernel_key(everyone[i]))
        self.members: list[Member] = [everyone[i] for i in self.order]
        per = [_unstack(st, j) for st in ensemble.stacks for j in range(len(st))]
        per = [per[i] for i in self.order]  # each member's ([(W, b) per layer], slopes)
        if any(len(layers) not in (8, 10) for layers, _ in per):
            raise ValueError("Fused trains the study's autoencoders: 8 layers (latent 5) or 10 (latent 1)")
        M, dev = len(self.members), per[0][1].device
        # One seed among these members: they share each batch, and the first layer is one matmul.
        self.shared = len({m.seed for m in self.members}) == 1
        self.slot = torch.tensor([seeds.index(m.seed) for m in self.members], device=dev)  # batch of each member
        self.seed0 = seeds.index(self.members[0].seed)
        mid = self.mid_pos = [p for p, m in enumerate(self.members) if m.latent == 1]
        self.mid_all, self.mid_idx = len(mid) == M, torch.tensor(mid, device=dev, dtype=torch.long)
        # The flat layout: (W, b) of the 8 outer layers, of the 2 middle ones, then the slopes.
        ws = []
        for t in range(8):
            ws += _stacked([per[p][0][_lmap(per[p], t)] for p in range(M)], shared=t == 0 and self.shared)
        for k in range(2 if mid else 0):
            ws += _stacked([per[p][0][4 + k] for p in mid], shared=False)
        ws.append(torch.stack([torch.stack([per[p][1][_lmap(per[p], t)] for t in range(7)]) for p in range(M)], 1))
        if mid:
            ws.append(torch.stack([per[p][1][4:6] for p in mid], 1))  # (2, M1)
        self.shapes = [w.shape for w in ws]
        self.flat = torch.cat([w.reshape(-1) for w in ws]).detach().clone()
        self.grad = torch.zeros_like(self.flat)
        self.sse = torch.zeros(M, dtype=self.flat.dtype, device=dev)  # summed squared errors, by `step`
        self._programs: dict[int, tuple[torch.Tensor, Tape]] = {}
        self._compiled: dict[int, object] = {}  # batch size -> compiled step (see `compile`)
        self._compiled_ok: set[int] = set()  # batch sizes whose compiled step has run
        pv, gv = self._views(self.flat), self._views(self.grad)
        acts = [m.activation for m in self.members]
        slopes, gslopes = pv[20] if mid else pv[16], gv[20] if mid else gv[16]  # (7, M)
        self.enc, self.dec, self.mid = [], [], []
        for t in range(8):
            kind = "last" if t == 7 else ("shared" if self.shared else "first") if t == 0 else "hidden"
            layer = _Layer(kind, pv[2 * t], pv[2 * t + 1], gv[2 * t], gv[2 * t + 1])
            if t < 7:
                layer.groups, layer.prelu = kernel_groups(acts)
                layer.slope, layer.gslope = slopes[t].view(-1, 1, 1), gslopes[t]
            (self.enc if t < 4 else self.dec).append(layer)
        for k in range(2 if mid else 0):
            layer = _Layer("hidden", pv[16 + 2 * k], pv[17 + 2 * k], gv[16 + 2 * k], gv[17 + 2 * k])
            layer.groups, layer.prelu = kernel_groups([acts[p] for p in mid])
            layer.slope, layer.gslope = pv[21][k].view(-1, 1, 1), gv[21][k]
            self.mid.append(layer)

    def _views(self, buf: torch.Tensor) -> list[torch.Tensor]:
        out, o = [], 0
        for shape in self.shapes:
            out.append(buf[o : o + shape.numel()].view(shape))
            o += shape.numel()
        return out

    def step(self, x: torch.Tensor) -> torch.Tensor:
        """One forward and backward pass on x (S, B, d), one batch per seed of `seeds`. Returns
        the gradient (P,) in `flat`'s layout: `grad` itself, or the compiled step's own output;
        each member's summed squared error is added to `sse` (M,)."""
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
            self._programs[B] = self._build(B)
        xbuf, tape = self._programs[B]
        if self.shared:
            xbuf.copy_(x[self.seed0])
        else:
            torch.index_select(x, 0, self.slot, out=xbuf)  # (M, B, d): each member its seed's batch
        run(tape)
        return self.grad

    @property
    def compiled(self) -> bool:
        """Whether some batch size runs (or will first try) the compiled step."""
        return bool(self._compiled)

    def compile(self, batch_size: int) -> None:
        """Run steps of this batch size through torch.compile's form of the step (fused_step);
        the other sizes (a short last batch) keep the tape. Compiles on the first such step:
        seconds, which a long training repays (benchmarks/README.md)."""
        from sigdenoise.train.compiled import make_step

        # cpp_wrapper: the compiled step's driver in C++ too, not ~300 Python calls (5 % a step).
        options: dict = {"cpp_wrapper": True}
        # The step reads only its two tensors and constants fixed at make_step, so the tensors'
        # guards (shape, strides, dtype) are all that can change; the ~670 others on those
        # constants cost 50 us a call. (Older torch has no filter and checks them all.)
        keep = getattr(torch.compiler, "keep_tensor_guards_unsafe", None)
        if keep is not None:
            options["guard_filter_fn"] = keep
        self._compiled[batch_size] = torch.compile(make_step(self), fullgraph=True, dynamic=False, options=options)

    def _build(self, B: int) -> tuple[torch.Tensor, Tape]:
        """The step for batch size B as a tape of kernels on buffers allocated once: no
        allocation, slicing or autograd bookkeeping is left to do per step."""
        M, M1, d = len(self.members), len(self.mid_pos), self.dec[-1].W.shape[-1]
        new = lambda *shape: torch.empty(shape, dtype=self.flat.dtype, device=self.flat.device)  # noqa: E731
        x = new(B, d) if self.shared else new(M, B, d)
        tape: Tape = []
        saved: list = []
        h = self._emit_forward(tape, self.enc, x, saved, new)  # (M, B, 5)
        if self.mid:
            idx = self.mid_idx
            hm = h
            if not self.mid_all:
                hm = new(M1, B, h.shape[-1])
                tape.append((torch.index_select, (h, 0, idx), {"out": hm}))
            ym = self._emit_forward(tape, self.mid, hm, saved, new)
            if not self.mid_all:
                hd = new(*h.shape)
                tape += [(torch.Tensor.copy_, (hd, h), {}), (torch.Tensor.index_copy_, (hd, 0, idx, ym), {})]
                ym = hd
            h = ym
        h = self._emit_forward(tape, self.dec[:-1], h, saved, new)  # (M, B, 50)
        # Output layer straight into out - x = h W + (b - x), then its squared norm per member.
        last, diff, norm = self.dec[-1], new(M, B, d), new(M)
        tape += [(torch.sub, (last.b, x), {"out": diff}), (torch.Tensor.baddbmm_, (diff, h, last.W), {}),
                 (torch.linalg.vector_norm, (diff,), {"dim": (1, 2), "out": norm}),
                 (torch.Tensor.addcmul_, (self.sse, norm, norm), {})]  # fmt: skip
        # Backward from dL/dout = out - x; the factor 2 / (B d) is applied once, at the end.
        g = new(*h.shape)
        tape += [(torch.bmm, (h.transpose(1, 2), diff), {"out": last.gW}),
                 (torch.sum, (diff,), {"dim": 1, "keepdim": True, "out": last.gb}),
                 (torch.bmm, (diff, last.W.transpose(1, 2)), {"out": g})]  # fmt: skip
        g = self._emit_backward(tape, self.dec[:-1], g, saved, new)  # dL/dh (M, B, 5)
        if self.mid:
            gm = g
            if not self.mid_all:
                gm = new(M1, B, g.shape[-1])
                tape.append((torch.index_select, (g, 0, idx), {"out": gm}))
            gm = self._emit_backward(tape, self.mid, gm, saved, new)
            if not self.mid_all:
                tape.append((torch.Tensor.index_copy_, (g, 0, idx, gm), {}))
                gm = g
            g = gm
        self._emit_backward(tape, self.enc, g, saved, new)
        tape.append((torch.Tensor.mul_, (self.grad, 2.0 / (B * d)), {}))
        return x, tape

    @staticmethod
    def _emit_forward(tape: Tape, layers: list[_Layer], h: torch.Tensor, saved: list, new) -> torch.Tensor:
        for L in layers:
            B, k = h.shape[-2], L.W.shape[-1]
            if L.kind == "shared":  # (B, d) @ (d, M*h) -> z (B, M, h), used as (M, B, h)
                z2 = new(B, k)
                z = z2.view(B, L.slope.shape[0], -1).transpose(0, 1)
                tape.append((torch.addmm, (L.b, h, L.W), {"out": z2}))
            else:
                z = new(h.shape[0], B, k)
                tape.append((torch.baddbmm, (L.b, h, L.W), {"out": z}))
            # d = f'(z) and its scratch laid out as z, as dL/dz must be for the weight gradient.
            y, d, tmp = new(*z.shape), torch.empty_like(z), torch.empty_like(z)
            emit_activation(tape, z, y, d, tmp, L.groups, L.slope)
            saved.append((L, h, z, d, tmp))
            h = y
        return h

    @staticmethod
    def _emit_backward(tape: Tape, layers: list[_Layer], g: torch.Tensor, saved: list, new) -> torch.Tensor | None:
        """g: dL/dy of the last of `layers`; returns dL/dh of the first one's input."""
        for _ in layers:
            L, h, z, d, tmp = saved.pop()
            emit_slope_grad(tape, g, z, tmp, L.prelu, L.gslope)
            tape.append((torch.mul, (g, d), {"out": d}))  # d becomes dL/dz
            if L.kind == "shared":
                gz = d.transpose(0, 1).reshape(d.shape[1], -1)  # (B, M*k), a view
                tape += [(torch.mm, (h.T, gz), {"out": L.gW}), (torch.sum, (gz,), {"dim": 0, "out": L.gb})]
                return None
            tape += [(torch.bmm, (h.transpose(1, 2), d), {"out": L.gW}),
                     (torch.sum, (d,), {"dim": 1, "keepdim": True, "out": L.gb})]  # fmt: skip
            if L.kind == "first":
                return None
            g = new(*h.shape)
            tape.append((torch.bmm, (d, L.W.transpose(1, 2)), {"out": g}))
        return g

    @torch.no_grad()
    def write_back(self, ensemble: Ensemble) -> None:
        """Copy the trained parameters of this Fused's members into the ensemble's stacks."""
        where = {m: p for p, m in enumerate(self.members)}
        mid = {m: q for q, m in enumerate(m for m in self.members if m.latent == 1)}
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


def _unstack(st: Stack, j: int) -> tuple[list, torch.Tensor]:
    """Member j of a stack: per layer (W (d_in, d_out), b (1, d_out)); slopes (n_act,), the
    fixed ones for identity, relu and leakyrelu."""
    m = st.members[j]
    ws = [(w[j], b[j]) for w, b in zip(st.weights, st.biases)]
    if m.activation in LEARNED:
        return ws, st.slopes[:, _rank(st, j)]
    return ws, st.weights[0].new_full((len(ws) - 1,), FIXED_SLOPE.get(m.activation, 0.0))


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
