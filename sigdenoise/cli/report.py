"""`sigdenoise report`: ReportSettings (the full study or --quick), with epochs and seeds overridable."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Optional

import typer

from sigdenoise.cli.common import (
    BackendOpt,
    CpusOpt,
    DeviceOpt,
    GpusOpt,
    RayAddressOpt,
    cluster,
    err,
    interrupted,
    one_line_errors,
    plain,
    training_events,
    training_progress,
)
from sigdenoise.device import DEFAULT_DEVICE


def default_folders(quick: bool) -> tuple[Path, Path]:
    """--out and --cache when not given: under runs/, never the committed reports/ (which only
    `--out reports` replaces); a quick check apart from the study."""
    if quick:
        return Path("runs") / "quick-report", Path("runs") / "report-quick"
    return Path("runs") / "report-out", Path("runs") / "report"


def report(
    quick: Annotated[bool, typer.Option("--quick", help="2 seeds, 4 epochs, small sets: under a minute on 2 cores; a check, not the study.")] = False,
    out: Annotated[Optional[Path], typer.Option(help="Folder to write REPORT.md, figures/, results.csv and claims.csv into.  \\[default: runs/report-out; with --quick runs/quick-report; --out reports replaces the committed report]", show_default=False)] = None,
    cache: Annotated[Optional[Path], typer.Option(help="Grid run folder (models) to train into or resume; default runs/report[-quick].", show_default=False)] = None,
    fresh: Annotated[bool, typer.Option("--fresh", help="Delete the cache first, so everything is rebuilt from nothing.")] = False,
    epochs: Annotated[Optional[int], typer.Option(help="Override the training epochs.", show_default=False)] = None,
    seed: Annotated[Optional[list[int]], typer.Option(help="Override the seeds (repeatable).", show_default=False)] = None,
    device: DeviceOpt = DEFAULT_DEVICE,
    backend: BackendOpt = "local",
    ray_address: RayAddressOpt = None,
    cpus_per_task: CpusOpt = 1.0,
    gpus_per_task: GpusOpt = 0.0,
) -> None:
    """Regenerate the report: the study's figures, statistics over seeds, baselines, the Bayes ceiling and the claims table."""
    from sigdenoise.device import resolve
    from sigdenoise.study import report as report_mod
    from sigdenoise.study import resume
    from sigdenoise.study.settings import ReportSettings

    overrides = {"epochs": epochs, "seeds": tuple(dict.fromkeys(seed)) if seed else None}
    with one_line_errors():
        settings = ReportSettings.quick_settings() if quick else ReportSettings()
        settings = replace(settings, **{k: v for k, v in overrides.items() if v is not None})
        settings.grid(plain(device))  # validates
        where = cluster(backend, ray_address, cpus_per_task, gpus_per_task)
        # On Ray each task resolves the device where it runs; the report itself evaluates on the CPU.
        dev = plain(device) if where.distributed else resolve(plain(device))
        default_out, default_cache = default_folders(quick)
        out, cache = out or default_out, cache or default_cache
        # Before any training: the folders must be makeable, and a kept cache resumable.
        resume.check_report_folders(out, cache, {} if fresh else settings.grids(dev if where.distributed else dev.type))
        if fresh:  # --fresh deletes a report cache only, never a folder with anything else in it
            resume.check_fresh_cache(cache)
    t0 = time.perf_counter()
    with interrupted(), one_line_errors(), training_progress() as bar:
        report_mod.build(settings, out, cache, dev, training_events(bar), fresh=fresh, cluster=where)
    err.print(f"Wrote {out}/REPORT.md in {time.perf_counter() - t0:.1f} s on {where.backend if where.distributed else dev}.")
