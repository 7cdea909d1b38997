"""What the commands share: the consoles (stdout for results, stderr for progress and errors),
one-line errors, options read off the settings dataclasses, the choices and options more than one
command takes, and the progress bars. Only CLI modules print."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from typer.core import TyperCommand

from sigdenoise import device
from sigdenoise.errors import SigdenoiseError, count  # count: the commands' messages use it too

# Click's UsageError, the base of every parsing error (vendored inside typer since 0.29).
UsageError = typer.BadParameter.__bases__[0]
# soft_wrap: a long line stays one line (a path in a log must not break at column 80).
err = Console(stderr=True, soft_wrap=True)
stdout = Console()


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print one error line on stderr and return the Exit to raise: `raise fail("...")`."""
    typer.echo(f"Error: {message}", err=True)
    return typer.Exit(code)


@contextmanager
def one_line_errors(kind: type[SigdenoiseError] = SigdenoiseError, suffix: str = "") -> Iterator[None]:
    """An error raised on purpose (errors.SigdenoiseError) ends the command in one line on stderr,
    exit code 2; anything else is a bug and keeps its traceback."""
    try:
        yield
    except kind as e:
        raise fail(f"{e}{suffix}") from None


class OneLineErrors(TyperCommand):
    """Parsing errors as a single line instead of a usage banner and box."""

    def parse_args(self, ctx, args):
        try:
            return super().parse_args(ctx, args)
        except UsageError as e:
            raise fail(e.format_message()) from None


class Options:
    """Typer options read off a settings dataclass, so that a default and a help text are written
    once, on the field (`field(default=..., metadata={"help": ...})`):

        n_train: Annotated[int, G("n_train")] = G.default("n_train")
    """

    def __init__(self, settings: type, **typer_kw: Any):
        self.fields = {f.name: f for f in dataclasses.fields(settings)}
        self.typer_kw = typer_kw  # for every option, e.g. rich_help_panel

    def __call__(self, name: str, *param_decls: str, **typer_kw: Any) -> Any:
        """typer.Option with the help text of field `name`."""
        return typer.Option(*param_decls, help=self.fields[name].metadata["help"], **{**self.typer_kw, **typer_kw})

    def argument(self, name: str, **typer_kw: Any) -> Any:
        return typer.Argument(help=self.fields[name].metadata["help"], **typer_kw)

    def default(self, name: str) -> Any:
        return self.fields[name].default


def plain(value: Any) -> Any:
    """A parsed option as settings hold it: a choice by its value, a repeated option as a tuple."""
    if isinstance(value, (list, tuple)):
        return tuple(plain(v) for v in value)
    return value.value if isinstance(value, Enum) else value


def as_fields(options: dict[str, Any], renamed: dict[str, str] | None = None, skip: tuple[str, ...] = ()) -> dict:
    """A command's options (its `locals()` on entry) as settings fields, by name or `renamed`: an
    option not given (None, or no value of a repeatable one) leaves the field's default."""
    renamed = renamed or {}
    given = {k: v for k, v in options.items() if k not in skip and v not in (None, [], ())}
    return {renamed.get(k, k): plain(v) for k, v in given.items()}


# Choices and options of more than one command.
class Layout(str, Enum):
    auto = "auto"
    rows = "rows"
    columns = "columns"


Device = Enum("Device", {d: d for d in device.DEVICES}, type=str)
DeviceOpt = Annotated[Device, typer.Option(help=device.HELP)]
LayoutOpt = Annotated[Layout, typer.Option(help="rows: one signal per line; columns: one per column (the study's 100 x N matrix); "
                                                "auto: columns when the header names a time column (time_s,voltage_V), else rows.")]
HeaderOpt = Annotated[Optional[bool], typer.Option("--header/--no-header", help="First line is a header.  \\[default: detected]", show_default=False)]
IdOpt = Annotated[Optional[list[str]], typer.Option("--id-col", help="Column kept untouched: header name or 1-based number (repeatable).", show_default=False)]


Backend = Enum("Backend", {b: b for b in ("local", "ray")}, type=str)
CLUSTER = "Beyond one machine"  # the help panel of the options below
BackendOpt = Annotated[Backend, typer.Option(help="local: this machine; ray: Ray tasks on a cluster (pip install 'sigdenoise\\[ray]').",
                                             rich_help_panel=CLUSTER)]
RayAddressOpt = Annotated[Optional[str], typer.Option(help="The Ray cluster's head (host:port or auto).  \\[default: $RAY_ADDRESS, else a Ray on this machine]",
                                                      show_default=False, rich_help_panel=CLUSTER)]
CpusOpt = Annotated[float, typer.Option(help="CPUs each Ray task declares.", rich_help_panel=CLUSTER)]
GpusOpt = Annotated[float, typer.Option(help="GPUs each Ray task declares (a fraction shares one).", rich_help_panel=CLUSTER)]


def cluster(backend, ray_address: str | None, cpus_per_task: float = 1.0, gpus_per_task: float = 0.0, jobs: int = 1):
    """The backend options as one distribute.Cluster, validated (a SettingsError names the option;
    --backend ray without Ray installed names the extra, before any work)."""
    from sigdenoise.distribute.backend import Cluster, ray_module

    where = Cluster(plain(backend), ray_address, cpus_per_task, gpus_per_task, jobs)
    if where.distributed:
        ray_module()
    return where


