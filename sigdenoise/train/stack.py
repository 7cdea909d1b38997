"""Many autoencoders of one latent size as one module: parameters stacked on a leading member axis.

A stack holds members that share layer sizes (one latent). Its forward pass is one batched
matmul per layer for all members, h (M, B, d_in) @ W (M, d_in, d_out), instead of M small
matmuls; the activation runs once per activation group (members are sorted by activation so each
group is a contiguous slice). Members never mix: member m's output depends only on member m's
parameters, so summing the members' losses gives each member exactly its lone gradient.
`Ensemble` is every stack of a grid; train/fused.py turns it into its training form.
"""

from __future__ import annotations

import torch
from torch import nn

from sigdenoise.models.activations import ACTIVATIONS, LEARNED, apply
from sigdenoise.models.architecture import layer_sizes
from sigdenoise.models.autoencoder import Autoencoder
from sigdenoise.train.members import Member


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
