"""The run folder: every file a grid run writes, written atomically so a killed run leaves
valid files. Layout: config.json, results.csv, probe.csv, summary.md, figures/, models/, and
.lock while a run holds the folder (`locked`)."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pandas as pd
from packaging.version import Version

import sigdenoise
from sigdenoise.atomic import write_text
from sigdenoise.errors import OutputError, SettingsError

LOCK = ".lock"
TASKS = "tasks"  # a run made of tasks (distribute/grids.py): each one's run folder, tasks/seed-<s>/
DONE = "done.json"  # in a task's folder once the task has finished

TEXT_COLUMNS = ("model", "variant", "activation", "eval")
# A resumed run rewrites the rows it read, so a row must come back exactly as it was written.
# Before pandas 3.1 the default C parser can miss a float's last bit (71,906 of 200,000 random
# doubles on 3.0.6) and float_precision="round_trip" is needed; 3.1 parses every float exactly
# and deprecates the argument (Pandas4Warning), so it is passed only where it is needed.
# (packaging comes with matplotlib; a 3.1 pre-release counts as before 3.1, as nightlies may be.)
EXACT_FLOATS = {} if Version(pd.__version__) >= Version("3.1.0") else {"float_precision": "round_trip"}


def parse_results(source) -> pd.DataFrame:
    """results.csv rows from a path or a text buffer, each float as written: empty cells are NaN
    in the numeric columns and stay "" in the text ones (the noisy and svd rows' activation)."""
    na = {c: [""] for c in RESULT_COLUMNS if c not in TEXT_COLUMNS}
    return pd.read_csv(source, keep_default_na=False, na_values=na, dtype={c: str for c in TEXT_COLUMNS}, **EXACT_FLOATS)


RESULT_COLUMNS = [
    "model", "variant", "activation", "latent", "train_noise", "noise", "seed", "eval",
    "mse", "mean_mse", "snr_in_db", "snr_out_db", "snr_gain_db",
    "epochs", "n_train", "final_train_loss", "train_seconds", "ensemble_size",
]  # fmt: skip
# The metrics every row holds as finite numbers; mean_mse too on the probe's rows.
METRICS = ("mse", "snr_in_db", "snr_out_db", "snr_gain_db")


def default_out() -> Path:
    return Path("runs") / datetime.now().strftime("%Y%m%d-%H%M%S")


def git_commit() -> str | None:
    """The commit of the source tree sigdenoise runs from, if it is a git checkout."""
    here = Path(sigdenoise.__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here, capture_output=True, text=True)
    return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def provenance() -> dict:
    return {
        "command": " ".join(["sigdenoise"] + sys.argv[1:]) if sys.argv else None,
        "argv": sys.argv,
        "version": sigdenoise.__version__,
        "git_commit": git_commit(),
        "created": datetime.now().isoformat(timespec="seconds"),
    }


INTEGER_COLUMNS = ("latent", "seed", "epochs", "n_train", "ensemble_size")


def with_integers(df: pd.DataFrame) -> pd.DataFrame:
    """df with its count columns as integers (nullable: a baseline has no epochs), so that a CSV
    says latent 5 and epochs 300, not 5.0 and 300.0."""
    return df.astype({c: "Int64" for c in INTEGER_COLUMNS if c in df})


class RunFolder:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.results_path = self.root / "results.csv"
        self.probe_path = self.root / "probe.csv"
        self.models = self.root / "models"
        self.figures = self.root / "figures"

    def write_config(self, settings: dict, device: str) -> None:
        config = {"settings": settings, "device": device, **provenance()}
        write_text(self.root / "config.json", json.dumps(config, indent=2, default=str) + "\n")

    def read_results(self) -> pd.DataFrame:
        if not self.results_path.is_file() or self.results_path.stat().st_size == 0:
            return pd.DataFrame(columns=RESULT_COLUMNS)
        return parse_results(self.results_path)

    def write_results(self, df: pd.DataFrame) -> None:
        write_text(self.results_path, with_integers(df[RESULT_COLUMNS]).to_csv(index=False))

    def write_probe(self, df: pd.DataFrame) -> None:
        write_text(self.probe_path, df.to_csv(index=False))

    def write_text_table(self, name: str, df: pd.DataFrame) -> None:
        write_text(self.root / name, df.to_csv(index_label="epoch"))

    def merge_loss_table(self, df: pd.DataFrame) -> None:
        """training_loss.csv (epochs, members): these members' curves replace or join the ones
        already there, so a resumed run keeps the curves of the members it did not train."""
        path = self.root / "training_loss.csv"
        if path.is_file():
            old = pd.read_csv(path, index_col="epoch")
            if len(old) == len(df):  # same epochs (a fixed setting); otherwise the old ones are stale
                df = pd.concat([old.drop(columns=[c for c in df.columns if c in old.columns]), df.set_axis(old.index)], axis=1)
        self.write_text_table("training_loss.csv", df)

    def model_path(self, name: str) -> Path:
        return self.models / f"{name}.safetensors"


@contextmanager
def locked(root: Path, option: str = "--out") -> Iterator[None]:
    """Hold an exclusive lock on run folder `root` (made if missing) for the block: a second run
    into it is refused at once, naming the pid that holds it. The lock file holds that pid and is
    removed on the way out, as is the folder if this run made it and left it empty."""
    root = Path(root)
    made = not root.exists()
    path = root / LOCK
    try:
        root.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as e:
                os.close(fd)
                if e.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                try:
                    pid = path.read_text().strip() or "unknown"
                except OSError:
                    pid = "unknown"
                raise SettingsError(option, f"{root} is in use by another sigdenoise run (pid {pid}); wait for it "
                                            f"to finish or choose another {option}") from None  # fmt: skip
            # The holder before us may have removed the file after we opened it: lock the one there now.
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(path))
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
    except OSError as e:
        raise OutputError(path, f"cannot lock the run folder ({e.strerror or e})", e.strerror) from None
    try:
        yield
    finally:
        try:
            path.unlink()
        except OSError:
            pass
        os.close(fd)
        if made:
            try:
                root.rmdir()  # only if empty: a run that wrote nothing leaves nothing
            except OSError:
                pass
