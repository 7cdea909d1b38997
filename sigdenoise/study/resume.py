"""Whether a run may be written into a folder: one that can be made, that holds a run (or nothing),
whose earlier rows were made with the same training settings, and whose axes the new run keeps.

Every check raises SettingsError naming the option at fault, before any training.
"""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

from sigdenoise.atomic import unwritable_reason
from sigdenoise.errors import SettingsError
from sigdenoise.study.runfolder import RunFolder
from sigdenoise.study.settings import GridSettings

AXES = ("activations", "latents", "noises", "seeds", "variants")
# Settings that must match for a folder's earlier rows to be reused: every field but the grid's axes
# (which may grow) and the device (the same seeds give the same numbers on any).
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
    if root.is_dir() and not (root / "config.json").is_file() and any(root.iterdir()):
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
    for name, settings in grids.items():
        check_resumable(RunFolder(cache / name), settings, "--cache")
