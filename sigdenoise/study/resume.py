"""Whether a run may be written into a folder: one that can be made, that holds a run (or nothing),
whose earlier rows were made with the same training settings, and whose axes the new run keeps.

Every check raises SettingsError naming the option at fault, before any training. A resumed run
trusts nothing it reads back: rows that are incomplete or non-finite are recomputed
(`complete_rows`), and a saved model must be the member its file name says (`check_model`).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import fields
from pathlib import Path

import numpy as np
import pandas as pd

from sigdenoise.atomic import is_leftover, unwritable_reason
from sigdenoise.errors import BundleError, SettingsError
from sigdenoise.study.runfolder import DONE, LOCK, METRICS, TASKS, RunFolder
from sigdenoise.study.settings import GridSettings

AXES = ("activations", "latents", "noises", "seeds", "variants")
# Settings that must match for a folder's earlier rows to be reused: every field but the grid's axes
# (which may grow) and the device option (auto may name either; check_device compares the kind
# of device the rows were trained on, whose last bits differ between CPU and CUDA).
FIXED = tuple(f.name for f in fields(GridSettings) if f.name not in AXES + ("device",))


def check_folder(root: Path, option: str) -> None:
    """Refuse a folder that cannot be made or written in (atomic.unwritable_reason)."""
    why = unwritable_reason(root, None, folder_word="folder")
    if why is not None:
        raise SettingsError(option, f"{why}; choose another {option}")


def check_folder_is_run(root: Path) -> None:
    """Refuse to write a run into a folder that holds something else: a non-empty folder without
    a run's config.json, or the current directory named as ''."""
    if str(root) in ("", "."):
        raise SettingsError("--out", "needs a folder name (the current directory is not a run folder)")
    # The lock and an atomic write's leftover are what a run killed before its first file leaves.
    if root.is_dir() and not (root / "config.json").is_file() and any(p.name != LOCK and not is_leftover(p.name)
                                                                       for p in root.iterdir()):  # fmt: skip
        raise SettingsError("--out", f"{root} is a folder with other files and no run's config.json; choose another --out")


def check_extends(folder: RunFolder, settings: GridSettings) -> None:
    """A resumed run must keep every value of each axis the folder holds: its config, summary,
    probe table and figures describe the run just made, so a subset would drop the rest."""
    path = folder.root / "config.json"
    if not path.is_file():
        return
    old = json.loads(path.read_text()).get("settings", {})
    for axis in AXES:
        missing = [v for v in old.get(axis, ()) if v not in getattr(settings, axis)]
        if missing:
            option = f"--{axis[:-1]}"
            raise SettingsError(option, f"{folder.root} holds {axis} {', '.join(map(str, missing))} too; a resumed run "
                                        f"keeps all of them (add {' '.join(f'{option} {v}' for v in missing)}) or takes another --out")  # fmt: skip


def check_resumable(folder: RunFolder, settings: GridSettings, option: str = "--out") -> None:
    """Refuse to mix rows of different training settings in one folder (set by `option`)."""
    check_folder(folder.root, option)
    path = folder.root / "config.json"
    if not path.is_file():
        return
    try:
        old = json.loads(path.read_text()).get("settings", {})
        if not isinstance(old, dict):
            raise ValueError("its settings are not a table")
    except (ValueError, AttributeError, OSError) as e:  # AttributeError: valid JSON, not an object
        raise SettingsError(option, f"{path} is not a run's config ({e}); choose another {option}") from None
    for name in FIXED:
        if name in old and old[name] != getattr(settings, name):
            raise SettingsError(
                option, f"{folder.root} holds a run with {name}={old[name]}, not {getattr(settings, name)}; choose another {option}"
            )


def check_device(folder: RunFolder, device, option: str = "--device") -> None:
    """Refuse to resume on another kind of device (cpu, cuda) than the folder's rows were trained
    on: the same seeds give the same numbers on one kind, not across (float rounding differs)."""
    path = folder.root / "config.json"
    if not path.is_file():
        return
    try:
        old = str(json.loads(path.read_text()).get("device", ""))
    except (ValueError, AttributeError, OSError):
        return  # check_resumable names a broken config
    kind, new = old.split(":")[0], str(device).split(":")[0]
    if kind and kind != new:
        raise SettingsError(option, f"{folder.root} was trained on {kind}; a resumed run trains on the same kind of "
                                    f"device (pass {option} {kind}) or takes another folder")  # fmt: skip


def check_grid_folder(folder: RunFolder, settings: GridSettings) -> None:
    """Everything `grid --out` must pass before training: a run folder (or none yet) whose earlier
    rows share the settings and whose axes the new run keeps."""
    check_folder_is_run(folder.root)
    check_resumable(folder, settings)
    check_extends(folder, settings)


