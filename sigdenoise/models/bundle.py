"""A trained autoencoder on disk: safetensors weights plus JSON metadata (never a pickle).

The metadata holds what `denoise` needs to rebuild and use the model: activation, latent,
n_samples, and the amplitude range of the training signals, so that a user's windows can be scaled
into it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save_file

from sigdenoise.atomic import replacing, unwritable_reason
from sigdenoise.errors import BundleError, OutputError
from sigdenoise.models.autoencoder import Autoencoder

FORMAT = "sigdenoise-ae/1"



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
    try:
        with replacing(path) as tmp:
            save_file(tensors, str(tmp), metadata={"sigdenoise": json.dumps(head)})
    except (OutputError, SafetensorError) as e:  # safetensors reports its own I/O failures as SafetensorError
        raise BundleError(f"{path}: cannot write the model ({getattr(e, 'detail', None) or e})") from None


def read_meta(path: Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise BundleError(f"{path}: no such model file")
    try:
        with safe_open(str(path), framework="pt") as f:
            raw = (f.metadata() or {}).get("sigdenoise")
    except (SafetensorError, OSError, ValueError) as e:
        raise BundleError(f"{path}: not a sigdenoise model (unreadable safetensors: {e})") from None
    if raw is None:
        raise BundleError(f"{path}: a safetensors file without sigdenoise metadata")
    try:
        meta = json.loads(raw)
    except ValueError as e:
        raise BundleError(f"{path}: its sigdenoise metadata is not JSON ({e})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        meta = meta if isinstance(meta, dict) else {}
        raise BundleError(f"{path}: unsupported model format {meta.get('format')!r} (expected {FORMAT})")
    return meta


def load(path: Path, device: torch.device | str = "cpu") -> tuple[Autoencoder, dict]:
    """Rebuild the model from weights only; a wrong or corrupt file raises BundleError."""
    meta = read_meta(path)
    try:
        model = Autoencoder(meta["activation"], int(meta["latent"]), int(meta["seed"]), int(meta["n_samples"]),
                            width=meta.get("width"), vae=bool(meta.get("vae", False)), output=meta.get("output", "linear"))
    except KeyError as e:
        raise BundleError(f"{path}: its metadata has no {e.args[0]!r}") from None
    except (ValueError, TypeError) as e:  # the activation, latent, output or sizes do not make a model
        raise BundleError(f"{path}: {e}") from None
    try:
        model.load_state_dict(load_file(str(path)))
    except (SafetensorError, RuntimeError, KeyError) as e:
        raise BundleError(f"{path}: weights do not fit a {meta['activation']} latent-{meta['latent']} model: {e}") from None
    return model.to(device).eval(), meta
