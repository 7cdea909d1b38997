"""A grid as tasks: one task per seed (each a stacked training of that seed's members), each
writing a sub-run under tasks/seed-<s>/ that is itself a complete, resumable run folder; the parent
then gets what a local run writes, merged: results.csv and training_loss.csv in a local run's row
and column order, the first seed's probe.csv, the models, config.json.

A seed's members train exactly as they would beside the others (a member's numbers depend on its
own key only: seeds.py; the variants' noise seed is the parent's, `GridSettings.noise_seed`), so
the merged numbers are a local run's, bit for bit, but for each row's train_seconds and
ensemble_size (how long it took and how many members trained beside it).

A finished task leaves tasks/seed-<s>/done.json; a rerun (after the driver was killed, say) skips
those and runs the rest.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pandas as pd

from sigdenoise.atomic import replacing, write_text
from sigdenoise.distribute.backend import Cluster, run_all
from sigdenoise.errors import SigdenoiseError
from sigdenoise.study.runfolder import DONE, RESULT_COLUMNS, TASKS, RunFolder
from sigdenoise.study.settings import GridSettings

Event = Callable[..., None]


class TaskError(SigdenoiseError):
    """Tasks of a distributed run that failed; the message names each and its error."""


def task_name(seed: int) -> str:
    return f"seed-{seed}"


def split(settings: GridSettings) -> dict[str, GridSettings]:
    """The run's tasks by sub-run name: one per seed, with the parent's variant noise seed where it
    matters (variants other than plain) and differs from the task's own (so that a plain grid's
    task folder is one `grid --seed S` resumes)."""
    n, variants = settings.variant_noise_seed, set(settings.variants) != {"plain"}
    return {task_name(s): replace(settings, seeds=(s,), noise_seed=n if variants and n != s else None) for s in settings.seeds}


def is_done(folder: Path, settings: GridSettings) -> bool:
    """Whether the task in `folder` finished with these settings (its done.json says so)."""
    try:
        return json.loads((folder / DONE).read_text())["settings"] == json.loads(json.dumps(settings.to_dict()))
    except (OSError, ValueError, KeyError, TypeError):
        return False


def run_task(root: str, settings: GridSettings) -> dict:
    """One task, where it runs: grid.run into the sub-run `root` (resuming what it holds), then
    done.json. Returns what done.json holds: the settings, the device and host it ran on, and
    its wall time."""
    from sigdenoise.device import resolve
    from sigdenoise.study import grid
    from sigdenoise.study.resume import check_grid_folder
    from sigdenoise.study.runfolder import locked

    t0 = time.perf_counter()
    folder = RunFolder(Path(root))
    dev = resolve(settings.device)
    check_grid_folder(folder, settings)
    with locked(folder.root):
        grid.run(settings, folder, dev)
        info = {"settings": settings.to_dict(), "device": str(dev), "host": os.uname().nodename,
                "seconds": round(time.perf_counter() - t0, 3)}  # fmt: skip
        write_text(folder.root / DONE, json.dumps(info, indent=1) + "\n")
    return info


def run(runs: list[tuple[GridSettings, RunFolder]], cluster: Cluster, on_event: Event | None = None) -> list[pd.DataFrame]:
    """Run (or resume) each grid in its folder as tasks on the cluster, all of them submitted at
    once, then merge each grid's tasks into its folder; returns each grid's merged results. A task
    that fails does not stop the others; the run then ends with a TaskError naming each that
    failed (the finished ones are kept for the rerun)."""
    emit = on_event or (lambda *a, **k: None)
    for settings, folder in runs:  # a run from the start: a rerun with other settings is refused at once
        if not (folder.root / "config.json").is_file():
            folder.write_config(settings.to_dict(), "")  # its device: its tasks', once they have run
    tasks = [(folder.root / TASKS / n, s) for settings, folder in runs for n, s in split(settings).items()]
    todo = [(path, s) for path, s in tasks if not is_done(path, s)]
    if len(todo) < len(tasks):
        emit("stage", f"{len(tasks) - len(todo)} of {len(tasks)} tasks already done")
    if todo:
        emit("stage", f"{len(todo)} tasks on {cluster.backend} ({cluster.cpus_per_task:g} CPU"
                      f"{f', {cluster.gpus_per_task:g} GPU' if cluster.gpus_per_task else ''} each)")  # fmt: skip
    for path, s in todo:  # a model the parent holds already (a local run's) is not trained again
        _seed_models(RunFolder(path.parent.parent), RunFolder(path), s)
    todo = [(str(path), s) for path, s in todo]
    failed = []
    for i, result in run_all(run_task, todo, cluster):
        if isinstance(result, BaseException):
            failed.append(f"{todo[i][0]}: {result}")
            emit("stage", f"task {todo[i][0]} failed: {result}")
        else:
            emit("stage", f"task {todo[i][0]} done on {result['host']} ({result['device']}) in {result['seconds']:.1f} s")
    if failed:
        raise TaskError(f"{len(failed)} of {len(tasks)} tasks failed ({'; '.join(failed)}); the others are kept: "
                        "run the same command again to finish them")  # fmt: skip
    return [merge(settings, folder) for settings, folder in runs]


def merge(settings: GridSettings, folder: RunFolder) -> pd.DataFrame:
    """Write into `folder` what a local run of `settings` writes, from its finished tasks."""
    from sigdenoise.study.grid import grid_members
    from sigdenoise.train import front

    subs = {n: RunFolder(folder.root / TASKS / n) for n in split(settings)}
    device = json.loads((subs[task_name(settings.seeds[0])].root / DONE).read_text())["device"]
    folder.write_config(settings.to_dict(), device)
    members = grid_members(settings)
    order = {(m.latent, m.activation, m.seed, m.variant, m.train_noise): i for i, m in enumerate(members)}
    frames = [sub.read_results() for sub in subs.values()]
    base = pd.concat([f[f["model"] != "ae"] for f in frames], ignore_index=True)
    ae = pd.concat([f[f["model"] == "ae"] for f in frames], ignore_index=True)
    rank = [order[(int(r.latent), r.activation, int(r.seed), r.variant, float(r.train_noise))] for r in ae.itertuples()]
    ae = ae.assign(_rank=rank).sort_values("_rank", kind="stable").drop(columns="_rank")
    results = pd.concat([base, ae], ignore_index=True)[RESULT_COLUMNS]
    folder.write_results(results)
    # The probe is drawn for the first seed; its task holds it.
    _copy(subs[task_name(settings.seeds[0])].probe_path, folder.probe_path)
    recipe = front.Recipe(settings.epochs)
    trained_order = [m.name for _, group in front.plan(members, recipe) for m in group]
    # The tasks' curves, and the parent's own for members no task trained (a local run's, resumed).
    paths = [folder.root / "training_loss.csv", *(sub.root / "training_loss.csv" for sub in subs.values())]
    tables = [pd.read_csv(p, index_col="epoch") for p in paths if p.is_file()]
    if tables:
        losses = pd.concat(tables, axis=1)
        losses = losses.loc[:, ~losses.columns.duplicated(keep="last")]
        folder.write_text_table("training_loss.csv", losses[[n for n in trained_order if n in losses.columns]])
    for m in members:
        src = subs[task_name(m.seed)].model_path(m.name)
        _copy(src, folder.model_path(m.name))
    return results.reset_index(drop=True)


def _seed_models(parent: RunFolder, task: RunFolder, settings: GridSettings) -> None:
    """Copy into the task's folder each of its members' models that the parent folder holds and
    the task does not (grid.run checks each against its member before using it)."""
    from sigdenoise.study.grid import grid_members

    have = [m for m in grid_members(settings) if parent.model_path(m.name).is_file() and not task.model_path(m.name).is_file()]
    if not have:
        return
    if not (task.root / "config.json").is_file():  # a folder of models alone is not taken for a run
        task.write_config(settings.to_dict(), "")  # the device: the task's, once it runs
    for m in have:
        _copy(parent.model_path(m.name), task.model_path(m.name))


def _copy(src: Path, dst: Path) -> None:
    """src to dst, atomically (atomic.replacing)."""
    with replacing(dst) as tmp:
        shutil.copyfile(src, tmp)
