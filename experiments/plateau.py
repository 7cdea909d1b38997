"""Measure where training loss plateaus, to choose the default --epochs.

Trains the full grid (7 activations x latent 1, 5; seed 0; 20,000 signals) for many epochs and
saves every member's per-epoch loss. Run: python experiments/plateau.py --epochs 300 --out experiments/plateau.csv
"""

import argparse

import numpy as np
import pandas as pd
import torch

from sigdenoise.models.activations import ACTIVATIONS
from sigdenoise.synthetic import generate
from sigdenoise.train.members import Member
from sigdenoise.train.stack import Ensemble
from sigdenoise.train.stacked import train_ensemble

p = argparse.ArgumentParser()
p.add_argument("--epochs", type=int, default=300)
p.add_argument("--out", default="experiments/plateau.csv")
args = p.parse_args()

x, _, _ = generate(20_000, np.random.default_rng([0, 0]))
ens = Ensemble.build([Member(l, a, 0) for l in (1, 5) for a in ACTIVATIONS])
names = [m.name for m in ens.members]
rows = []


def log(epoch, losses):
    rows.append(losses)
    if epoch % 10 == 9 or epoch == 0:
        pd.DataFrame(rows, columns=names).rename_axis("epoch").to_csv(args.out)
        print(epoch + 1, " ".join(f"{v:.4f}" for v in losses), flush=True)


train_ensemble(ens, {0: torch.tensor(x, dtype=torch.float32)}, args.epochs, on_epoch=log)
pd.DataFrame(rows, columns=names).rename_axis("epoch").to_csv(args.out)
