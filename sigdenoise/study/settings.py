"""One frozen dataclass of settings per run: the source of truth, written as config.json.

Validation lives here so the CLI, the tests and the library reject the same things with the same
one-line message naming the CLI option at fault.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

from sigdenoise.models.activations import ACTIVATIONS
from sigdenoise.models.autoencoder import LATENTS
from sigdenoise.train.objectives import VARIANTS, VariantSettings
from sigdenoise.errors import SettingsError

# Measured by experiments/plateau.py (experiments/plateau_loss.csv, README "Default epochs"): at 300
# epochs every member's training loss is within 1.27x of its 400-epoch value and the mean loss
# improves by 4.6 % over the next 50 epochs; the linear AEs reached their optimum by epoch 10.
DEFAULT_EPOCHS = 300



@dataclass(frozen=True)
class GridSettings:
    activations: tuple[str, ...] = ACTIVATIONS
    """Activations of the autoencoders (the grid's first axis)."""
    latents: tuple[int, ...] = LATENTS
    """Latent sizes: 1 or 5."""
    noises: tuple[float, ...] = (0.1, 1.0)
    """Gaussian noise levels l in x + l*p."""
    seeds: tuple[int, ...] = (0,)
    """Seeds; each is a replicate with its own training set, initial weights, batch order and noise."""
    epochs: int = DEFAULT_EPOCHS
    """Training epochs over the clean training set."""
    n_train: int = 20_000
    """Clean training signals per seed."""
    n_test: int = 2_000
    """Held-out test signals per seed (all five families)."""
    sd: float = 2.25
    """Standard deviation of the frequency r ~ Normal(0, sd)."""
    batch_size: int = 256
    lr: float = 1e-3
    device: str = "auto"
    """auto (CUDA when present), cpu or cuda."""
    probe_copies: int = 10
    variants: tuple[str, ...] = ("plain",)
    """Autoencoder variants (issue 6): plain, denoising, sparse, contractive, vae."""
    train_noise_kind: str = "gaussian"
    """Corruption of the denoising variant: gaussian (at each grid noise level), masking, salt-pepper."""
    train_noise_rate: float = 0.25
    """nu of masking and salt-pepper corruption."""
    sparse_kind: str = "kl"
    sparse_weight: float = 1e-3
    rho: float = 0.05
    contractive_weight: float = 1e-3
    beta: float = 1e-3
    loss: str = "mse"
    """mse, or bce: cross-entropy with a sigmoid output on signals scaled to [0, 1]."""
    width: int | None = None
    """A wider body (n, W, W/2, W/4, latent) for the denoising variant, trained on fresh signals each epoch."""

    def __post_init__(self) -> None:
        def check(ok: bool, option: str, message: str) -> None:
            if not ok:
                raise SettingsError(option, message)

        for a in self.activations:
            check(a in ACTIVATIONS, "--activation", f"unknown activation {a!r}; choose from {', '.join(ACTIVATIONS)}")
        for k in self.latents:
            check(k in LATENTS, "--latent", f"must be 1 or 5, got {k}")
        for l in self.noises:
            # 0 would make every SNR infinite: the comparison needs noise to remove.
            check(math.isfinite(l) and l > 0, "--noise", f"must be a finite level > 0, got {l}")
        check(self.epochs >= 1, "--epochs", f"must be at least 1, got {self.epochs}")
        check(self.n_train >= 10, "--n-train", f"must be at least 10, got {self.n_train}")
        check(self.n_test >= 1, "--n-test", f"must be at least 1, got {self.n_test}")
        check(self.sd > 0, "--sd", f"must be > 0, got {self.sd}")
        check(self.device in ("auto", "cpu", "cuda"), "--device", f"must be auto, cpu or cuda, got {self.device!r}")
        for s in self.seeds:
            check(s >= 0, "--seed", f"must be >= 0, got {s}")
        for v in self.variants:
            check(v in VARIANTS, "--variant", f"unknown variant {v!r}; choose from {', '.join(VARIANTS)}")
        check(self.width is None or self.width >= 8, "--width", f"must be at least 8, got {self.width}")
        check(self.width is None or "denoising" in self.variants, "--width",
              "widens the denoising variant only; add --variant denoising")  # fmt: skip
        self.variant_settings()  # validates the variant options
        for name in ("activations", "latents", "noises", "seeds", "variants"):
            values = getattr(self, name)
            check(len(values) > 0, f"--{name[:-1]}", "needs at least one value")  # --activation, --latent, ...
            # Repeated options collapse to their distinct values, in the order first given.
            object.__setattr__(self, name, tuple(dict.fromkeys(values)))

    def variant_settings(self) -> VariantSettings:
        return VariantSettings(**{f.name: getattr(self, f.name) for f in fields(VariantSettings)})

    def to_dict(self) -> dict:
        return asdict(self)
