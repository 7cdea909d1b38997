"""A noise-level-aware convolutional denoiser for 1-D signals of any length (issue 13, item 4).

The packaged autoencoder (default-ae.safetensors) squeezes each 100-sample window through 5
numbers, which caps its output near 16 dB SNR: on lightly noisy signals it removes signal. This
network has no such bottleneck and is told the noise level σ of its input:

    y = (x − median(x)) / σ              the input in units of its noise (noise std 1 in y)
    n̂ = B·tanh(net(y) / B)               the network's estimate of the noise in y, bounded by B
    x̂ = x − w·σ·n̂                        the correction, added in float64 to x itself

`net` is a small 1-D U-Net (DRUNet-like, no batch norm): a head convolution; at each finer rate
a residual block and a strided convolution that halves the rate; two residual blocks at the
coarsest rate (1/16); transposed convolutions back up, each adding the encoder's features of its
rate and followed by a residual block; a tail convolution. An output looks at most ±`radius`
samples (156 for the packaged model) to either side, so the whole of one of the study's
100-sample sinusoids is in view; everything is convolutional, so any length >= MIN_LENGTH works.

Why it is safe at every noise level: it is trained on SNRs from −5 to 100 dB, with σ jittered by
exp(N(0, 0.15)) as a blind estimate would be; it never moves a sample by more than B·σ; and w,
the fade, is 1 up to 80 dB of SNR and falls to 0 at 90 dB, where it stops gaining (`fade`). What
that buys, measured, is in experiments/train_convdae.py.

Shapes: `ConvDAE.forward` maps y (batch, 1, L) to n̂ (batch, 1, L), L a multiple of
`ConvDAE.stride`; `denoise` maps numpy x (n,) or (k, n) to the same shape, in float64.
"""
from __future__ import annotations

import itertools
import json
from importlib import resources
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import save_file
from torch import nn
from torch.nn import functional as F

from sigdenoise.atomic import replacing, unwritable_reason
from sigdenoise.errors import BundleError, OutputError, finite
from sigdenoise.models import bundle

FORMAT = "sigdenoise-convdae/1"
DEFAULT_MODEL = "default-convdae.safetensors"
MIN_LENGTH = 16
CHUNK = 1 << 15  # samples of a row per network input: with BATCH_SAMPLES, bounds the activations' memory
# Padded samples per network call (short rows share one): a 16-channel activation is then 2 MB, the
# size of an L2 cache; 2^15 took 0.9-1.0 s per million samples of one row, 2^17 1.3-1.8 s (1 thread).
BATCH_SAMPLES = 1 << 15
GROUP_CALLS = 16  # network calls' worth of rows padded at a time
Y_LIMIT = 1e6  # |normalised input| is clipped here (normalise)
# Trained up to 100 dB, the model still gains at 80-85 dB but loses 2-7 dB at 95-100 dB in (a chirp,
# a pulse train, the study's families; experiments/train_convdae.py): beyond what it learned it
# steps aside, its correction faded out linearly in the row's SNR between these two (dB).
FADE_DB = (80.0, 90.0)
ACTIVATIONS = {"relu": F.relu, "gelu": F.gelu, "silu": F.silu}


