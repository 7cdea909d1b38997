"""`sigdenoise grid`: the options are GridSettings' fields (defaults and help read off them)."""

from __future__ import annotations

import time
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from sigdenoise.cli.common import (
    CLUSTER,
    BackendOpt,
    CpusOpt,
    DeviceOpt,
    GpusOpt,
    NoiseKind,
    Options,
    RayAddressOpt,
    as_fields,
    cluster,
    err,
    interrupted,
    one_line_errors,
    stdout,
    training_events,
    training_progress,
)
from sigdenoise.device import DEFAULT_DEVICE
from sigdenoise.distribute.sweep import SWEEPABLE
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
CLUSTER_OPTIONS = ("backend", "ray_address", "cpus_per_task", "gpus_per_task")
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
    lr: Annotated[float, G("lr")] = G.default("lr"),
    batch_size: Annotated[int, G("batch_size")] = G.default("batch_size"),
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
    sweep: Annotated[Optional[list[str]], typer.Option(help=(
        "SETTING=V1,V2,...: a run per value in <out>/SETTING=V, merged in <out>/results.csv with the setting as "
        "a column (repeatable: their product). Settings: " + ", ".join(SWEEPABLE) + "."),
        show_default=False, rich_help_panel=CLUSTER)] = None,  # fmt: skip
    backend: BackendOpt = "local",
    ray_address: RayAddressOpt = None,
    cpus_per_task: CpusOpt = 1.0,
    gpus_per_task: GpusOpt = 0.0,
) -> None:
    """Train and compare the autoencoder grid (activation x latent x noise) with the SVD projector."""
    options = locals()  # first, so that it holds the options only
    from sigdenoise.device import resolve
    from sigdenoise.distribute import grids
    from sigdenoise.distribute import sweep as sweeps_mod
    from sigdenoise.study import grid as grid_mod
    from sigdenoise.study import resume, tables
    from sigdenoise.study.runfolder import RunFolder, default_out, locked

    with one_line_errors():
        settings = GridSettings(**as_fields(options, AXES, skip=("out", "sweep", *CLUSTER_OPTIONS)))
        where = cluster(backend, ray_address, cpus_per_task, gpus_per_task)
        # On Ray each task takes its device where it runs; here only a local run needs one.
        dev = None if where.distributed else resolve(settings.device)
        root = out or default_out()
        swept = [sweeps_mod.Sweep.parse(t) for t in sweep or []]
        if swept:
            sweeps_mod.check_root(root, settings, swept)
            points = sweeps_mod.runs(settings, root, swept)
            runs = [(s, f) for _, s, f in points]
        else:
            runs = [(settings, RunFolder(root))]
        for s, f in runs:
            resume.check_grid_folder(f, s)
    t0 = time.perf_counter()
    # The folder is this run's until it ends: a second run into it is refused.
    with interrupted(), one_line_errors(), locked(root):
        for s, f in runs:
            resume.check_grid_folder(f, s)  # again, now that no other run can change it
        # A saved model of the folder that cannot be read back:
        with one_line_errors(BundleError, suffix="; delete it to train it again"), training_progress() as bar:
            if where.distributed:
                results = grids.run(runs, where, training_events(bar))
            else:
                results = [grid_mod.run(s, f, dev, training_events(bar)) for s, f in runs]
        for (s, f), df in zip(runs, results):
            grid_mod.write_outputs(df, f, s)
        shown = [tables.to_markdown(tables.grid_table(df, "test", "mse")) for df in results]
        if swept:
            sweeps_mod.merge(root, settings, swept, [p for p, _, _ in points], results, shown)
    for (s, f), table in zip(runs, shown):
        if swept:
            stdout.print(f"\n{f.root.name}:")
        stdout.print(table)
    err.print(f"Wrote {root} in {time.perf_counter() - t0:.1f} s on {dev or where.backend}.")
