"""The report of a `denoise` run, written beside its output: what auto/summary.py sums up of the
run's verdicts, with the settings and the package's version (JSON)."""

from __future__ import annotations

import json
from pathlib import Path

from sigdenoise import atomic
from sigdenoise.auto.summary import summarize


def report_path(out: Path) -> Path:
    """Where a run's report goes: beside the output, its name + .json (clean.csv -> clean.csv.json)."""
    return out.with_name(out.name + ".json")


def input_stamp(path: Path) -> dict | None:
    """What identifies an input's contents cheaply, for a rerun to skip it: its size and
    modification time (None where it is not a file)."""
    try:
        st = Path(path).stat()
    except OSError:
        return None
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def settings_doc(options: dict) -> dict:
    """A run's options as its report holds them: JSON's types (a path or a choice as its text)."""
    return json.loads(json.dumps({k: (str(v) if isinstance(v, Path) else v) for k, v in options.items()}, default=str))


def is_report(path: Path) -> bool:
    """Whether path is a regular file holding an earlier run's report (a JSON object naming the
    sigdenoise version): the only file `denoise` replaces beside its output unasked."""
    try:
        if not path.is_file() or path.stat().st_size > 1 << 30:
            return False
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and "sigdenoise" in doc and "denoiser" in doc


def write_report(s, plan, lengths: list[int], options: dict) -> dict:  # s: DenoiseSettings, plan: pipeline.Plan
    """The run's summary (auto/summary.py) with its settings and the package's version, written
    atomically to report_path(s.out); returns the summary."""
    from sigdenoise import __version__

    summary = summarize(plan.fold(), lengths)
    doc = {"sigdenoise": __version__, "input": str(s.input), "input_stamp": input_stamp(s.input), "output": str(s.out),
           "denoiser": plan.label, "settings": settings_doc(options), **summary}  # fmt: skip
    atomic.write_text(report_path(s.out), json.dumps(doc, indent=1, default=str) + "\n")
    return summary