class ResBlock(nn.Module):
    """h + conv(act(conv(h))): two 'same' convolutions of `kernel` at `channels`. (b, c, L) -> (b, c, L)"""

    def __init__(self, channels: int, kernel: int, act):
        super().__init__()
        self.conv1 = nn.Conv1d(channels, channels, kernel, padding=kernel // 2)
        self.conv2 = nn.Conv1d(channels, channels, kernel, padding=kernel // 2)
        self.act = act

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.conv2(self.act(self.conv1(h)))


class ConvDAE(nn.Module):
    """The U-Net that estimates the noise of a σ-normalised signal.

    widths: channels at each rate, finest first (len(widths) = depth + 1); blocks: residual
    blocks per level on each side; kernel: odd width of every 'same' convolution; bound: B."""

    def __init__(self, widths=(16, 32, 32, 48, 48), blocks: int = 1, kernel: int = 3,
                 activation: str = "relu", bound: float = 8.0):  # fmt: skip
        super().__init__()
        self.widths, self.blocks, self.kernel = tuple(int(w) for w in widths), int(blocks), int(kernel)
        self.activation, self.bound = activation, float(bound)
        act, w, k = ACTIVATIONS[activation], self.widths, self.kernel
        self.head = nn.Conv1d(1, w[0], k, padding=k // 2)
        self.enc = nn.ModuleList(nn.Sequential(*(ResBlock(c, k, act) for _ in range(blocks))) for c in w[:-1])
        self.down = nn.ModuleList(nn.Conv1d(a, b, 2, stride=2) for a, b in itertools.pairwise(w))
        self.mid = nn.Sequential(*(ResBlock(w[-1], k, act) for _ in range(2 * blocks)))
        self.up = nn.ModuleList(nn.ConvTranspose1d(b, a, 2, stride=2) for a, b in itertools.pairwise(w))
        self.dec = nn.ModuleList(nn.Sequential(*(ResBlock(c, k, act) for _ in range(blocks))) for c in w[:-1])
        self.tail = nn.Conv1d(w[0], 1, k, padding=k // 2)

    @property
    def stride(self) -> int:
        """The length of every input must be a multiple of this (2**depth)."""
        return 2 ** (len(self.widths) - 1)

    @property
    def radius(self) -> int:
        """An upper bound on how far (in samples) an output looks to either side of itself."""
        r, half, depth = self.kernel // 2, self.kernel // 2, len(self.widths) - 1
        for level in range(depth):  # two convolutions per block, on both sides; a down and an up
            r += 2 * 2 * self.blocks * half * 2**level + 2 * 2**level
        r += 2 * 2 * self.blocks * half * 2**depth
        return r + half

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        """y (b, 1, L) in noise units, L % stride == 0 -> bounded noise estimate n̂ (b, 1, L)."""
        h = self.head(y)
        skips = []
        for enc, down in zip(self.enc, self.down):
            h = enc(h)
            skips.append(h)
            h = down(h)
        h = self.mid(h)
        for up, dec, skip in zip(reversed(self.up), reversed(self.dec), reversed(skips)):
            h = dec(up(h) + skip)
        return self.bound * torch.tanh(self.tail(h) / self.bound)

    def config(self) -> dict:
        """What rebuilds the architecture (stored in a model file's metadata)."""
        return {"widths": list(self.widths), "blocks": self.blocks, "kernel": self.kernel,
                "activation": self.activation, "bound": self.bound}  # fmt: skip


# ---- inference -------------------------------------------------------------------------------


def margin(model: ConvDAE) -> int:
    """Context added on each side of every chunk: the receptive radius, rounded up to the stride,
    so that chunk boundaries fall on the network's downsampling grid (its output depends on the
    position modulo the stride) and no output in a chunk's core sees the chunk's edge."""
    s = model.stride
    return -(-model.radius // s) * s


def normalise(x: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """y = (x − median) / σ per row, float32: x (k, n), sigma (k,) > 0 -> (k, n).

    |y| is clipped at Y_LIMIT (an SNR above ~110 dB): the network's activations then stay far
    from float32's overflow, and the correction, at most B·σ, is negligible on such a row anyway."""
    med = np.median(x, axis=1, keepdims=True)
    with np.errstate(over="ignore"):
        y = (x - med) / sigma[:, None]
    return np.clip(y, -Y_LIMIT, Y_LIMIT).astype(np.float32)


def padded_chunks(y: np.ndarray, core: int, m: int) -> np.ndarray:
    """Rows y (k, n) reflect-padded by m and cut into chunks of core + 2m samples that start every
    `core` samples: (k · n_chunks, core + 2m). The last core is filled out by reflection too."""
    n = y.shape[1]
    n_chunks = -(-n // core)
    right = m + n_chunks * core - n
    p = np.pad(y, ((0, 0), (m, right)), mode="reflect")  # numpy reflects again when a pad exceeds n
    view = np.lib.stride_tricks.sliding_window_view(p, core + 2 * m, axis=1)[:, ::core]
    return np.array(view[:, :n_chunks]).reshape(-1, core + 2 * m)  # a writable copy


@torch.inference_mode()
def noise_estimate(model: ConvDAE, y: np.ndarray, chunk: int = CHUNK) -> np.ndarray:
    """The bounded noise estimate n̂ of normalised rows y (k, n), float32 (k, n).

    A row longer than `chunk` is cut into cores of `chunk` samples (rounded up to the stride),
    each run with `margin` samples of context on either side; the outputs' cores are joined.
    Rows go through in groups and network calls hold at most BATCH_SAMPLES padded samples (or one
    chunk), so memory beyond the input and output does not grow with the input."""
    k, n = y.shape
    s, m = model.stride, margin(model)
    core = -(-min(chunk, n) // s) * s
    n_chunks = -(-n // core)
    per_call = max(1, BATCH_SAMPLES // (core + 2 * m))  # chunks per network call
    rows_per_group = max(1, per_call * GROUP_CALLS // n_chunks)
    out = np.empty((k, n), dtype=np.float32)
    for r in range(0, k, rows_per_group):
        pieces = padded_chunks(y[r : r + rows_per_group], core, m)  # (rows · n_chunks, core + 2m)
        est = np.empty((len(pieces), core), dtype=np.float32)
        for i in range(0, len(pieces), per_call):
            batch = torch.from_numpy(pieces[i : i + per_call])[:, None]  # (b, 1, core + 2m)
            est[i : i + per_call] = model(batch)[:, 0, m : m + core].numpy()
        out[r : r + rows_per_group] = est.reshape(-1, n_chunks * core)[:, :n]
    return out


def denoise(model: ConvDAE, x: np.ndarray, sigma: np.ndarray | float, chunk: int = CHUNK) -> np.ndarray:
    """Denoise x (n,) or (k, n), any n >= MIN_LENGTH, whose rows carry white noise of standard
    deviation sigma (a number, or one per row, (k,)). Returns float64 of x's shape, finite.

    x̂ = x − w·σ·n̂(y), w = fade(x, σ): the correction is added in float64 to x itself, so offsets
    and digits far below the noise survive, and a row whose σ is 0 (nothing to remove) or whose
    SNR is beyond FADE_DB (far cleaner than anything trained on) comes back bit for bit. Runs on
    the CPU in float32 under inference_mode, chunk by chunk (noise_estimate)."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim not in (1, 2) or x.shape[-1] < MIN_LENGTH:
        raise ValueError(f"x must be (n,) or (k, n) with n >= {MIN_LENGTH}, got shape {x.shape}")
    rows = np.atleast_2d(x)
    sig = np.broadcast_to(np.asarray(sigma, dtype=np.float64), rows.shape[:1]).copy()
    if not (np.isfinite(rows).all() and np.isfinite(sig).all() and (sig >= 0).all()):
        raise ValueError("x must be finite and sigma finite and >= 0")
    out = rows.copy()
    weight = fade(rows, sig)  # (k,): 0 where σ is 0 or the SNR far beyond training
    live = weight > 0
    if live.any():
        n_hat = noise_estimate(model, normalise(rows[live], sig[live]), chunk).astype(np.float64)
        step = (weight[live] * sig[live])[:, None] * np.nan_to_num(n_hat, nan=0.0)  # never NaN, whatever the weights
        out[live] = rows[live] - step
    return out.reshape(x.shape)


def fade(rows: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """How much of the correction each row gets, (k,) in [0, 1]: 1 up to FADE_DB[0] of SNR, 0 from
    FADE_DB[1] on and where σ is 0. The SNR is the row's variance over σ², less the noise's share."""
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        snr = 10 * np.log10(np.maximum(rows.var(axis=1) / sigma**2 - 1, 1e-30))
    lo, hi = FADE_DB
    return np.where(sigma > 0, np.clip((hi - snr) / (hi - lo), 0.0, 1.0), 0.0)


# ---- model files -----------------------------------------------------------------------------


def check_target(path: Path) -> None:
    """Raise BundleError now, before a training, if `save` could not write `path`."""
    why = unwritable_reason(Path(path), "a model file")
    if why is not None:
        raise BundleError(f"{path}: {why}")


def save(path: Path, model: ConvDAE, meta: dict) -> None:
    """Write weights (safetensors, float32) and metadata (JSON: the format, the architecture and
    `meta`) atomically; weights holding NaN or inf are refused."""
    path = Path(path)
    check_target(path)
    head = {**meta, "format": FORMAT, **model.config()}
    tensors = {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in model.state_dict().items()}
    bad = [k for k, v in tensors.items() if not torch.isfinite(v).all()]
    if bad:
        raise BundleError(f"{path}: not written: weights {bad[0]!r} hold NaN or inf (the training diverged)")
    try:
        with replacing(path) as tmp:
            save_file(tensors, str(tmp), metadata={"sigdenoise": json.dumps(head)})
    except (OutputError, SafetensorError) as e:
        raise BundleError(f"{path}: cannot write the model ({getattr(e, 'detail', None) or e})") from None


def _int(v, lo: int, hi: int) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi


MAX_WIDTH, MAX_DEPTH = 512, 8  # far above any model made here: a crafted file cannot make us allocate much
# What a model file's metadata must hold before anything is allocated: key -> (check, what it must be).
SCHEMA = {
    "widths": (
        lambda v: isinstance(v, list) and 2 <= len(v) <= MAX_DEPTH + 1 and all(_int(c, 1, MAX_WIDTH) for c in v),
        f"a list of 2 to {MAX_DEPTH + 1} channel counts from 1 to {MAX_WIDTH}",
    ),
    "blocks": (lambda v: _int(v, 1, 8), "a whole number from 1 to 8"),
    "kernel": (lambda v: _int(v, 1, 15) and v % 2 == 1, "an odd whole number from 1 to 15"),
    "activation": (lambda v: v in ACTIVATIONS, f"one of {', '.join(ACTIVATIONS)}"),
    "bound": (lambda v: finite(v) and 0 < v <= 1e6, "a number > 0"),
}


def read_meta(path: Path) -> dict:
    """The metadata of a model file, checked against SCHEMA; BundleError naming the file if not."""
    path = Path(path)
    meta = bundle.read_format(path, FORMAT)
    for key, (ok, what) in SCHEMA.items():
        if key not in meta:
            raise BundleError(f"{path}: its metadata has no {key!r}")
        if not ok(meta[key]):
            raise BundleError(f"{path}: metadata {key!r} must be {what}, got {json.dumps(meta[key])[:60]}")
    return meta


def load(path: Path) -> tuple[ConvDAE, dict]:
    """Rebuild the model from a file written by `save` (CPU, eval mode) and return it with its
    metadata; a wrong, crafted or corrupt file raises BundleError naming it."""
    meta = read_meta(path)
    model = ConvDAE(meta["widths"], meta["blocks"], meta["kernel"], meta["activation"], meta["bound"])
    bundle.load_weights(path, model, "the architecture its metadata describes")
    return model.eval(), meta


def default_path() -> Path:
    """The packaged model's file, sigdenoise/data/default-convdae.safetensors."""
    return Path(str(resources.files("sigdenoise") / "data" / DEFAULT_MODEL))


def load_default() -> tuple[ConvDAE, dict]:
    """The packaged model and its metadata (experiments/train_convdae.py made it)."""
    return load(default_path())
