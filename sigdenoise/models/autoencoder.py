"""One autoencoder of the study, as a plain module (the stacked ensemble unstacks into these).

Encoder 100-50-25-10-5 (latent 5) or 100-50-25-10-5-1 (latent 1), decoder the mirror image,
the same activation after every layer but the decoder's last, which is linear.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from sigdenoise import seeds
from sigdenoise.models.activations import ACTIVATIONS, LEARNED, PRELU_INIT, apply
from sigdenoise.models.architecture import layer_sizes


class Autoencoder(nn.Module):
    """A lone autoencoder. `denoise` maps (n, 100) numpy arrays to (n, 100) numpy arrays."""

    def __init__(self, activation: str, latent: int, seed: int = 0, n_samples: int = 100,
                 width: int | None = None, vae: bool = False, output: str = "linear"):  # fmt: skip
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}")
        if output not in ("linear", "sigmoid"):
            raise ValueError(f"output must be linear or sigmoid, got {output!r}")
        self.activation, self.latent, self.seed = activation, latent, seed
        self.width, self.vae, self.output = width, vae, output
        self.sizes = layer_sizes(latent, n_samples, width)
        self.n_encoder = (len(self.sizes) - 1) // 2  # layers up to and including the code layer
        shapes = list(zip(self.sizes[:-1], self.sizes[1:]))
        if vae:  # the code layer emits mean and log-variance, (..., 2 * latent)
            a, b = shapes[self.n_encoder - 1]
            shapes[self.n_encoder - 1] = (a, 2 * b)
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in shapes)
        # One learned slope per activation layer (nn.PReLU() per layer), only for prelu.
        n_act = len(self.layers) - 1
        self.slopes = nn.Parameter(torch.full((n_act,), PRELU_INIT)) if activation in LEARNED else None
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """PyTorch's nn.Linear distribution, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), from the member's
        own generator."""
        g = seeds.member_init(self.activation, self.latent, self.seed)
        for layer in self.layers:
            bound = 1.0 / np.sqrt(layer.in_features)
            layer.weight.copy_(torch.rand(layer.weight.shape, generator=g) * 2 * bound - bound)
            layer.bias.copy_(torch.rand(layer.bias.shape, generator=g) * 2 * bound - bound)

    def _act(self, i: int, h: torch.Tensor) -> torch.Tensor:
        return apply(self.activation, h, None if self.slopes is None else self.slopes[i])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (..., 100) -> reconstruction (..., 100), in the signals' own scale.

        A VAE decodes the mean of its code; a sigmoid-output model (trained with cross-entropy)
        works on signals mapped into [0, 1] and maps its output back."""
        if self.output == "sigmoid":
            from sigdenoise.train.objectives import from_unit, to_unit

            return from_unit(torch.sigmoid(self.logits(to_unit(x))))
        return self.logits(x)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """The network's raw output (the reconstruction itself for a linear output)."""
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if self.vae and i == self.n_encoder - 1:
                x = x[..., : self.latent]  # the mean of the code; no activation on it
            elif i < last:
                x = self._act(i, x)
        return x

    @torch.no_grad()
    def denoise(self, x: np.ndarray) -> np.ndarray:
        """Reconstruct each row of x (n, 100); returns float64 (n, 100)."""
        p = next(self.parameters())
        xt = torch.as_tensor(np.asarray(x), dtype=p.dtype, device=p.device)
        return self(xt).double().cpu().numpy()