def check_report_folders(out: Path, cache: Path, grids: dict[str, GridSettings]) -> None:
    """Everything `report` must pass before training: both folders makeable, and each grid run
    kept in the cache (by subfolder) resumable with its settings."""
    check_folder(out, "--out")
    check_folder(cache, "--cache")
    o, c = Path(out).resolve(), Path(cache).resolve()
    if o == c or c in o.parents or o in c.parents:
        raise SettingsError("--out", f"{out} and the cache {cache} must be apart (the report would overwrite its runs)")
    for name, settings in grids.items():
        check_resumable(RunFolder(cache / name), settings, "--cache")


# The report's cache: these run folders and nothing else (report.ReportSettings.grids), the
# other reading's grid named by its sd (grid-sd1.5).
CACHE_RUNS = ("grid", "variants", "wide")
OTHER_READING = re.compile(r"grid-sd[0-9][0-9.e+-]*")
RUN_ENTRIES = {"config.json", "results.csv", "probe.csv", "summary.md", "training_loss.csv", "figures", "models", LOCK}


def _is_run(path: Path, task: bool = False) -> bool:
    """A folder a grid run wrote: a run's config.json, and only a run's files (or an atomic
    write's leftover .NAME.XXXX.tmp) beside it; tasks/ too, holding only task run folders (a run
    made of tasks), and done.json in a task's."""
    if not path.is_dir() or path.is_symlink():
        return False
    try:
        if not isinstance(json.loads((path / "config.json").read_text()).get("settings"), dict):
            return False
        names = [p.name for p in path.iterdir()]
    except (OSError, ValueError, AttributeError):
        return False
    tasks = path / TASKS
    if not task and TASKS in names and not (tasks.is_dir() and all(_is_run(p, task=True) for p in tasks.iterdir())):
        return False
    allowed = RUN_ENTRIES | ({DONE} if task else {TASKS})
    return all(n in allowed or is_leftover(n) for n in names)


def check_fresh_cache(cache: Path) -> list[Path]:
    """The run folders `report --fresh` may delete: `cache` must be a report cache (only grid/,
    variants/, wide/ and the other reading's grid-sd1.5/ at the top, each a run folder); anything else is refused before anything is
    touched, since the folder may be a user's."""
    cache = Path(cache)
    if not cache.exists():
        return []
    if not cache.is_dir() or cache.is_symlink():
        raise SettingsError("--cache", f"{cache} is not a report cache folder; --fresh deletes only a report cache")
    runs = []
    for p in sorted(cache.iterdir()):
        if p.name == LOCK:
            continue
        if not (p.name in CACHE_RUNS or OTHER_READING.fullmatch(p.name)) or not _is_run(p):
            raise SettingsError("--cache", f"{cache} holds {p.name}, which is not a report cache's run folder "
                                           f"({', '.join(CACHE_RUNS)}, grid-sd<sd>); --fresh deletes only a report cache: "
                                           f"choose another --cache or remove it yourself")  # fmt: skip
        runs.append(p)
    return runs


_AE_COLUMNS = ("epochs", "n_train", "final_train_loss", "train_seconds", "ensemble_size")


def complete_rows(df: pd.DataFrame) -> np.ndarray:
    """Which rows read back from results.csv are whole and finite (bool, (rows,)): a row cut short,
    with a cell that is not a number, or with a NaN or inf metric is recomputed, not kept."""
    def num(col):
        return pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float) if col in df else np.full(len(df), np.nan)

    model, kind = df["model"].astype(str), df["eval"].astype(str)
    ok = model.isin(["noisy", "svd", "ae"]).to_numpy() & kind.isin(["probe", "test"]).to_numpy()
    for col in ("noise", "seed", *METRICS):
        ok &= np.isfinite(num(col))
    ok &= np.isfinite(num("mean_mse")) | (kind != "probe").to_numpy()
    ok &= np.isfinite(num("latent")) | (model == "noisy").to_numpy()
    is_ae = (model == "ae").to_numpy()
    for col in _AE_COLUMNS:
        ok &= np.isfinite(num(col)) | ~is_ae
    ok &= (df["activation"].astype(str).str.len() > 0).to_numpy() | ~is_ae
    return ok


def _same(got, value) -> bool:
    """A metadata value against the member's: numbers to rounding (JSON may write 1 for 1.0)."""
    if got is None or value is None:
        return got is value
    if isinstance(value, str) or isinstance(got, (str, bool)):
        return got == value
    try:
        return math.isclose(float(got), float(value), rel_tol=1e-9, abs_tol=1e-12)
    except (TypeError, ValueError):
        return False


def check_model(path: Path, meta: dict, member) -> None:
    """A saved model must be the member its file name says (a renamed or copied file is not): its
    activation, latent, variant, training noise, width, loss and seed, else a BundleError."""
    want = {"activation": member.activation, "latent": member.latent, "variant": member.variant,
            "train_noise": member.train_noise, "width": member.width, "loss": member.loss, "seed": member.seed}  # fmt: skip
    default = {"variant": "plain", "train_noise": 0.0, "width": None, "loss": "mse"}  # models saved before the variants
    for key, value in want.items():
        got = meta.get(key, default.get(key, "missing"))
        if not _same(got, value):
            raise BundleError(f"{path}: holds a model with {key} {got!r}, not the {value!r} of {member.name}")
