"""Sweeps over a grid's fixed settings: `--sweep beta=1e-3,1e-2,1e-1` runs the grid once per value,
each in a sub-run named after it (<out>/beta=0.001/, itself a complete run folder), and writes one
merged results.csv at <out> with the swept setting as a column. Several --sweep options sweep
their product. Locally the points run one after another; on Ray every task of every point at once.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from sigdenoise.atomic import write_text
from sigdenoise.errors import SettingsError, finite, require
from sigdenoise.study.runfolder import RunFolder, provenance
from sigdenoise.study.settings import GridSettings

# The settings a sweep may vary, and how their values read.
SWEEPABLE: dict[str, type] = {
    "beta": float, "lr": float, "batch_size": int, "width": int, "epochs": int, "sparse_weight": float,
    "contractive_weight": float, "rho": float, "train_noise_rate": float,
}  # fmt: skip
SWEEP_FILE = "sweep.json"


@dataclass(frozen=True)
class Sweep:
    """One swept setting (a GridSettings field) and its values, in the order given."""

    setting: str
    values: tuple

    @classmethod
    def parse(cls, text: str) -> Sweep:
        """'beta=1e-3,1e-2' (or batch-size=128,256) -> Sweep('beta', (0.001, 0.01))."""
        name, sep, rest = text.partition("=")
        name = name.strip().replace("-", "_")
        require(sep == "=" and rest.strip() != "", "--sweep", f"takes SETTING=V1,V2,..., got {text!r}")
        require(name in SWEEPABLE, "--sweep", f"cannot sweep {name!r}; choose from {', '.join(SWEEPABLE)}")
        kind, values = SWEEPABLE[name], []
        for v in rest.split(","):
            try:
                values.append(kind(float(v)) if kind is int and float(v).is_integer() else kind(v))
            except ValueError:
                raise SettingsError("--sweep", f"{name}: {v.strip()!r} is not {'an integer' if kind is int else 'a number'}") from None
            require(finite(values[-1]), "--sweep", f"{name}: {v.strip()!r} is not finite")
        require(len(set(values)) == len(values), "--sweep", f"{name}: a value is given twice")
        return cls(name, tuple(values))


def points(sweeps: list[Sweep]) -> list[dict]:
    """Every combination of the swept values, the first sweep varying slowest."""
    names = [s.setting for s in sweeps]
    require(len(set(names)) == len(names), "--sweep", "sweeps one setting twice")
    return [dict(zip(names, combo)) for combo in itertools.product(*(s.values for s in sweeps))]


def point_name(point: dict) -> str:
    """The sub-run folder of one point: beta=0.001, or beta=0.001,lr=0.01."""
    return ",".join(f"{k}={v:g}" for k, v in point.items())


def runs(settings: GridSettings, root: Path, sweeps: list[Sweep]) -> list[tuple[dict, GridSettings, RunFolder]]:
    """Each point, its settings (validated as any grid's) and its sub-run folder."""
    out = []
    for p in points(sweeps):
        try:
            out.append((p, replace(settings, **p), RunFolder(root / point_name(p))))
        except SettingsError as e:  # a swept value out of range: say which point
            raise SettingsError("--sweep", f"{point_name(p)}: {e}") from None
    return out


def check_root(root: Path, settings: GridSettings, sweeps: list[Sweep]) -> None:
    """A sweep's folder holds one sweep: the same settings and swept settings on a rerun."""
    path = root / SWEEP_FILE
    if path.is_file():
        try:
            old = json.loads(path.read_text())
        except ValueError:
            raise SettingsError("--out", f"{path} is not a sweep's record; choose another --out") from None
        if old.get("swept") != [s.setting for s in sweeps]:
            raise SettingsError("--out", f"{root} holds a sweep of {old.get('swept')}; choose another --out")
    elif (root / "config.json").is_file():
        raise SettingsError("--out", f"{root} holds a grid run, not a sweep; choose another --out")


def merge(root: Path, settings: GridSettings, sweeps: list[Sweep], points: list[dict], results: list[pd.DataFrame],
          summaries: list[str]) -> pd.DataFrame:  # fmt: skip
    """<root>/results.csv: every point's rows, the swept settings as the first columns; summary.md:
    each point's summary (Markdown) under its name; sweep.json: the settings and the points."""
    frames = [df.assign(**p)[list(p) + list(df.columns)] for p, df in zip(points, results)]
    table = pd.concat(frames, ignore_index=True)
    write_text(root / "results.csv", table.to_csv(index=False))
    text = [f"# Sweep of {', '.join(s.setting for s in sweeps)}\n"]
    text += [f"## {point_name(p)}\n\n{summary}\n" for p, summary in zip(points, summaries)]
    write_text(root / "summary.md", "\n".join(text))
    doc = {"settings": settings.to_dict(), "swept": [s.setting for s in sweeps],
           "points": [point_name(p) for p in points], **provenance()}  # fmt: skip
    write_text(root / SWEEP_FILE, json.dumps(doc, indent=1, default=str) + "\n")
    return table