LOG_EVERY = 30.0  # seconds between progress lines when stderr is not a terminal (a log)


class LogProgress:
    """Progress for a log (stderr not a terminal, where a bar would print nothing until the end):
    a plain line per task every `every` seconds, and a closing one when it completes (if it ran that
    long), with the count, rate and time left. The subset of rich's Progress the commands use."""

    def __init__(self, unit: str, every: float | None = None, clock=None):
        import time

        self.unit, self.every, self.clock = unit, LOG_EVERY if every is None else every, clock or time.monotonic
        self.tasks: list[dict] = []

    def __enter__(self) -> "LogProgress":
        return self

    def __exit__(self, *exc) -> None:
        pass

    def add_task(self, description: str, total: float | None = None, **fields) -> int:
        now = self.clock()
        self.tasks.append({"description": description, "total": total, "done": 0.0, "start": now, "last": now, **fields})
        return len(self.tasks) - 1

    def update(self, task: int, advance: float = 0, completed: float | None = None, **fields) -> None:
        t = self.tasks[task]
        t.update(fields)
        t["done"] = completed if completed is not None else t["done"] + advance
        now = self.clock()
        finished = t["total"] is not None and t["done"] >= t["total"]
        # The closing line only after periodic ones: a run shorter than `every` prints nothing.
        if (not finished and now - t["last"] >= self.every) or (finished and t.get("said") and not t.get("said_done")):
            t["last"], t["said"], t["said_done"] = now, True, finished
            err.print(self.line(t, now), markup=False, highlight=False)

    def line(self, t: dict, now: float) -> str:
        elapsed = max(now - t["start"], 1e-9)
        rate = t["done"] / elapsed
        if t["total"]:
            done, total = _amount(t["done"], self.unit).split(" ")[0], _amount(t["total"], self.unit)
            parts = [f"{t['description']}: {done} of {total} ({100 * t['done'] / t['total']:.0f} %)"]
        else:
            parts = [f"{t['description']}: {_amount(t['done'], self.unit)}"]
        parts.append(f"{_amount(rate, self.unit)}/s")
        if t["total"] and rate > 0 and t["done"] < t["total"]:
            parts.append(f"{_duration((t['total'] - t['done']) / rate)} left")
        else:
            parts.append(f"{_duration(elapsed)} in all")
        if t.get("info"):
            parts.append(t["info"])
        return "; ".join(parts)


def _amount(x: float, unit: str) -> str:
    if unit == "bytes":
        return f"{x / 2**20:,.1f} MiB"
    return f"{x:,.0f} {unit}" if x >= 10 or x == int(x) else f"{x:.2f} {unit}"


def _duration(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    return f"{m} min {s} s" if m else f"{s} s"


def training_progress():
    """The bar of `grid` and `report`: members trained, epochs done, the spread of their losses;
    in a log, a line every LOG_EVERY seconds instead."""
    if not err.is_terminal:
        return LogProgress("epochs")
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(), TimeRemainingColumn(), console=err, transient=False,
    )  # fmt: skip


def training_events(bar: Progress):
    """An on_event callback drawing training progress on `bar`."""
    task = None

    def on_event(kind, *args, **kw):
        nonlocal task
        if kind == "stage":
            err.print(f"[dim]{args[0]}[/dim]")
        elif kind == "train_start":
            task = bar.add_task(f"training {count(kw['members'], 'autoencoder')}", total=kw["epochs"], info="")
        elif kind == "epoch":
            losses = kw["losses"]
            bar.update(task, advance=1, info=f"loss {losses.min():.4f}..{losses.max():.4f}")

    return on_event


def reading_progress(total: int):
    """The bar of `denoise`: bytes of the input read, on a terminal (then cleared); in a log, a
    line every LOG_EVERY seconds of a long run."""
    if not err.is_terminal:
        bar = LogProgress("bytes")
        bar.add_task("reading", total=total)
        return bar
    bar = Progress(BarColumn(), DownloadColumn(), TimeRemainingColumn(), console=err, transient=True, disable=not err.is_terminal)
    bar.add_task("reading", total=total)
    return bar


INTERRUPTED = 130  # 128 + SIGINT, as a shell reports it


@contextmanager
def interrupted(what: str = "rerun the same command to resume") -> Iterator[None]:
    """Ctrl-C ends a command in one line, exit 130. Every file is written atomically (its temporary
    removed on the way out): no partial output, and a run folder stays valid and resumable."""
    try:
        yield
    except KeyboardInterrupt:
        raise fail(f"interrupted; {what}", INTERRUPTED) from None


def __getattr__(name: str):
    """NoiseKind, made on first use (PEP 562): its names live in train/objectives.py, which
    imports torch, and `denoise` starts without torch."""
    if name == "NoiseKind":
        from sigdenoise.train.objectives import NOISE_KINDS

        kind = globals()[name] = Enum("NoiseKind", {k.replace("-", "_"): k for k in NOISE_KINDS}, type=str)
        return kind
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
