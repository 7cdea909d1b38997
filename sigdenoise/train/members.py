"""The key of one autoencoder to train: the one member spec every engine and the grid share."""

from __future__ import annotations

from dataclasses import dataclass

from sigdenoise.models.autoencoder import Autoencoder
from sigdenoise.train.objectives import OBJECTIVES


@dataclass(frozen=True, order=True)
class Member:
    """One autoencoder of a run. variant: plain (the study's clean training), denoising, sparse,
    contractive or vae; train_noise: the gaussian level (or masking / salt-and-pepper rate) its
    inputs are corrupted with, 0 for clean training; width: a wider body (None: the study's);
    loss: mse, or bce with a sigmoid output."""

    latent: int
    activation: str
    seed: int
    variant: str = "plain"
    train_noise: float = 0.0
    width: int | None = None
    loss: str = "mse"

    @property
    def name(self) -> str:
        """The model's file name in a run folder, e.g. ae-gelu-latent5-seed0-denoising0.1."""
        parts = [f"ae-{self.activation}-latent{self.latent}-seed{self.seed}"]
        if self.variant != "plain":
            parts.append(self.variant + (f"{self.train_noise:g}" if self.variant == "denoising" else ""))
        if self.width:
            parts.append(f"w{self.width}")
        if self.loss != "mse":
            parts.append(self.loss)
        return "-".join(parts)

    def build(self, n_samples: int = 100) -> Autoencoder:
        """The member's untrained model (its initial weights depend on its own key only)."""
        return Autoencoder(self.activation, self.latent, self.seed, n_samples, width=self.width,
                           vae=OBJECTIVES[self.variant].gaussian_code, output="sigmoid" if self.loss == "bce" else "linear")  # fmt: skip

    @property
    def plain(self) -> bool:
        """The study's training (clean x -> x, MSE, the study's body): the stacked fused engine's."""
        return self.variant == "plain" and self.width is None and self.loss == "mse"
