"""One frozen dataclass of settings per run: the source of truth, written as config.json.

Validation lives here so the CLI, the tests and the library reject the same things with the same
one-line message naming the CLI option at fault. A field that is a CLI option carries its help text
(`metadata["help"]`); the `grid` command reads its defaults and help from these fields.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields

from sigdenoise import synthetic
from sigdenoise.device import DEFAULT_DEVICE, DEVICES
from sigdenoise.errors import require
from sigdenoise.models.activations import ACTIVATIONS
from sigdenoise.models.autoencoder import LATENTS
from sigdenoise.train.common import BATCH_SIZE, DEFAULT_EPOCHS, LR
from sigdenoise.train.objectives import VARIANTS, VariantSettings

__all__ = ["DEFAULT_EPOCHS", "GridSettings"]


def _variant(name: str, help: str):
    """A variant option: its default is VariantSettings', its help the grid's."""
    return field(default=getattr(VariantSettings, name), metadata={"help": help})


@dataclass(frozen=True)
class GridSettings:
    activations: tuple[str, ...] = field(default=ACTIVATIONS, metadata={"help": "Activation (repeatable); default: all seven."})
    latents: tuple[int, ...] = field(default=LATENTS, metadata={"help": "Latent size, 1 or 5 (repeatable); default: both."})
    noises: tuple[float, ...] = field(default=(0.1, 1.0),
                                      metadata={"help": "Noise level l in x + l*p (repeatable); default: 0.1 and 1.0."})  # fmt: skip
    seeds: tuple[int, ...] = field(default=(0,), metadata={"help": "Seed (repeatable): each is a replicate.  \\[default: 0]"})
    """Each seed has its own training set, initial weights, batch order and noise."""
    epochs: int = field(default=DEFAULT_EPOCHS,
                        metadata={"help": "Training epochs (default: where training loss plateaus; see README)."})  # fmt: skip
    n_train: int = field(default=synthetic.N_TRAIN, metadata={"help": "Clean training signals per seed."})
    n_test: int = field(default=synthetic.N_TEST, metadata={"help": "Held-out test signals per seed."})
    """All five families."""
    sd: float = field(default=synthetic.SD, metadata={"help": "Standard deviation of the frequency r."})
    """r ~ Normal(0, sd)."""
    batch_size: int = BATCH_SIZE
    lr: float = LR
    device: str = DEFAULT_DEVICE
    """auto (CUDA when present), cpu or cuda."""
    probe_copies: int = synthetic.PROBE_COPIES
    variants: tuple[str, ...] = field(default=("plain",),
                                      metadata={"help": "Autoencoder variant (repeatable); default: plain, the study's."})  # fmt: skip
    """Issue 6: plain, denoising, sparse, contractive, vae."""
    train_noise_kind: str = _variant("train_noise_kind", "Corruption of the denoising variant (gaussian: at each --noise level).")
    train_noise_rate: float = _variant("train_noise_rate", "nu of masking / salt-pepper corruption.")
    sparse_kind: str = _variant("sparse_kind", "Sparsity penalty: KL to rho, or L1 of the code.")
    sparse_weight: float = _variant("sparse_weight", "Weight of the sparsity penalty.")
    rho: float = _variant("rho", "Target activation rate of the KL sparsity penalty.")
    contractive_weight: float = _variant("contractive_weight", "Weight of the encoder-Jacobian penalty.")
    beta: float = _variant("beta", "Weight of the VAE's KL term.")
    loss: str = _variant("loss", "mse, or bce (sigmoid output, signals scaled to [0, 1]).")
    width: int | None = field(default=None, metadata={
        "help": "Wider body (n, W, W/2, W/4, latent) for the denoising variant, fresh signals each epoch."})  # fmt: skip

    def __post_init__(self) -> None:
        for a in self.activations:
            require(a in ACTIVATIONS, "--activation", f"unknown activation {a!r}; choose from {', '.join(ACTIVATIONS)}")
        for k in self.latents:
            require(k in LATENTS, "--latent", f"must be 1 or 5, got {k}")
        for level in self.noises:
            # 0 would make every SNR infinite: the comparison needs noise to remove.
            require(math.isfinite(level) and level > 0, "--noise", f"must be a finite level > 0, got {level}")
        require(self.epochs >= 1, "--epochs", f"must be at least 1, got {self.epochs}")
        require(self.n_train >= 10, "--n-train", f"must be at least 10, got {self.n_train}")
        require(self.n_test >= 1, "--n-test", f"must be at least 1, got {self.n_test}")
        require(self.sd > 0, "--sd", f"must be > 0, got {self.sd}")
        require(self.device in DEVICES, "--device", f"must be auto, cpu or cuda, got {self.device!r}")
        for s in self.seeds:
            require(s >= 0, "--seed", f"must be >= 0, got {s}")
        for v in self.variants:
            require(v in VARIANTS, "--variant", f"unknown variant {v!r}; choose from {', '.join(VARIANTS)}")
        require(self.width is None or self.width >= 8, "--width", f"must be at least 8, got {self.width}")
        require(self.width is None or "denoising" in self.variants, "--width",
                "widens the denoising variant only; add --variant denoising")  # fmt: skip
        self.variant_settings()  # validates the variant options
        for name in ("activations", "latents", "noises", "seeds", "variants"):
            values = getattr(self, name)
            require(len(values) > 0, f"--{name[:-1]}", "needs at least one value")  # --activation, --latent, ...
            # Repeated options collapse to their distinct values, in the order first given.
            object.__setattr__(self, name, tuple(dict.fromkeys(values)))

    def variant_settings(self) -> VariantSettings:
        return VariantSettings(**{f.name: getattr(self, f.name) for f in fields(VariantSettings)})

    def to_dict(self) -> dict:
        return asdict(self)
