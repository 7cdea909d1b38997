"""One frozen dataclass of settings per run: the source of truth, written as config.json.

Validation lives here so the CLI, the tests and the library reject the same things with the same
one-line message naming the CLI option at fault. A field that is a CLI option carries its help text
(`metadata["help"]`); the `grid` command reads its defaults and help from these fields.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, fields, replace

from sigdenoise import synthetic
from sigdenoise.device import DEFAULT_DEVICE, DEVICES
from sigdenoise.errors import SettingsError, finite, require
from sigdenoise.models.activations import ACTIVATIONS
from sigdenoise.models.architecture import LATENTS
from sigdenoise.train.common import BATCH_SIZE, DEFAULT_EPOCHS, LR, MAX_EPOCHS, SEED_LIMIT
from sigdenoise.train.objectives import VARIANTS, VariantSettings

__all__ = ["DEFAULT_EPOCHS", "GridSettings"]

MAX_LEVEL = 1e6  # the largest --noise and --sd: far beyond any study, still finite in float32 squares
# Bytes one signal costs while a grid runs: float64 and float32 copies, noisy copies, reconstructions.
BYTES_PER_SIGNAL = 100 * 8 * 4


def data_bytes(n_train: int, n_test: int, n_seeds: int) -> int:
    """A lower estimate of the memory the signals of a run take (all seeds' sets are held at once)."""
    return (n_train + n_test) * BYTES_PER_SIGNAL * max(n_seeds, 1)


def physical_memory() -> int | None:
    """The machine's RAM in bytes, or None where the system does not say."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


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
    batch_size: int = field(default=BATCH_SIZE, metadata={"help": "Training batch size (the study's)."})
    lr: float = field(default=LR, metadata={"help": "Adam's learning rate (the study's)."})
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
    noise_seed: int | None = None
    """Seed of the variants' corruption noise (seeds.member_noise); None: the smallest seed. A task
    of a distributed grid (one seed of it) takes its parent's, so that it trains what the whole
    grid would."""

    def __post_init__(self) -> None:
        for a in self.activations:
            require(a in ACTIVATIONS, "--activation", f"unknown activation {a!r}; choose from {', '.join(ACTIVATIONS)}")
        for k in self.latents:
            require(k in LATENTS, "--latent", f"must be 1 or 5, got {k}")
        for level in self.noises:
            # 0 would make every SNR infinite: the comparison needs noise to remove.
            require(finite(level) and 0 < level <= MAX_LEVEL, "--noise", f"must be a finite level > 0 and at most {MAX_LEVEL:g}, got {level}")
        require(self.epochs >= 1, "--epochs", f"must be at least 1, got {self.epochs}")
        require(self.epochs <= MAX_EPOCHS, "--epochs", f"must be at most {MAX_EPOCHS:,}, got {self.epochs}")
        require(self.n_train >= 10, "--n-train", f"must be at least 10, got {self.n_train}")
        require(self.n_test >= 1, "--n-test", f"must be at least 1, got {self.n_test}")
        require(finite(self.sd) and 0 < self.sd <= MAX_LEVEL, "--sd", f"must be finite, in (0, {MAX_LEVEL:g}], got {self.sd}")
        require(self.batch_size >= 1, "--batch-size", f"must be at least 1, got {self.batch_size}")
        require(finite(self.lr) and 0 < self.lr <= 1, "--lr", f"must be finite, in (0, 1], got {self.lr}")
        require(self.probe_copies >= 1, "--probe-copies", f"must be at least 1, got {self.probe_copies}")
        require(self.device in DEVICES, "--device", f"must be auto, cpu or cuda, got {self.device!r}")
        for s in tuple(self.seeds) + (() if self.noise_seed is None else (self.noise_seed,)):
            require(0 <= s < SEED_LIMIT, "--seed", f"must be in [0, 2**32), got {s}")
        need = data_bytes(self.n_train, self.n_test, len(set(self.seeds)))
        ram = physical_memory()
        if ram is not None and need > ram:
            option = "--n-train" if self.n_train >= self.n_test else "--n-test"
            raise SettingsError(option, f"{self.n_train:,} training and {self.n_test:,} test signals per seed need about "
                                        f"{need / 2**30:,.1f} GiB, more than this machine's {ram / 2**30:,.1f} GiB of memory")  # fmt: skip
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

    @property
    def variant_noise_seed(self) -> int:
        return min(self.seeds) if self.noise_seed is None else self.noise_seed

    def variant_settings(self) -> VariantSettings:
        return VariantSettings(**{f.name: getattr(self, f.name) for f in fields(VariantSettings)})

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ReportSettings:
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    epochs: int = DEFAULT_EPOCHS
    """The grid's: where training loss plateaus (README), so the report says what the study finds."""
    n_train: int = synthetic.N_TRAIN
    n_test: int = synthetic.N_TEST
    n_valid: int = 1_000
    sd: float = synthetic.SD
    other_sd: float | None = 1.5
    """The other reading of the source's r ~ N(0, 2.25): 2.25 as a variance, sd 1.5. Its plain grid
    is trained too and its claims table stands beside the main one (None or sd itself: not run)."""
    quick: bool = False

    variant_activation: str = "gelu"
    """The variants (issue 6) are compared on one activation at latent 5."""
    wide_width: int = 256
    wide_epochs: int = 150

    @classmethod
    def quick_settings(cls) -> "ReportSettings":
        return cls(seeds=(0, 1), epochs=4, n_train=1_000, n_test=200, n_valid=200, quick=True, wide_width=32, wide_epochs=4)

    def grid(self, device: str) -> GridSettings:
        return GridSettings(seeds=self.seeds, epochs=self.epochs, n_train=self.n_train, n_test=self.n_test,
                            sd=self.sd, device=device)  # fmt: skip

    def grids(self, device: str) -> dict[str, GridSettings]:
        """The grid runs behind the report, by cache subfolder: the study's grid over seeds, the
        variants on one activation, the wide denoiser near the ceiling (first seed only), and the
        study's grid under the other reading of N(0, 2.25) (`other_grid`)."""
        base = self.grid(device)
        other = {self.other_grid: replace(base, sd=self.other_sd)} if self.other_grid else {}
        return {
            "grid": base,
            "variants": replace(base, activations=(self.variant_activation,), latents=(5,), seeds=self.seeds[:1],
                                variants=("denoising", "sparse", "contractive", "vae")),
            "wide": replace(base, activations=(self.variant_activation,), latents=(5,), variants=("denoising",),
                            seeds=self.seeds[:1], width=self.wide_width, epochs=self.wide_epochs),
            **other,
        }  # fmt: skip

    @property
    def other_grid(self) -> str | None:
        """The cache subfolder of the other reading's plain grid (None when it is not run)."""
        return None if self.other_sd is None or self.other_sd == self.sd else f"grid-sd{self.other_sd:g}"

    def other_reading(self) -> "ReportSettings":
        """These settings under the other reading: its sd, and no further reading of its own."""
        return replace(self, sd=self.other_sd, other_sd=None)
