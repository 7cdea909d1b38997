"""A trained autoencoder on disk: safetensors weights plus JSON metadata (never a pickle).

The metadata holds what `denoise` needs to rebuild and use the model: activation, latent,
n_samples, and the amplitude range of the training signals, so that a user's windows can be scaled
into it.

torch is imported by the functions that build or save a torch model, not here: reading a file's
metadata and `numpy_fn` (auto's packaged candidate) do without it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from safetensors import SafetensorError, safe_open

from sigdenoise.atomic import replacing, unwritable_reason
from sigdenoise.errors import BundleError, OutputError, finite
from sigdenoise.models.activations import ACTIVATIONS
from sigdenoise.models.architecture import LATENTS, layer_sizes

if TYPE_CHECKING:
    import torch

    from sigdenoise.models.autoencoder import Autoencoder

FORMAT = "sigdenoise-ae/1"
DEFAULT_MODEL = "default-ae.safetensors"  # the packaged autoencoder, in sigdenoise/data/



def training_range(clean: np.ndarray) -> dict[str, float]:
    """Typical per-signal centre and half-range of training signals (n, d): medians, robust to outliers."""
    lo, hi = clean.min(axis=1), clean.max(axis=1)
    return {"center": float(np.median((hi + lo) / 2)), "half_range": float(np.median((hi - lo) / 2))}


def check_target(path: Path) -> None:
    """Raise BundleError now, before a training, if `save` could not write `path`."""
    why = unwritable_reason(path, "a model file")
    if why is not None:
        raise BundleError(f"{path}: {why}")


def save(path: Path, model: Autoencoder, meta: dict) -> None:
    """Write weights and metadata atomically (atomic.replacing): the file gets the mode open()
    would give it (safetensors creates 0600), and a failure leaves nothing behind."""
    import torch
    from safetensors.torch import save_file

    path = Path(path)
    check_target(path)
    head = {
        "format": FORMAT,
        "activation": model.activation,
        "latent": model.latent,
        "seed": model.seed,
        "n_samples": model.layers[0].in_features,
        "width": model.width,
        "vae": model.vae,
        "output": model.output,
        **meta,
    }
    tensors = {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in model.state_dict().items()}
    bad = [k for k, v in tensors.items() if not torch.isfinite(v).all()]
    if bad:  # a diverged training: never write a model that denoises to NaN
        raise BundleError(f"{path}: not written: weights {bad[0]!r} hold NaN or inf (the training diverged; "
                          "lower the learning rate or check the data)")  # fmt: skip
    try:
        with replacing(path) as tmp:
            save_file(tensors, str(tmp), metadata={"sigdenoise": json.dumps(head)})
    except (OutputError, SafetensorError) as e:  # safetensors reports its own I/O failures as SafetensorError
        raise BundleError(f"{path}: cannot write the model ({getattr(e, 'detail', None) or e})") from None


def read_meta(path: Path) -> dict:
    meta = read_format(path, FORMAT)
    check_meta(path, meta)
    return meta


def read_format(path: Path, fmt: str) -> dict:
    """A model file's sigdenoise metadata, which must be a JSON object of format `fmt`; BundleError
    naming the file if it is missing, unreadable, not JSON or another format. Its keys are the
    caller's to check (against its schema) before anything is allocated."""
    path = Path(path)
    if not path.is_file():
        raise BundleError(f"{path}: no such model file")
    try:
        with safe_open(str(path), framework="numpy") as f:
            raw = (f.metadata() or {}).get("sigdenoise")
    except (SafetensorError, OSError, ValueError) as e:
        raise BundleError(f"{path}: not a sigdenoise model (unreadable safetensors: {e})") from None
    if raw is None:
        raise BundleError(f"{path}: a safetensors file without sigdenoise metadata")
    try:
        meta = json.loads(raw)
    except ValueError as e:
        raise BundleError(f"{path}: its sigdenoise metadata is not JSON ({e})") from None
    if not isinstance(meta, dict) or meta.get("format") != fmt:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise BundleError(f"{path}: unsupported model format {found!r} (expected {fmt})")
    return meta


MAX_SIZE = 100_000  # samples or units of a layer: far above any model made here, and a bounded allocation


def _int(v, lo: int, hi: int) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi


# What a model file's metadata must hold before anything is allocated: key -> (check, what it must be).
SCHEMA = {
    "activation": (lambda v: v in ACTIVATIONS, f"one of {', '.join(ACTIVATIONS)}"),
    "latent": (lambda v: _int(v, 1, 5) and v in LATENTS, f"one of {', '.join(map(str, LATENTS))}"),
    "seed": (lambda v: _int(v, 0, 2**63 - 1), "a whole number >= 0"),
    "n_samples": (lambda v: _int(v, 1, MAX_SIZE), f"a whole number from 1 to {MAX_SIZE:,}"),
    "width": (lambda v: v is None or _int(v, 8, MAX_SIZE), f"empty or a whole number from 8 to {MAX_SIZE:,}"),
    "vae": (lambda v: isinstance(v, bool), "true or false"),
    "output": (lambda v: v in ("linear", "sigmoid"), "linear or sigmoid"),
    "scale": (lambda v: isinstance(v, dict) and finite(v.get("center")) and finite(v.get("half_range"))
              and v["half_range"] > 0, "a table of a finite center and a half_range > 0"),  # fmt: skip
}
REQUIRED = ("activation", "latent", "seed", "n_samples")


