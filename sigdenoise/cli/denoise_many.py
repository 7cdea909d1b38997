"""`sigdenoise denoise FILES... -O DIR`: many inputs, each its own run (written atomically, with its
report), one after another or in parallel (--jobs N here, or Ray tasks with --backend ray). A
file that fails is named and the others go on; a rerun skips each output whose report says it
was made from the same input (path, size and modification time) with the same settings."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import typer

from sigdenoise.cli.common import INTERRUPTED, err
from sigdenoise.distribute.backend import Cluster, run_all

# Options that say where the work runs, not what it computes: not in a run's report.
WHERE = ("out_dir", "backend", "ray_address", "cpus_per_task", "gpus_per_task", "jobs")


def finished(inp: Path, out: Path, options: dict) -> bool:
    """Whether out's report says it was made from inp as it is now, with these settings."""
    from sigdenoise.recordings.report import input_stamp, is_report, report_path, settings_doc

    report = report_path(out)
    if not (out.is_file() and is_report(report)):
        return False
    try:
        doc = json.loads(report.read_text(encoding="utf-8"))
        return (doc.get("input") == str(inp) and doc.get("input_stamp") == input_stamp(inp)
                and doc.get("settings") == settings_doc({**options, "input": inp, "out": out}))  # fmt: skip
    except (OSError, ValueError):
        return False


def denoise_file(inp: Path, out: Path, options: dict) -> tuple[int, str]:
    """One input, where it runs (a process of the pool, a Ray task): its exit code and what it
    printed on stderr, for the driver to print."""
    from sigdenoise.cli.denoise import _one

    text = io.StringIO()
    code = 0
    with contextlib.redirect_stderr(text):
        try:
            _one(inp, out, options)
        except typer.Exit as e:
            code = e.exit_code
    return code, text.getvalue()


def denoise_many(pairs: list[tuple[Path, Path]], options: dict, where: Cluster) -> list[str]:
    """Each (input, output) pair that is not finished already; returns the inputs that failed."""
    from sigdenoise.cli.denoise import _one

    todo = [(i, o) for i, o in pairs if not finished(i, o, options)]
    if len(todo) < len(pairs):
        err.print(f"{len(pairs) - len(todo)} of {len(pairs)} outputs already made from the same inputs and settings: "
                  "skipped", markup=False)  # fmt: skip
    failed = []
    if not where.distributed and where.jobs == 1:  # here, printing as it goes
        for inp, o in todo:
            try:
                _one(inp, o, options)
            except typer.Exit as e:
                if e.exit_code == INTERRUPTED:
                    raise
                failed.append(str(inp))
        return failed
    calls = [(inp, o, options) for inp, o in todo]
    for k, result in run_all(denoise_file, calls, where):
        if isinstance(result, BaseException):
            err.print(f"Error: {todo[k][0]}: {result}", markup=False)
            failed.append(str(todo[k][0]))
            continue
        code, text = result
        err.print(text.rstrip("\n"), markup=False, highlight=False)
        if code != 0:
            failed.append(str(todo[k][0]))
    return failed
