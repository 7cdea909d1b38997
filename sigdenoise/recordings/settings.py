"""The settings of `sigdenoise denoise`: one frozen dataclass holding every option, validated on
construction with the same one-line messages the command prints. A field that is a CLI option
carries its help text (`metadata["help"]`); the command reads its defaults and help from here.

`fit` and `method` hold what was asked (None: not said); `fits` and `chosen_method` what that
means before the input is seen. pipeline.choose may still turn a default fit into the packaged
model when the input has too few windows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sigdenoise.device import DEFAULT_DEVICE, DEVICES
from sigdenoise.errors import OptionsConflict, finite, require
from sigdenoise.models.activations import ACTIVATIONS
from sigdenoise.models.architecture import LATENTS
from sigdenoise.recordings.csvtext import DELIMITERS
from sigdenoise.recordings.windows import WINDOW

PLOT_SIGNALS = 4  # signals drawn by --plot
AUTO_METHODS = ("auto", "savgol", "wiener", "wavelet", "tv", "dae", "none")  # auto/candidates.py's families (tested)
METHODS = (*AUTO_METHODS, "ae", "svd")
SYNTHETIC_RANK = 5  # the study's projector: --method svd without --fit or --rank


@dataclass(frozen=True)
class DenoiseSettings:
    input: Path = field(metadata={"help": "Signals: .csv (see --layout) or .npy; or a recording: .wav/.flac/.ogg, "
                                          ".edf/.bdf, WFDB .hea, .parquet, .h5 (each needs its extra)."})
    out: Path = field(metadata={"help": "Output file in the input's format: the same layout, ids, lengths, channels, "
                                        "rate and dtype."})
    layout: str = "auto"
    header: bool | None = None
    delimiter: str | None = field(default=None, metadata={"help":
        "Cell separator of a CSV: ',', ';', 'tab' or 'space'; written back the same.  \\[default: detected]"})  # fmt: skip
    decimal: str | None = field(default=None, metadata={"help":
        "Decimal mark of a CSV's numbers, '.' or ',' (with ';' or tab between cells).  \\[default: detected]"})  # fmt: skip
    id_cols: tuple[str, ...] = ()
    model: Path | None = field(default=None, metadata={"help":
        "A model from `sigdenoise train` or a grid run's models/.  \\[default: the packaged model]"})  # fmt: skip
    method: str | None = field(default=None, metadata={"help":
        "auto: the denoiser of least estimated error (Stein's unbiased risk estimate; one for the signals of "
        "a length in each 8 MB block, a signal it would not help left as it is) among "
        "Savitzky-Golay, Wiener, wavelet, total variation, the SVD of a signal's windows or of all the block's, "
        "the packaged autoencoder and doing nothing; "
        "savgol, wiener, wavelet, tv, none: that kind only, its setting chosen the same way; "
        "dae: the packaged noise-conditioned convolutional autoencoder, given each signal's estimated noise; "
        "ae: an autoencoder; svd: an SVD projector of windows.  "
        "\\[default: auto; svd with --fit or --rank; dae with --no-fit; ae with --model]"})  # fmt: skip
    fit: bool | None = field(default=None, metadata={"help":
        "Fit the denoiser on the input's own windows; --no-fit uses a trained model: --model's, else the packaged "
        "denoising autoencoder (dae; --method ae --no-fit: the study's small packaged autoencoder).  "
        "\\[default: --fit; --no-fit with --model, or for fewer than 100 windows that are about one a signal]"})  # fmt: skip
    rank: int | None = field(default=None, metadata={"help":
        f"SVD rank, 1 to {WINDOW}; implies --method svd.  "
        f"\\[default: {SYNTHETIC_RANK}; with --fit, chosen by the Gavish-Donoho threshold]"})  # fmt: skip
    hop: int = field(default=50, metadata={"help": "Samples between window starts (1 .. window)."})
    scale: bool | None = field(default=None, metadata={"help":
        "Scale each window into the model's training range and back.  \\[default: as the model was trained (the "
        "packaged one and `train`'s: scaled; a grid run's: not); --scale when fitting]"})  # fmt: skip
    fs: float | None = field(default=None, metadata={"help":
        "Sampling rate in Hz (sets or overrides a recording's); --notch and --highpass need it."})  # fmt: skip
    notch: float | None = field(default=None, metadata={"help":
        "Remove the mains hum at this frequency in Hz (50 or 60; scipy's iirnotch, Q 30, forward and backward) "
        "before denoising."})  # fmt: skip
    highpass: float | None = field(default=None, metadata={"help":
        "Remove drift below this frequency in Hz (4th-order Butterworth, forward and backward) before denoising."})  # fmt: skip
    remove_lines: bool = field(default=False, metadata={"help":
        "Remove narrowband lines (a tone far above the spectrum's floor) before denoising, without a sampling "
        "rate; without it they are kept and reported."})  # fmt: skip
    detrend: bool = field(default=False, metadata={"help":
        "Remove slow drift (below 2 cycles over the signal) before denoising; without it it is kept and reported."})  # fmt: skip
    activation: str = field(default="gelu", metadata={"help": "Activation of the autoencoder --fit trains."})
    latent: int = field(default=5, metadata={"help": "Latent size (1 or 5) of the autoencoder --fit trains."})
    epochs: int = field(default=100, metadata={"help": "Epochs of the autoencoder --fit trains."})
    digits: int = field(default=9, metadata={"help": "Significant digits written to CSV."})
    plot: Path | None = field(default=None, metadata={"help": f"PNG of noisy against denoised for the first {PLOT_SIGNALS} signals."})
    seed: int = field(default=0, metadata={"help": "Seed of --fit ae, and of auto's error estimate."})
    device: str = DEFAULT_DEVICE

    def __post_init__(self) -> None:
        # In the order the command has always checked them: the first failing check is the message.
        require(self.model is None or self.rank is None, "--rank",
                "only the SVD denoiser has a rank; --model loads an autoencoder")  # fmt: skip
        require(self.model is None or not (self.fits or self.chosen_method == "svd"), "--model",
                "loads a trained autoencoder; it cannot be combined with --fit or --method svd", OptionsConflict)  # fmt: skip
        require(self.latent in LATENTS, "--latent", f"must be 1 or 5, got {self.latent}")
        require(self.rank is None or 1 <= self.rank <= WINDOW, "--rank",
                f"must be between 1 and the window ({WINDOW} samples), got {self.rank}")  # fmt: skip
        require(not (self.method in AUTO_METHODS and (self.fit or self.model is not None or self.rank is not None)),
                "--method", f"{self.method} chooses its own setting; it takes no --fit, --model or --rank",
                OptionsConflict)  # fmt: skip
        require(self.rank is None or self.chosen_method != "ae", "--rank",
                "only the SVD denoiser has a rank; it cannot be combined with --method ae")  # fmt: skip
        require(1 <= self.digits <= 17, "--digits", f"must be between 1 and 17, got {self.digits}")
        require(self.epochs >= 1, "--epochs", f"must be at least 1, got {self.epochs}")
        # A trained model's window is known only once it is loaded (pipeline.make_plan checks it then).
        require(1 <= self.hop <= (WINDOW if self.model is None else self.hop), "--hop",
                f"must be between 1 and the window ({WINDOW} samples), got {self.hop}")  # fmt: skip
        if self.plot is not None:
            require(self.plot.parent.is_dir(), "--plot", f"no directory {self.plot.parent} to write {self.plot.name} in")
            require(self.plot.suffix.lower() == ".png", "--plot", f"writes a PNG; name it .png, got {self.plot.name}")
        from sigdenoise.recordings import formats, prefilter

        require(self.fs is None or (finite(self.fs) and self.fs > 0), "--fs", f"must be a positive number of Hz, got {self.fs}")
        if self.fs is not None or formats.format_of(self.input) is None:  # a recording may hold its rate
            prefilter.check(self.fs, self.notch, self.highpass)
        require(self.delimiter in (None, *DELIMITERS), "--delimiter",
                f"must be one of ',', ';', 'tab' or 'space', got {self.delimiter!r}")  # fmt: skip
        require(self.decimal in (None, ".", ","), "--decimal", f"must be '.' or ',', got {self.decimal!r}")
        require(not (self.decimal == "," and self.delimiter == ","), "--decimal",
                "a decimal comma needs another delimiter (--delimiter ';' or tab)")  # fmt: skip
        # The CLI's choices admit no other values; these guard library callers.
        require(self.method in (None, *METHODS), "--method", f"must be one of {', '.join(METHODS)}, got {self.method!r}")
        require(self.activation in ACTIVATIONS, "--activation",
                f"unknown activation {self.activation!r}; choose from {', '.join(ACTIVATIONS)}")  # fmt: skip
        require(self.device in DEVICES, "--device", f"must be auto, cpu or cuda, got {self.device!r}")

    @property
    def method_asked(self) -> str | None:
        """The method named, or implied by --rank; None when neither."""
        return self.method or ("svd" if self.rank is not None else None)

    @property
    def auto(self) -> bool:
        """Whether the denoiser is chosen per signal by its estimated risk (auto/select.py): asked
        for (auto or one kind), or by default when no option names a fit, a model or an SVD."""
        if self.method_asked is not None:
            return self.method_asked in AUTO_METHODS
        return self.fit is None and self.model is None

    @property
    def fits(self) -> bool:
        """Fit an SVD or autoencoder on the input's own windows: asked for, or for those methods
        by default unless a model is given."""
        if self.auto:
            return False
        return self.model is None if self.fit is None else self.fit

    @property
    def chosen_method(self) -> str:
        """auto by default; fitting takes the SVD; a trained model is an autoencoder; --no-fit
        alone, the packaged denoising autoencoder (dae)."""
        if self.method_asked is not None:
            return self.method_asked
        if self.auto:
            return "auto"
        return "svd" if self.fits else ("ae" if self.model is not None else "dae")
