"""Regenerate the model that ships with the package: sigdenoise/data/default-ae.safetensors.

A denoising autoencoder of the study's architecture (gelu, latent 5, 100 -> 5 -> 100, ~13,500
weights, 56 KB): trained on 100,000 windows of the synthetic families, each input corrupted by
Gaussian noise of a level drawn per window in [0, 1.2], each window scaled as `denoise` scales it
(so the model learns the task it meets), Adam 3e-3 cosine-decayed to 1e-5 over 60 epochs, seed 0.
Why these: see README ("Denoising your own signals"). The same model from the command line:

    sigdenoise train --activation gelu --latent 5 --epochs 60 --n-train 100000 --train-noise 0:1.2 \
        --lr 3e-3 --lr-end 1e-5 --seed 0 --out sigdenoise/data/default-ae.safetensors

Run: python experiments/train_default_model.py  (about 3 minutes on one CPU core)
"""

import sys
from pathlib import Path

import torch

from sigdenoise.recordings.training import TrainSpec, train_model

OUT = Path(__file__).resolve().parents[1] / "sigdenoise" / "data" / "default-ae.safetensors"
SPEC = TrainSpec(activation="gelu", latent=5, epochs=60, noise=(0.0, 1.2), scale=True, n_train=100_000,
                 lr=3e-3, lr_end=1e-5, seed=0)  # fmt: skip

if __name__ == "__main__":
    torch.set_num_threads(1)  # a tiny model: one thread is fastest, and the result does not depend on the machine's cores
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else OUT
    meta = train_model(SPEC, out, torch.device("cpu"), on_epoch=lambda e, l: print(f"epoch {e + 1}: loss {l:.5f}", flush=True))
    print(f"wrote {out} ({out.stat().st_size:,} bytes), final loss {meta['final_train_loss']:.5f}, {meta['train_seconds']:.0f} s")
