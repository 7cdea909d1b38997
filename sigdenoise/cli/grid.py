"""`sigdenoise grid`: the options are GridSettings' fields (defaults and help read off them)."""

from __future__ import annotations

import time
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from sigdenoise.cli.common import (
    DeviceOpt,
    NoiseKind,
    Options,
    as_fields,
    err,
    interrupted,
    one_line_errors,
    stdout,
    training_events,
    training_progress,
)
from sigdenoise.device import DEFAULT_DEVICE
from sigdenoise.errors import BundleError
from sigdenoise.models.activations import Activation
from sigdenoise.study.settings import GridSettings
from sigdenoise.train.objectives import LOSSES, SPARSE_KINDS, VARIANTS

# Choices from the objectives module's registries.
Variant = Enum("Variant", {v: v for v in VARIANTS}, type=str)
SparseKind = Enum("SparseKind", {k: k for k in SPARSE_KINDS}, type=str)
LossKind = Enum("LossKind", {k: k for k in LOSSES}, type=str)
G = Options(GridSettings)
V = Options(GridSettings, rich_help_panel="Variants")
AXIS = {"show_default": False}  # a repeatable option: its help says its default
AXES = {"activation": "activations", "latent": "latents", "noise": "noises", "seed": "seeds", "variant": "variants"}
def grid(
    activation: Annotated[Optional[list[Activation]], G("activations", **AXIS)] = None,
    latent: Annotated[Optional[list[int]], G("latents", **AXIS)] = None,
    noise: Annotated[Optional[list[float]], G("noises", **AXIS)] = None,
    epochs: Annotated[int, G("epochs")] = G.default("epochs"),
    seed: Annotated[Optional[list[int]], G("seeds", **AXIS)] = None,
    n_train: Annotated[int, G("n_train")] = G.default("n_train"),
    n_test: Annotated[int, G("n_test")] = G.default("n_test"),
    sd: Annotated[float, G("sd")] = G.default("sd"),
    device: DeviceOpt = DEFAULT_DEVICE,
    out: Annotated[Optional[Path], typer.Option(help="Run folder; default runs/<date-time>. An existing one is resumed.", show_default=False)] = None,
    variant: Annotated[Optional[list[Variant]], V("variants", **AXIS)] = None,
    train_noise_kind: Annotated[NoiseKind, V("train_noise_kind")] = V.default("train_noise_kind"),
    train_noise_rate: Annotated[float, V("train_noise_rate")] = V.default("train_noise_rate"),
    sparse_kind: Annotated[SparseKind, V("sparse_kind")] = V.default("sparse_kind"),
    sparse_weight: Annotated[float, V("sparse_weight")] = V.default("sparse_weight"),
    rho: Annotated[float, V("rho")] = V.default("rho"),
    contractive_weight: Annotated[float, V("contractive_weight")] = V.default("contractive_weight"),
    beta: Annotated[float, V("beta")] = V.default("beta"),
    loss: Annotated[LossKind, V("loss")] = V.default("loss"),
    width: Annotated[Optional[int], V("width", show_default=False)] = V.default("width"),
) -> None:
    """Train and compare the autoencoder grid (activation x latent x noise) with the SVD projector."""
    options = locals()  # first, so that it holds the options only
    from sigdenoise.device import resolve
    from sigdenoise.study import grid as grid_mod
    from sigdenoise.study import resume, tables
    from sigdenoise.study.runfolder import RunFolder, default_out, locked

    with one_line_errors():
        settings = GridSettings(**as_fields(options, AXES, skip=("out",)))
        dev = resolve(settings.device)
        folder = RunFolder(out or default_out())
        resume.check_grid_folder(folder, settings)
    t0 = time.perf_counter()
    # The folder is this run's until it ends: a second run into it is refused.
    with interrupted(), one_line_errors(), locked(folder.root):
        resume.check_grid_folder(folder, settings)  # again, now that no other run can change it
        # A saved model of the folder that cannot be read back:
        with one_line_errors(BundleError, suffix="; delete it to train it again"), training_progress() as bar:
            results = grid_mod.run(settings, folder, dev, training_events(bar))
        grid_mod.write_outputs(results, folder, settings)
    stdout.print(tables.to_markdown(tables.grid_table(results, "test", "mse")))
    err.print(f"Wrote {folder.root} in {time.perf_counter() - t0:.1f} s on {dev}.")