def check_meta(path: Path, meta: dict) -> None:
    """Raise BundleError naming the file and the key whose value does not fit SCHEMA."""
    for key in REQUIRED:
        if key not in meta:
            raise BundleError(f"{path}: its metadata has no {key!r}")
    for key, (ok, what) in SCHEMA.items():
        if key in meta and not (key == "scale" and meta[key] is None) and not ok(meta[key]):
            raise BundleError(f"{path}: metadata {key!r} must be {what}, got {json.dumps(meta[key])[:60]}")


def load(path: Path, device: torch.device | str = "cpu") -> tuple[Autoencoder, dict]:
    """Rebuild the model from weights only; a wrong or corrupt file raises BundleError."""
    from sigdenoise.models.autoencoder import Autoencoder

    meta = read_meta(path)
    try:
        model = Autoencoder(meta["activation"], int(meta["latent"]), int(meta["seed"]), int(meta["n_samples"]),
                            width=meta.get("width"), vae=bool(meta.get("vae", False)), output=meta.get("output", "linear"))
    except KeyError as e:
        raise BundleError(f"{path}: its metadata has no {e.args[0]!r}") from None
    except (ValueError, TypeError) as e:  # the activation, latent, output or sizes do not make a model
        raise BundleError(f"{path}: {e}") from None
    load_weights(path, model, f"a {meta['activation']} latent-{meta['latent']} model", " (retrain it)")
    return model.to(device).eval(), meta


def load_weights(path: Path, model: torch.nn.Module, described: str, hint: str = "") -> None:
    """Load a model file's weights into `model`, built from its metadata (`described` says what it
    is); BundleError naming the file if they do not fit it or hold NaN or inf."""
    import torch
    from safetensors.torch import load_file

    try:
        tensors = load_file(str(path))
        model.load_state_dict(tensors)
    except (SafetensorError, RuntimeError, KeyError) as e:
        raise BundleError(f"{path}: weights do not fit {described}: {e}") from None
    bad = [k for k, v in tensors.items() if not torch.isfinite(v).all()]
    if bad:
        raise BundleError(f"{path}: weights {bad[0]!r} hold NaN or inf; the model is unusable{hint}")


def default_model_path() -> Path:
    """The packaged autoencoder, sigdenoise/data/default-ae.safetensors."""
    return Path(str(resources.files("sigdenoise") / "data" / DEFAULT_MODEL))


def model_fn(model: torch.nn.Module, batch: int = 1 << 16) -> Callable[[np.ndarray], np.ndarray]:
    """Run a torch model on numpy windows in float32 batches; returns float64."""
    import torch

    p = next(model.parameters())

    def fn(z: np.ndarray) -> np.ndarray:
        out = np.empty(z.shape)
        with torch.inference_mode():
            for i in range(0, len(z), batch):
                xt = torch.as_tensor(z[i : i + batch], dtype=p.dtype, device=p.device)
                out[i : i + batch] = model(xt).double().cpu().numpy()
        return out

    return fn


def numpy_fn(path: Path, batch: int = 1 << 16) -> tuple[Callable[[np.ndarray], np.ndarray], dict]:
    """A plain gelu model's forward pass (the packaged model's kind: not a VAE, linear output) in
    numpy float32, as model_fn runs it in torch, and the file's metadata. auto runs the packaged
    model as a candidate on nearly every input, and importing torch for it was 2 s of a small
    file's run. Each layer's x·Wᵀ + b is summed in float64 and rounded to float32 (float32 products
    are exact in float64, so a row's output does not depend on the rows beside it, as BLAS's float32
    blocking made it do by up to 5e-7), then GELU in float32 as torch computes it, x·0.5·(1 + erf(x/√2)).
    Equal to model_fn's output to float32 rounding (tests/test_denoise_cli.py). Any other model is a
    BundleError: model_fn runs those."""
    meta = read_meta(path)
    if meta["activation"] != "gelu" or meta.get("vae") or meta.get("output", "linear") != "linear":
        raise BundleError(f"{path}: numpy runs a plain gelu model with a linear output only; load it with torch")
    from safetensors.numpy import load_file
    from scipy.special import erf

    sizes = layer_sizes(int(meta["latent"]), int(meta["n_samples"]), meta.get("width"))
    try:
        t = load_file(str(path))
        layers = [(t[f"layers.{i}.weight"].T, t[f"layers.{i}.bias"]) for i in range(len(sizes) - 1)]
    except (SafetensorError, KeyError) as e:
        raise BundleError(f"{path}: weights do not fit a gelu latent-{meta['latent']} model: {e}") from None
    for i, (w, b) in enumerate(layers):
        if w.shape != (sizes[i], sizes[i + 1]) or b.shape != (sizes[i + 1],) or w.dtype != np.float32:
            raise BundleError(f"{path}: weights of layer {i} do not fit a gelu latent-{meta['latent']} model")
        if not (np.isfinite(w).all() and np.isfinite(b).all()):
            raise BundleError(f"{path}: weights of layer {i} hold NaN or inf; the model is unusable")
    layers = [(np.ascontiguousarray(w, dtype=np.float64), b.astype(np.float64)) for w, b in layers]
    half, root_half = np.float32(0.5), np.float32(math.sqrt(0.5))

    def fn(z: np.ndarray) -> np.ndarray:
        out = np.empty(z.shape)
        for i in range(0, len(z), batch):
            h = np.asarray(z[i : i + batch], dtype=np.float32)  # the model's input, as model_fn's
            for k, (w, b) in enumerate(layers):
                h = (h @ w + b).astype(np.float32)
                if k < len(layers) - 1:
                    h = h * half * (1 + erf(h * root_half))
            out[i : i + batch] = h
        return out

    return fn, meta
