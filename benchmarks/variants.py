"""Variant training against plain training (issue 15): seconds per epoch of one member, each variant
through the vmapped engine's three steps (autograd eager; torch.func compiled; the fused engine's
hand-written step compiled, the default of a long training), next to a plain member through the
stacked engine compiled, all in this run, one thread each.

    python benchmarks/variants.py                 # 12 epochs of 20,000 signals per member, ~10 min
    python benchmarks/variants.py --epochs 4      # a quicker look

Steady state: the mean epoch after the first (which holds the compile). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import datetime
import platform
import time

import numpy as np
import torch

from sigdenoise import synthetic
from sigdenoise.train.common import cpu_threads
from sigdenoise.train.members import Member
from sigdenoise.train.objectives import VariantSettings
from sigdenoise.train.stack import Ensemble
from sigdenoise.train.stacked import train_ensemble
from sigdenoise.train.vmapped import train_vmapped

CASES = [("denoising", 1.0, "mse"), ("sparse", 0.0, "mse"), ("vae", 0.0, "mse"), ("plain", 0.0, "bce"),
         ("contractive", 0.0, "mse")]
STEPS = {"eager": dict(compile=False, fused=False), "torch.func, compiled": dict(compile=True, fused=False),
         "fused, compiled": dict(compile=True, fused=True)}


def timed_epochs(train, epochs: int) -> tuple[float, float]:
    """(steady seconds per epoch: the mean after the first, total seconds)."""
    marks = []
    t0 = time.perf_counter()
    train(lambda epoch, losses: marks.append(time.perf_counter()))
    total = time.perf_counter() - t0
    steady = np.diff(marks).mean() if len(marks) > 1 else total
    return float(steady), total


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--n-train", type=int, default=20_000)
    p.add_argument("--activation", default="gelu")
    args = p.parse_args()
    x = torch.tensor(synthetic.training_set(0, args.n_train, synthetic.SD), dtype=torch.float32)
    vs = VariantSettings()
    rows = []
    with cpu_threads(1, x.device):
        plain = Member(5, args.activation, 0)
        steady, total = timed_epochs(lambda hook: train_ensemble(Ensemble.build([plain]), {0: x}, args.epochs, on_epoch=hook,
                                                                 workers=1, compile=True), args.epochs)  # fmt: skip
        rows.append(("plain (stacked, compiled)", steady, total))
        base = steady
        for variant, level, loss in CASES:
            m = Member(5, args.activation, 0, variant, level, None, loss)
            for step, kw in STEPS.items():
                steady, total = timed_epochs(lambda hook: train_vmapped([m], {0: x}, args.epochs, vs, on_epoch=hook, **kw),
                                             args.epochs)  # fmt: skip
                name = variant if loss == "mse" else f"{variant} {loss}"
                rows.append((f"{name} ({step})", steady, total))
    print(f"\n{args.epochs} epochs of {args.n_train:,} signals, one {args.activation} latent-5 member, one thread; "
          f"{datetime.date.today()}, {platform.machine()}, torch {torch.__version__}\n")  # fmt: skip
    print("| training | s / epoch (steady) | × plain | total s (with compile) |")
    print("|---|---:|---:|---:|")
    for name, steady, total in rows:
        print(f"| {name} | {steady:.3f} | {steady / base:.2f} | {total:.1f} |")


if __name__ == "__main__":
    main()
